## test/faults: included from Makefile.am
