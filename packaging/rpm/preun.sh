# gmsa-keytab %preun. $1: 0 on erase, 1 or more on upgrade (then nothing to do).
if [ "$1" -eq 0 ]; then
    systemctl --no-reload disable --now gmsa-keytab.timer >/dev/null 2>&1 || :
    systemctl stop gmsa-keytab.service >/dev/null 2>&1 || :
fi
