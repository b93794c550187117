# gmsa-keytab %post. $1: 1 on first install, 2 or more on upgrade.
# cargo-generate-rpm has no %systemd_post macro; this does what it does, plus enabling the
# timer on first install (the package's point is that the timer runs).
# The state directory: private, root only (the package cannot own an empty directory).
if [ ! -d /var/lib/gmsa-keytab ]; then
    install -d -m 0700 -o root -g root /var/lib/gmsa-keytab
fi
if [ "$1" -eq 1 ]; then
    systemctl --no-reload enable gmsa-keytab.timer >/dev/null 2>&1 || :
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    # Start the timer, never the service: a sync now would use the unedited example config.
    if systemctl --quiet is-enabled gmsa-keytab.timer 2>/dev/null; then
        systemctl start gmsa-keytab.timer >/dev/null 2>&1 || :
    fi
fi
