## test/bench: included from Makefile.am
