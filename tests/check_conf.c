#include "config.h"
#include "check_util.h"
START_TEST(test_conf_placeholder) { ck_assert_int_eq(1, 1); }
END_TEST
static Suite *conf_suite(void) { Suite *s = suite_create("conf"); TCase *tc = tcase_create("x"); tcase_add_test(tc, test_conf_placeholder); suite_add_tcase(s, tc); return s; }
CHECK_MAIN(conf_suite)
