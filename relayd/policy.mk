# The notification policy (relayd/policy.c) and its unit tests.
