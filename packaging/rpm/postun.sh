# gmsa-keytab %postun. $1: 0 on erase, 1 or more on upgrade.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
