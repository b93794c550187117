#!/usr/bin/env bash
# Runs systemd/gmsa-keytab.service under a real systemd against the test lab's DC, to check
# that the hardening allows what a sync needs and no more. Works where systemd is not PID 1
# (containers, CI): a private systemd runs as PID 1 of new pid, mount and cgroup namespaces
# inside the lab's network namespace, with private /run, /etc/systemd, /etc/gmsa-keytab,
# /var/lib/gmsa-keytab and /var/log/journal. Every unit of the host is hidden from it (only
# basic.target and journald start), so nothing of this machine is changed.
#
# Needs: root; the installed package (/usr/bin/gmsa-keytab, e.g. from packaging/ci.sh); the
# lab's packages (tests/lab/install-deps.sh); a cgroup2 mount. Brings the lab up if needed.
# Checks:
# - the unit's exposure (systemd-analyze security, online) is at most MAX_EXPOSURE;
# - a sync writes an owner nobody:nogroup 0400 keytab and runs its on-change hook
#   `systemctl reload` (exit 0), with CapEff = CAP_CHOWN CAP_DAC_READ_SEARCH CAP_FOWNER;
# - /usr and /etc are read-only; a keytab outside ReadWritePaths fails (exit 73) until a
#   drop-in adds its directory;
# - without any one of the three capabilities the sync fails (exit 77);
# - the timer schedules the service;
# - the Ansible role, run inside, enables and starts the timer, and its handlers reload systemd
#   and run a sync that writes where the role's drop-in allows; a second run changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
MAX_EXPOSURE=2.1

[ "$(id -u)" = 0 ] || { echo "sandbox-test: run as root" >&2; exit 1; }
[ -x /usr/bin/gmsa-keytab ] || { echo "sandbox-test: install the package first" >&2; exit 1; }
cg=$(findmnt -n -t cgroup2 -o TARGET | head -n1)
[ -n "$cg" ] || { echo "sandbox-test: no cgroup2 mount" >&2; exit 1; }

bash tests/lab/lab.sh up >/dev/null
eval "$(bash tests/lab/lab.sh env)"
if [ -n "${FAKETIME:-}" ]; then
  echo "sandbox-test: the lab runs under faketime; restart it on the real clock" >&2
  exit 1
fi

passed=0
check() { passed=$((passed + 1)); echo "ok: $*"; }
fail() { echo "sandbox-test: FAILED: $*" >&2; exit 1; }

W=$(mktemp -d /tmp/gmsa-sandbox.XXXXXX)
cgdir="$cg/gmsa-sandbox-$$"
pid1=
cleanup() {
  if [ -n "$pid1" ] && kill -0 "$pid1" 2>/dev/null; then
    kill -s SIGRTMIN+4 "$pid1" 2>/dev/null || true # systemd: poweroff
    for _ in $(seq 50); do kill -0 "$pid1" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid1" 2>/dev/null || true
  fi
  if [ -d "$cgdir" ]; then
    find "$cgdir" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  fi
  rm -rf "$W"
}
trap cleanup EXIT

# --- The private systemd's configuration ---------------------------------------------------
mkdir -p "$W"/etc-systemd/system/gmsa-keytab.service.d "$W"/etc-systemd/system-generators \
  "$W"/gmsa-etc "$W"/state "$W"/journal "$W"/srv/gmsa
chmod 700 "$W"/state
for g in /lib/systemd/system-generators/*; do ln -s /dev/null "$W/etc-systemd/system-generators/${g##*/}"; done
for u in /lib/systemd/system/sysinit.target.wants/* /lib/systemd/system/sockets.target.wants/* \
  /lib/systemd/system/timers.target.wants/*; do
  case "${u##*/}" in systemd-journald.service | systemd-journald.socket | systemd-journald-dev-log.socket) continue ;; esac
  ln -sf /dev/null "$W/etc-systemd/system/${u##*/}"
done
ln -s /lib/systemd/system/basic.target "$W"/etc-systemd/system/default.target
# The units under test: this checkout's, not the installed ones.
cp systemd/gmsa-keytab.service systemd/gmsa-keytab.timer "$W"/etc-systemd/system/
cat >"$W"/etc-systemd/system/gmsa-dummy.service <<'EOF'
[Unit]
Description=Stands in for a service that uses a keytab
[Service]
ExecStart=/bin/sleep infinity
ExecReload=/bin/sh -c 'echo reloaded >> /run/gmsa-dummy-reloads'
EOF
# The lab's host keytab and krb5.conf go inside the sandbox's view: the checkout may be under
# /tmp, which PrivateTmp= hides from the service.
install -m 0600 "$GMSALAB_HOST_KEYTAB" "$W"/gmsa-etc/host1.keytab
install -m 0644 "$KRB5_CONFIG" "$W"/gmsa-etc/krb5.conf
cat >"$W"/etc-systemd/system/gmsa-keytab.service.d/lab.conf <<EOF
[Service]
Environment=KRB5_CONFIG=/etc/gmsa-keytab/krb5.conf
ExecStart=
ExecStart=/usr/bin/gmsa-keytab sync --force
# What the sandbox looks like from inside (same restrictions as ExecStart).
ExecStartPost=/bin/sh -c 'grep -E "^CapEff" /proc/self/status; touch /usr/gmsa-probe /etc/gmsa-probe 2>&1 || true'
# Into a file rather than the journal: read back synchronously, run by run.
StandardOutput=append:/run/gmsa-sync.log
StandardError=append:/run/gmsa-sync.log
EOF
cat >"$W"/gmsa-etc/config.toml <<EOF
version = 1
client-keytab = "/etc/gmsa-keytab/host1.keytab"

[[account]]
name = "svc_web\$"
keytab = "/etc/gmsa-keytab/svc_web.keytab"
owner = "nobody"
group = "nogroup"
mode = "0400"
on-change = [["systemctl", "reload", "gmsa-dummy.service"]]

[[account]]
name = "svc_aes\$"
keytab = "/srv/gmsa/svc_aes.keytab"
EOF
cat >"$W"/inner.sh <<EOF
#!/bin/sh
set -e
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t tmpfs -o mode=755 tmpfs /run
mount --bind $W/etc-systemd /etc/systemd
mount --bind $W/gmsa-etc /etc/gmsa-keytab
[ -d /var/lib/gmsa-keytab ] || install -d -m 0700 /var/lib/gmsa-keytab
mount --bind $W/state /var/lib/gmsa-keytab
mount --bind $W/journal /var/log/journal
mount --bind $W/srv /srv
touch $W/console && mount --bind $W/console /dev/console
exec env -i container=gmsa-sandbox PATH=/usr/sbin:/usr/bin:/sbin:/bin \\
  /lib/systemd/systemd --system --log-target=console --show-status=no
EOF
chmod 755 "$W"/inner.sh
[ -d /etc/gmsa-keytab ] || fail "/etc/gmsa-keytab is missing (is the package installed?)"
mkdir -p /srv

# --- Boot it -------------------------------------------------------------------------------
mkdir "$cgdir"
sh -c "echo \$\$ > '$cgdir/cgroup.procs'; exec ip netns exec '$GMSALAB_NETNS' \
  unshare --cgroup --pid --fork --mount --propagation private --mount-proc '$W/inner.sh'" \
  >"$W"/outer.log 2>&1 &
outer=$!
for _ in $(seq 100); do
  pid1=$(pgrep -P "$outer" 2>/dev/null | head -n1) && [ -n "$pid1" ] && break
  sleep 0.1
done
[ -n "$pid1" ] || fail "the private systemd did not start: $(cat "$W"/outer.log)"
inside() { nsenter -t "$pid1" -a "$@"; }
state=
for _ in $(seq 100); do
  state=$(inside systemctl is-system-running 2>/dev/null || true)
  case "$state" in running | degraded) break ;; esac
  sleep 0.2
done
case "$state" in running | degraded) ;; *) fail "private systemd state: $state" ;; esac
check "private systemd is up ($state)"

sync_once() { # one run of the service: its output in $W/run.log; returns its exit status
  inside sh -c ': > /run/gmsa-sync.log'
  inside systemctl start gmsa-keytab.service 2>/dev/null || true
  inside cat /run/gmsa-sync.log >"$W"/run.log
  cat "$W"/run.log
  return "$(inside systemctl show -p ExecMainStatus --value gmsa-keytab.service)"
}

exposure=$(inside systemd-analyze security --no-pager gmsa-keytab.service |
  sed -n 's/.*Overall exposure level for gmsa-keytab.service: \([0-9.]*\).*/\1/p')
awk -v e="$exposure" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(e != "" && e <= m) }' ||
  fail "exposure ${exposure:-unknown} is above $MAX_EXPOSURE"
check "exposure $exposure (online) <= $MAX_EXPOSURE"

inside systemctl start gmsa-dummy.service
rc=0; sync_once || rc=$?
[ "$rc" = 73 ] || fail "a keytab outside ReadWritePaths: exit $rc, expected 73"
grep -q 'svc_aes.keytab.*Read-only file system' "$W"/run.log || fail "no read-only error for /srv/gmsa"
cp "$W"/run.log "$W"/first.log
check "a keytab outside ReadWritePaths fails with EROFS (exit 73)"

printf '[Service]\nReadWritePaths=/srv/gmsa\n' >"$W"/etc-systemd/system/gmsa-keytab.service.d/paths.conf
inside systemctl daemon-reload
rc=0; sync_once || rc=$?
[ "$rc" = 0 ] || fail "sync with the drop-in: exit $rc"
[ "$(stat -c '%U:%G %a' "$W"/gmsa-etc/svc_web.keytab)" = "nobody:nogroup 400" ] ||
  fail "svc_web.keytab: $(stat -c '%U:%G %a' "$W"/gmsa-etc/svc_web.keytab)"
[ -s "$W"/srv/gmsa/svc_aes.keytab ] || fail "svc_aes.keytab was not written"
grep -q '^CapEff:[[:space:]]*000000000000000d$' "$W"/run.log || fail "CapEff is not CHOWN+DAC_READ_SEARCH+FOWNER"
grep -q "/usr/gmsa-probe': Read-only file system" "$W"/run.log || fail "/usr is writable"
grep -q "/etc/gmsa-probe': Read-only file system" "$W"/run.log || fail "/etc is writable"
check "sync writes nobody:nogroup 0400 and /srv/gmsa with the drop-in; CapEff 0xd; /usr, /etc read-only"

# The first run created svc_web.keytab, so its hook ran then (hooks run only on a change).
grep -q 'command="systemctl reload gmsa-dummy.service" exit=0' "$W"/first.log || fail "the systemctl hook did not exit 0"
[ "$(inside cat /run/gmsa-dummy-reloads 2>/dev/null | wc -l)" -ge 1 ] || fail "gmsa-dummy.service was not reloaded"
check "on-change hook systemctl reload works from the sandbox"

for cap in CAP_CHOWN CAP_FOWNER CAP_DAC_READ_SEARCH; do
  printf '[Service]\nCapabilityBoundingSet=~%s\n' "$cap" >"$W"/etc-systemd/system/gmsa-keytab.service.d/without.conf
  inside systemctl daemon-reload
  # A new keytab needs CHOWN and FOWNER; rewriting the existing 0400 one needs DAC_READ_SEARCH.
  [ "$cap" = CAP_DAC_READ_SEARCH ] || rm -f "$W"/gmsa-etc/svc_web.keytab
  rc=0; sync_once >/dev/null || rc=$?
  [ "$rc" = 77 ] || fail "without $cap: exit $rc, expected 77"
  rm "$W"/etc-systemd/system/gmsa-keytab.service.d/without.conf
  inside systemctl daemon-reload
  rc=0; sync_once >/dev/null || rc=$?
  [ "$rc" = 0 ] || fail "after restoring $cap: exit $rc"
done
check "each of CAP_CHOWN, CAP_FOWNER, CAP_DAC_READ_SEARCH is needed (exit 77 without it)"

inside systemctl start gmsa-keytab.timer
next=$(inside systemctl show -p NextElapseUSecMonotonic --value gmsa-keytab.timer)
[ -n "$next" ] && [ "$next" != infinity ] || fail "the timer has no next elapse"
check "the timer is scheduled"

# --- The Ansible role's systemd steps, which packaging/ci.sh skips where systemd is not PID 1 --
VENV=/opt/gmsa-ansible-venv
debs=("$root"/target/debian/gmsa-keytab_*_"$(dpkg --print-architecture)".deb)
if [ -x "$VENV/bin/ansible-playbook" ] && [ -f "${debs[0]}" ]; then
  inside systemctl stop gmsa-keytab.timer
  inside systemctl disable --quiet gmsa-keytab.timer 2>/dev/null || true
  # The role's own drop-in must make /srv/gmsa writable now.
  rm -f "$W"/etc-systemd/system/gmsa-keytab.service.d/paths.conf "$W"/srv/gmsa/svc_aes.keytab
  inside systemctl daemon-reload
  cat >"$W"/vars.yml <<VARS
gmsa_keytab_package_path: "${debs[0]}"
gmsa_keytab_settings:
  client-keytab: /etc/gmsa-keytab/host1.keytab
gmsa_keytab_accounts:
  - name: svc_web\$
    keytab: /etc/gmsa-keytab/svc_web.keytab
    owner: nobody
    group: nogroup
    mode: "0400"
    on-change: [[systemctl, reload, gmsa-dummy.service]]
  - name: svc_aes\$
    keytab: /srv/gmsa/svc_aes.keytab
VARS
  play() {
    inside env -i HOME=/root PATH="$VENV/bin:/usr/sbin:/usr/bin:/sbin:/bin" ANSIBLE_NOCOLOR=1 \
      sh -c "cd '$root/packaging/ansible' && ansible-playbook playbook.yml -e @'$W/vars.yml'" >"$W"/play.log 2>&1 ||
      { cat "$W"/play.log; fail "ansible-playbook failed inside the private systemd"; }
  }
  play
  grep -A1 'RUNNING HANDLER \[gmsa_keytab : Run a gmsa-keytab sync\]' "$W"/play.log | grep -q '^changed:' ||
    { cat "$W"/play.log; fail "the role's sync handler did not run"; }
  [ -s "$W"/srv/gmsa/svc_aes.keytab ] || fail "the handler's sync did not write /srv/gmsa/svc_aes.keytab"
  [ "$(inside systemctl is-enabled gmsa-keytab.timer)" = enabled ] || fail "the role did not enable the timer"
  [ "$(inside systemctl is-active gmsa-keytab.timer)" = active ] || fail "the role did not start the timer"
  check "Ansible role under systemd: config, drop-in, reload and sync handlers, timer enabled and active"
  play
  grep -Eq '^localhost +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0 ' "$W"/play.log ||
    fail "second run of the role under systemd: $(grep '^localhost' "$W"/play.log)"
  check "Ansible role under systemd: second run changed=0"
else
  echo "skipped: the Ansible role under systemd (needs $VENV and target/debian/*.deb: run packaging/ci.sh first)"
fi

printf 'sandbox-test: %d passed, 0 failed\n' "$passed"
