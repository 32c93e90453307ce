## test/hostile: included from Makefile.am
