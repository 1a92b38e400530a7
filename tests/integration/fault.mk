# Fault-injection, load and valgrind tests (issue: prove it).
INTEGRATION_TESTS += tests/integration/fault_load.sh
INTEGRATION_TESTS += tests/integration/fault_enospc.sh
INTEGRATION_TESTS += tests/integration/fault_listener_kill.sh
INTEGRATION_TESTS += tests/integration/fault_relayd_kill.sh
INTEGRATION_TESTS += tests/integration/fault_slack.sh
INTEGRATION_TESTS += tests/integration/fault_sv_restart.sh
if !SANITIZERS
# valgrind cannot run an ASan build; the sanitizer build has ASan instead.
INTEGRATION_TESTS += tests/integration/fault_valgrind.sh
endif
EXTRA_DIST += tests/integration/fault_valgrind.sh
dist_check_DATA += tests/integration/fault_lib.sh tests/integration/fault_check.py
