#include "config.h"
#include "check_util.h"
START_TEST(test_svevent_placeholder) { ck_assert_int_eq(1, 1); }
END_TEST
static Suite *svevent_suite(void) { Suite *s = suite_create("svevent"); TCase *tc = tcase_create("x"); tcase_add_test(tc, test_svevent_placeholder); suite_add_tcase(s, tc); return s; }
CHECK_MAIN(svevent_suite)
