## test/bench/directory.mk: included from Makefile.am (after bench.mk)
## The directory benchmarks, each a table of the figure against its
## baseline measured in the same run:
##   make bench-dir     cold lookups/s of dir_lookup against a raw libldap
##                      loop, at 1, 8 and 32 threads; then the daemon's
##                      decisions/s with the directory down against its
##                      warm rate, and the time from slapd's return to the
##                      first accepted owned message (test/bench/dir.sh)
##   make bench-cpu     callgrind instructions per warm decision, cache +
##                      policy against the policy alone; then per message
##                      of the daemon at log_level info against the null
##                      milter, at decide_at "mail" and "end-of-data"
##                      (test/bench/cpu.sh)
##   make bench-scale   directories of 1 000, 100 000 and 1 000 000 entries:
##                      slapadd time, lookup cost per size, and the daemon's
##                      RSS with 100 000 cached logins (test/bench/scale.sh).
##                      Part of `make bench`: 2 to 4 minutes on 2 CPUs (the
##                      1 000 000 entries: 30 to 50 s of slapadd, 1 GB of
##                      disk under $TMPDIR while it runs).
EXTRA_PROGRAMS += test/bench/dirbench test/bench/cpubench
test_bench_dirbench_SOURCES = test/bench/dirbench.c test/tools/tool.h
test_bench_dirbench_CFLAGS = $(AM_CFLAGS) $(LDAP_CFLAGS)
test_bench_dirbench_LDADD = $(CORE_LIBS)
test_bench_cpubench_SOURCES = test/bench/cpubench.c test/tools/tool.h
test_bench_cpubench_LDADD = $(CORE_LIBS)

EXTRA_DIST += \
	test/bench/cpu.sh \
	test/bench/dir.sh \
	test/bench/scale.sh

BENCH_TARGETS += bench-dir bench-cpu bench-scale
BENCH_ENVIRONMENT += \
	HM_DIRBENCH='$(abs_top_builddir)/test/bench/dirbench'; export HM_DIRBENCH; \
	HM_CPUBENCH='$(abs_top_builddir)/test/bench/cpubench'; export HM_CPUBENCH;

bench-dir: test/bench/dirbench$(EXEEXT) homed-milter$(EXEEXT) test/tools/mltload$(EXEEXT)
	$(BENCH_ENVIRONMENT) $(SHELL) $(srcdir)/test/bench/dir.sh

bench-cpu: test/bench/cpubench$(EXEEXT) homed-milter$(EXEEXT) test/tools/mltload$(EXEEXT) \
		test/bench/nullmilter$(EXEEXT)
	$(BENCH_ENVIRONMENT) $(SHELL) $(srcdir)/test/bench/cpu.sh

bench-scale: homed-milter$(EXEEXT) test/bench/dirbench$(EXEEXT) test/tools/mltload$(EXEEXT)
	$(BENCH_ENVIRONMENT) $(SHELL) $(srcdir)/test/bench/scale.sh

.PHONY: bench-dir bench-cpu bench-scale
