## test/fuzz: included from Makefile.am
