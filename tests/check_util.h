/*
 * Shared by the Check suites: each tests/check_<module>.c defines
 * Suite *<module>_suite(void) and ends with CHECK_MAIN(<module>_suite).
 * Output is TAP on stdout, read by automake's tap-driver.
 */
#ifndef SVRELAY_CHECK_UTIL_H
#define SVRELAY_CHECK_UTIL_H

#include <check.h>
#include <stdlib.h>

#define CHECK_MAIN(suitefn)						\
int									\
main(void)								\
{									\
	SRunner	*sr;							\
	int	 failed;						\
									\
	sr = srunner_create(suitefn());					\
	srunner_set_tap(sr, "-");					\
	srunner_run_all(sr, CK_SILENT);					\
	failed = srunner_ntests_failed(sr);				\
	srunner_free(sr);						\
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);		\
}

#endif
