svrelayconfdir = $(sysconfdir)/svrelay
dist_svrelayconf_DATA = etc/svrelay.conf.sample
svrelaydocdir = $(docdir)
dist_svrelaydoc_DATA = etc/supervisord-svrelay.conf
dist_man_MANS += man/svrelay-listener.1 man/svrelay.conf.5 man/svrelayd.8 man/svrelayctl.8
