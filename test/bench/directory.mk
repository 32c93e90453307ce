## test/bench/directory.mk: included from Makefile.am
