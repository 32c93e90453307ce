## test/faults: included from Makefile.am
## The fault matrix: the real daemon against a private slapd while slapd
## is stopped (its connection attempts counted), hung, slow, restarted,
## behind a dead first URI, with a
## wrong bind password, under reloads, and killed with SIGKILL behind a
## private Postfix. run.sh is distributed through SCRIPT_TESTS.
## mltload (test/tools/mltload.c) drives it, so make check builds it: it is
## also in tools.mk's EXTRA_PROGRAMS, which automake accepts (one set of
## rules; make clean and make distcheck are fine with both).
## postfix-soak.sh: a timed stream through a private chrooted Postfix while
## slapd restarts every 30 s and the daemon reloads every 10 s; make
## soak-postfix runs it for HM_SOAK_SECONDS (default 300), check-all.sh
## for 75 s (not in make check, which distcheck would run a second time).
## It needs root (Postfix); without it the test skips.
SCRIPT_TESTS += test/faults/run.sh
check_PROGRAMS += test/tools/mltload
EXTRA_DIST += \
	test/faults/countlisten.pl \
	test/faults/postfix-soak.sh \
	test/faults/gen-workload.sh \
	test/faults/slowproxy.pl \
	test/faults/smtpfeed.pl \
	test/faults/soakfeed.pl

soak-postfix: homed-milter$(EXEEXT)
	$(AM_TESTS_ENVIRONMENT) \
	HM_SOAK_SECONDS=$${HM_SOAK_SECONDS:-300}; export HM_SOAK_SECONDS; \
	$(SHELL) $(srcdir)/test/faults/postfix-soak.sh

.PHONY: soak-postfix
