## test/differential: included from Makefile.am
## homed-milter's reading of From: values against two mail clients'
## parsers (Thunderbird's, from npm, and Python's email package); see
## test/differential/run.sh. The Thunderbird parser comes from
## test/differential/package-lock.json: `npm ci` there, or HM_NODE_MODULES.
##   make check TESTS=test/differential/run.sh    100 000 generated values
##   make differential-long                       10 000 000 of them
## HM_DIFF_COUNT, HM_DIFF_SEED, HM_DIFF_CHUNK and HM_DIFF_KEEP are read
## from the environment.
SCRIPT_TESTS += test/differential/run.sh
check_PROGRAMS += test/differential/checked
test_differential_checked_SOURCES = test/differential/checked.c
test_differential_checked_LDADD = $(CORE_LIBS)
## The generator and the judge; Python's oracle; Thunderbird's oracle with
## the loader hooks it runs under; the npm package list and its lock.
EXTRA_DIST += test/differential/gen.py test/differential/compare.py \
	test/differential/oracle_py.py \
	test/differential/oracle_tb.mjs test/differential/register.mjs test/differential/hooks.mjs \
	test/differential/package.json test/differential/package-lock.json

differential-long: test/differential/checked
	@$(AM_TESTS_ENVIRONMENT) \
	HM_DIFF_COUNT=$${HM_DIFF_COUNT:-10000000}; export HM_DIFF_COUNT; \
	$(SHELL) $(top_srcdir)/test/differential/run.sh

.PHONY: differential-long
