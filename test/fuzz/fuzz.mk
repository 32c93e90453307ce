## test/fuzz: included from Makefile.am
##
## libFuzzer harnesses (clang, ASan+UBSan) for the address parsers, the
## xtext decoder and the configuration loader. Not part of `make check`:
##   make fuzz                          each harness for 60 s (TAP output)
##   make fuzz HM_FUZZ_SECONDS=600      longer
##   make fuzz HM_FUZZ_RUNS=10000000    a number of inputs instead
## HM_FUZZ_ONLY, HM_FUZZ_MAX_LEN, HM_FUZZ_CC and HM_FUZZ_ARTIFACTS are read
## from the environment or the command line; see test/fuzz/run.sh.
## Crashing inputs are kept in fuzz-artifacts/ here.

fuzz:
	@$(AM_TESTS_ENVIRONMENT) \
	HM_FUZZ_SECONDS='$(HM_FUZZ_SECONDS)'; export HM_FUZZ_SECONDS; \
	HM_FUZZ_RUNS='$(HM_FUZZ_RUNS)'; export HM_FUZZ_RUNS; \
	HM_LIBCONFIG_CFLAGS='$(LIBCONFIG_CFLAGS)'; export HM_LIBCONFIG_CFLAGS; \
	HM_LIBCONFIG_LIBS='$(LIBCONFIG_LIBS)'; export HM_LIBCONFIG_LIBS; \
	$(SHELL) $(top_srcdir)/test/fuzz/run.sh

## The runner; the three harnesses and their header; the model of
## Thunderbird's reading that fuzz_address.c compares with; a dictionary
## and a seed corpus per harness (the corpora are directories: automake
## copies them whole); the leak suppressions.
EXTRA_DIST += test/fuzz/run.sh \
	test/fuzz/fuzz_address.c test/fuzz/fuzz_config.c test/fuzz/fuzz_xtext.c test/fuzz/fuzz.h \
	test/fuzz/tbmodel.c test/fuzz/tbmodel.h \
	test/fuzz/address.dict test/fuzz/config.dict test/fuzz/xtext.dict \
	test/fuzz/corpus/address test/fuzz/corpus/config test/fuzz/corpus/xtext \
	test/fuzz/lsan.supp

.PHONY: fuzz
