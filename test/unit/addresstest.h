/*
 * addresstest.h - what the two files of the test_address program share
 * (test_address.c, with main, and test_address_more.c); included after
 * <cmocka.h>
 */
#ifndef HM_ADDRESSTEST_H
#define HM_ADDRESSTEST_H

/* show - S, or "(null)" for a null pointer: for the failure messages. */
const char *show(const char *s);

/* The tests of test_address_more.c. */
void test_envelope(void **state);
void test_xtext(void **state);
void test_base_length(void **state);
void test_same_text(void **state);
void test_rollback(void **state);
void test_free_null_safe(void **state);
void test_append_grow(void **state);
void test_big_padding(void **state);
void test_big_local(void **state);
void test_deep_comments(void **state);
void test_list_limit(void **state);
void test_input_limit(void **state);

#endif
