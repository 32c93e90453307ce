## test/faults: included from Makefile.am
## The fault matrix: the real daemon against a private slapd while slapd
## is stopped (its connection attempts counted), hung, slow, restarted,
## behind a dead first URI, with a
## wrong bind password, under reloads, and killed with SIGKILL behind a
## private Postfix. run.sh is distributed through SCRIPT_TESTS.
## mltload (test/tools/mltload.c) drives it, so make check builds it: it is
## also in tools.mk's EXTRA_PROGRAMS, which automake accepts (one set of
## rules; make clean and make distcheck are fine with both).
SCRIPT_TESTS += test/faults/run.sh
check_PROGRAMS += test/tools/mltload
EXTRA_DIST += \
	test/faults/countlisten.pl \
	test/faults/gen-workload.sh \
	test/faults/slowproxy.pl \
	test/faults/smtpfeed.pl
