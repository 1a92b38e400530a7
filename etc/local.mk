EXTRA_DIST += etc/svrelay.conf.sample
