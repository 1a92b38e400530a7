svrelayconfdir = $(sysconfdir)/svrelay
dist_svrelayconf_DATA = etc/svrelay.conf.sample
svrelaydocdir = $(docdir)
svrelaydoc_DATA = etc/supervisord-svrelay.conf
dist_svrelaydoc_DATA = etc/alertmanager-svrelay.yml
dist_man_MANS += man/svrelay-listener.1 man/svrelay.conf.5 man/svrelayd.8 man/svrelayctl.8

# systemd: the unit, a sysusers.d and a tmpfiles.d snippet.  The unit dir
# follows the prefix so that make distcheck and scratch installs work;
# packagers pass systemdunitdir=/lib/systemd/system.
systemdunitdir = $(prefix)/lib/systemd/system
systemdunit_DATA = etc/svrelayd.service
sysusersdir = $(prefix)/lib/sysusers.d
sysusers_DATA = etc/svrelay.sysusers
tmpfilesdir = $(prefix)/lib/tmpfiles.d
tmpfiles_DATA = etc/svrelay.tmpfiles
EXTRA_DIST += etc/svrelayd.service.in etc/supervisord-svrelay.conf.in \
	etc/svrelay.sysusers etc/svrelay.tmpfiles
CLEANFILES += etc/svrelayd.service etc/supervisord-svrelay.conf

# Installed paths in the unit and the supervisord snippet.
etc_edit = sed -e 's|@sbindir[@]|$(sbindir)|g' -e 's|@bindir[@]|$(bindir)|g' \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g' -e 's|@localstatedir[@]|$(localstatedir)|g'
etc/svrelayd.service: $(top_srcdir)/etc/svrelayd.service.in Makefile
	$(AM_V_GEN)mkdir -p etc && $(etc_edit) $(top_srcdir)/etc/svrelayd.service.in > $@
etc/supervisord-svrelay.conf: $(top_srcdir)/etc/supervisord-svrelay.conf.in Makefile
	$(AM_V_GEN)mkdir -p etc && $(etc_edit) $(top_srcdir)/etc/supervisord-svrelay.conf.in > $@

# The sysusers and tmpfiles snippets are installed under their d/ names.
install-data-hook:
	cd $(DESTDIR)$(sysusersdir) && mv -f svrelay.sysusers svrelay.conf
	cd $(DESTDIR)$(tmpfilesdir) && mv -f svrelay.tmpfiles svrelay.conf
uninstall-hook:
	rm -f $(DESTDIR)$(sysusersdir)/svrelay.conf $(DESTDIR)$(tmpfilesdir)/svrelay.conf
