## test/bench: included from Makefile.am
## The milter benchmark and the soak test, on demand only (not in make
## check, not in the default build):
##   make bench          every benchmark (others append to BENCH_TARGETS)
##   make bench-milter   homed-milter against a null milter, mltload driving
##   make soak           1 000 000 messages, RSS and fds watched
## Their tools are EXTRA_PROGRAMS: built by these targets, distributed,
## cleaned by make clean; the load generators are in test/tools/tools.mk.
EXTRA_PROGRAMS = test/bench/nullmilter
test_bench_nullmilter_SOURCES = test/bench/nullmilter.c
test_bench_nullmilter_CFLAGS = $(AM_CFLAGS) $(MILTER_CFLAGS)
test_bench_nullmilter_LDADD = $(MILTER_LIBS) $(PTHREAD_LIBS)
CLEANFILES = $(EXTRA_PROGRAMS)

EXTRA_DIST += \
	test/bench/gen-ldif.sh \
	test/lib/bench.sh \
	test/lib/stats.awk \
	test/bench/milter.sh \
	test/bench/soak.sh

BENCH_TARGETS = bench-milter
BENCH_ENVIRONMENT = $(AM_TESTS_ENVIRONMENT) \
	HM_MLTLOAD='$(abs_top_builddir)/test/tools/mltload'; export HM_MLTLOAD; \
	HM_NULLMILTER='$(abs_top_builddir)/test/bench/nullmilter'; export HM_NULLMILTER;

bench: $(BENCH_TARGETS)

bench-milter: homed-milter$(EXEEXT) test/tools/mltload$(EXEEXT) test/bench/nullmilter$(EXEEXT)
	$(BENCH_ENVIRONMENT) $(SHELL) $(srcdir)/test/bench/milter.sh

soak: homed-milter$(EXEEXT) test/tools/mltload$(EXEEXT)
	$(BENCH_ENVIRONMENT) $(SHELL) $(srcdir)/test/bench/soak.sh

.PHONY: bench bench-milter soak
