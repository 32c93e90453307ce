## test/bench/postfix.mk: included from Makefile.am (after bench.mk)
## The Postfix end-to-end benchmark: messages/s through a private Postfix
## with SMTP AUTH, (a) alone, (b) with reject_sender_login_mismatch over
## proxy:ldap:, (c) with the null milter, (d) with homed-milter, (e) and
## (f) the same two at policy.decide_at = "end-of-data".
##   make bench-postfix       (as root; HM_BENCH_* in test/bench/postfix.sh)
BENCH_TARGETS += bench-postfix
EXTRA_DIST += test/bench/postfix.sh

bench-postfix: homed-milter$(EXEEXT) test/tools/smtpload$(EXEEXT) test/bench/nullmilter$(EXEEXT)
	$(AM_TESTS_ENVIRONMENT) $(SHELL) $(srcdir)/test/bench/postfix.sh

.PHONY: bench-postfix
