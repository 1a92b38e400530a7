# Each integration script is one behaviour; listener/ and relayd/ add theirs.
# The service_* scripts: running svrelayd as a service (issue: systemd,
# reload, privileges).
INTEGRATION_TESTS += \
	tests/integration/service_privdrop.sh \
	tests/integration/service_reload.sh \
	tests/integration/service_sdnotify.sh \
	tests/integration/service_unit.sh \
	tests/integration/docs_keys.sh \
	tests/integration/build_configure.sh
