## test/tools: included from Makefile.am (after test/bench/bench.mk)
## The load generators that drive the real daemon and Postfix:
##   mltload    the MTA side of the milter protocol (mltload.c: options,
##              workload, threads, report; mltload_proto.c: the protocol
##              engine): the fault matrix
##              (test/faults, so make check builds it), bench-milter,
##              bench-scale and the soak test
##   smtpload   an SMTP AUTH client: bench-postfix
## EXTRA_PROGRAMS: built by the targets that need them, distributed,
## cleaned by make clean.
EXTRA_PROGRAMS += test/tools/mltload test/tools/smtpload
test_tools_mltload_SOURCES = test/tools/mltload.c test/tools/mltload_proto.c \
	test/tools/mltload_proto.h test/tools/tool.h
test_tools_mltload_CFLAGS = $(AM_CFLAGS) $(MILTER_CFLAGS)
test_tools_mltload_LDADD = $(PTHREAD_LIBS)
test_tools_smtpload_SOURCES = test/tools/smtpload.c test/tools/smtpload_proto.c \
	test/tools/smtpload_proto.h
test_tools_smtpload_LDADD = $(PTHREAD_LIBS)
