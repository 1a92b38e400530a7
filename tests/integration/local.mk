# Each integration script is one behaviour; listener/ and relayd/ add theirs.
INTEGRATION_TESTS +=
