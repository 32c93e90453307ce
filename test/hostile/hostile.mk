## test/hostile: included from Makefile.am
## Hostile logins, addresses (also in delegation filters) and header
## fields against -q and the real daemon; the bind password in no log
## line at any log_level.
## run.sh itself is distributed with SCRIPT_TESTS (EXTRA_DIST lists them).
SCRIPT_TESTS += test/hostile/run.sh
EXTRA_DIST += \
	test/hostile/addresses \
	test/hostile/grants \
	test/hostile/hostile.ldif \
	test/hostile/hostile.pl \
	test/hostile/logins
