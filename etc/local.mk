svrelayconfdir = $(sysconfdir)/svrelay
dist_svrelayconf_DATA = etc/svrelay.conf.sample
svrelaydocdir = $(docdir)
dist_svrelaydoc_DATA = etc/supervisord-svrelay.conf
