## test/bench/postfix.mk: included from Makefile.am
