#!/usr/bin/env bash
# The package and the service under a real systemd against the test lab's DC. Works where
# systemd is not PID 1 (containers, CI): tests/lab/private-systemd.sh runs a private systemd as
# PID 1 of new pid, mount and cgroup namespaces inside the lab's network namespace, with every
# unit of this machine hidden, so nothing of this machine is changed. Two boots:
#
# 1. A fresh host (ps_init_fresh: /usr, /etc and /var are throw-away overlays; the lab's host
#    keytab and krb5.conf are /etc/krb5.keytab and /etc/krb5.conf: a joined host). The package
#    is purged there, then the administrator's guide is followed: the blocks of
#    docs/admin-guide.md marked `<!-- sandbox-test: NAME -->` are extracted and run line by
#    line, example.com read as the lab's example.test, and a line this test does not know
#    fails it, so the guide cannot drift from what works:
#    - `install`: the .deb installed by the guide's own apt-get line (its file name must be the
#      one packaging/build.sh made, and the README must give the same command);
#    - `installed`: no failed unit, the timer active (and enabled), status NOT CONFIGURED
#      (exit 3);
#    - a run started while the clock is not yet synchronized waits for time-sync.target (a
#      stand-in NTP wait-for-sync service pulls it in), then logs "no accounts configured" and
#      exits 0, and no unit is failed;
#    - `account`: the guide's [[account]] table appended to the shipped config;
#    - `first-sync`: check-config, doctor, `systemctl start`, journalctl, show and kvno -k, each
#      judged (kvno -k then validates every principal of the keytab; status exits 0);
#    - `on-failure`: the guide's OnFailure= drop-in starts the notifier when a run fails (the
#      unit's comment must show the same line), and the next good run leaves no failed unit.
# 2. The hardening (units of this checkout, the installed binary):
#    - the unit's exposure (systemd-analyze security, online) is at most MAX_EXPOSURE;
#    - a sync writes an owner nobody:nogroup 0400 keytab and runs its on-change hook
#      `systemctl reload` (exit 0), with CapEff = CAP_CHOWN CAP_DAC_READ_SEARCH CAP_FOWNER;
#    - /usr and /etc are read-only; a keytab outside ReadWritePaths fails (exit 73) until a
#      drop-in adds its directory;
#    - without any one of the three capabilities the sync fails (exit 77);
#    - the timer schedules the service;
#    - the Ansible role, run inside, enables and starts the timer, and its handlers reload
#      systemd and run a sync that writes where the role's drop-in allows; a second run changes
#      nothing.
# A part whose prerequisite is missing is counted and listed as skipped, never as passed.
#
# Needs: root; the installed package (/usr/bin/gmsa-keytab) and target/debian/*.deb (both from
# packaging/ci.sh); the lab's packages (tests/lab/install-deps.sh); a cgroup2 mount. Brings the
# lab up if needed.
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

passed=0 skipped=0 skips=()
check() { passed=$((passed + 1)); echo "ok: $*"; }
skip() { skipped=$((skipped + 1)); skips+=("$*"); echo "SKIPPED: $*"; }
fail() { echo "sandbox-test: FAILED: $*" >&2; exit 1; }

# shellcheck source=tests/lab/private-systemd.sh
. tests/lab/private-systemd.sh
W=
cleanup() {
  ps_cleanup
  [ -z "$W" ] || rm -rf "$W"
}
trap cleanup EXIT

# ============================================================================================
# 1. A fresh install, following the administrator's guide
# ============================================================================================
GUIDE=docs/admin-guide.md
# guide_block NAME: the fenced block after the guide's `<!-- sandbox-test: NAME ... -->` line.
guide_block() {
  awk -v name="$1" '
    index($0, "<!-- sandbox-test: " name " ") == 1 { found = 1; next }
    found && /^```/ { if (inside) exit; inside = 1; next }
    found && inside { print }' "$GUIDE"
}
# The guide speaks of example.com; the lab's domain is example.test.
lab_names() { sed 's/example\.com/example.test/g; s/EXAMPLE\.COM/EXAMPLE.TEST/g'; }
# The lines of a shell block without comments and blank lines.
commands_of() { sed 's/[[:space:]]\{2,\}#.*$//; s/^#.*$//; s/[[:space:]]*$//' | sed '/^$/d'; }
# A root shell on that host: its default environment, not this script's lab variables.
host_sh() {
  inside env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    LANG=C.UTF-8 KRB5CCNAME=FILE:/run/admin.ccache sh -c "$1"
}
journal() { inside journalctl -u gmsa-keytab -o cat --no-pager; }

fresh_install() {
  local debdir deb_name cmd out rc line p
  debdir=$root/target/debian
  deb_name=$(guide_block install | commands_of | sed -n 's|^apt-get install \./\([^ ]*\.deb\)$|\1|p')
  [ -n "$deb_name" ] || fail "$GUIDE: the install block has no 'apt-get install ./FILE.deb' line"
  [ -f "$debdir/$deb_name" ] ||
    fail "$GUIDE installs $deb_name; packaging/build.sh made: $(cd "$debdir" && ls gmsa-keytab_*.deb)"
  grep -qF "apt-get install ./$deb_name" README.md || fail "README.md does not give the guide's install command"

  W=$(mktemp -d /tmp/gmsa-fresh.XXXXXX)
  PS_INNER_EXTRA=
  ps_init_fresh "$W"
  # A joined host: its keytab and krb5.conf where realmd or adcli put them (guide section 2).
  install -m 0600 "$GMSALAB_HOST_KEYTAB" "$W"/ov/etc-upper/krb5.keytab
  install -m 0644 "$KRB5_CONFIG" "$W"/ov/etc-upper/krb5.conf
  # Stand-ins: the service the guide's hook reloads, an NTP client's wait-for-sync service, and
  # the admin's failure notifier.
  cat >"$W"/etc-systemd/system/nginx.service <<'EOF'
[Unit]
Description=Stands in for nginx, whose keytab the guide configures
[Service]
ExecStart=/bin/sleep infinity
ExecReload=/bin/sh -c 'echo reloaded >> /run/nginx-reloads'
EOF
  cat >"$W"/etc-systemd/system/test-time-wait-sync.service <<'EOF'
[Unit]
Description=Stands in for systemd-time-wait-sync or chrony-wait: done when the clock is synced
DefaultDependencies=no
Wants=time-sync.target
Before=time-sync.target
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'while [ ! -e /run/clock-synced ]; do sleep 0.1; done'
EOF
  cat >"$W"/etc-systemd/system/notify-admin@.service <<'EOF'
[Unit]
Description=Stands in for an admin's failure notifier
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo "%i" >> /run/notify-admin.log'
EOF
  ps_boot || fail "the fresh host's systemd did not come up"
  check "fresh host: private systemd up on /usr, /etc, /var overlays"

  # Never installed: purge this machine's package in the overlay (its scripts run against the
  # private systemd), and what purge leaves (keytabs) goes too. No man-db index rebuild: it
  # only costs time here. Container images (Docker's debian:12 among them) ship a
  # /usr/sbin/policy-rc.d that forbids maintainer scripts to start services; a host has none.
  host_sh 'rm -f /var/lib/man-db/auto-update /usr/sbin/policy-rc.d
    if dpkg -s gmsa-keytab >/dev/null 2>&1; then dpkg --purge gmsa-keytab; fi
    rm -rf /etc/gmsa-keytab /var/lib/gmsa-keytab' >"$W"/purge.log 2>&1 ||
    { cat "$W"/purge.log; fail "purging the package on the fresh host"; }
  ! inside test -e /usr/bin/gmsa-keytab || fail "the purge left /usr/bin/gmsa-keytab"

  # --- install
  guide_block install | commands_of >"$W"/install.sh
  rc=0
  host_sh "cd '$debdir' && export DEBIAN_FRONTEND=noninteractive && . '$W/install.sh'" \
    </dev/null >"$W"/install.log 2>&1 || rc=$?
  [ "$rc" = 0 ] || { cat "$W"/install.log; fail "the guide's install command: exit $rc"; }
  [ "$(inside dpkg-query -W -f='${Status}' gmsa-keytab)" = "install ok installed" ] || fail "not installed"
  check "guide 'install': $(cat "$W"/install.sh)"

  # --- installed: before any configuration
  guide_block installed | commands_of >"$W"/installed.cmds
  while IFS= read -r cmd; do
    rc=0
    out=$(host_sh "$cmd" 2>&1) || rc=$?
    case "$cmd" in
    "systemctl --failed")
      grep -q '^0 loaded units listed' <<<"$out" || { echo "$out"; fail "a unit failed on the fresh install"; } ;;
    "systemctl is-active gmsa-keytab.timer")
      [ "$out" = active ] || fail "the timer is $out after the install" ;;
    "gmsa-keytab status")
      [ "$rc" = 3 ] && grep -q 'NOT CONFIGURED' <<<"$out" || fail "status before configuration: exit $rc: $out" ;;
    *) fail "unknown line in the guide's 'installed' block: $cmd (teach packaging/sandbox-test.sh)" ;;
    esac
  done <"$W"/installed.cmds
  [ "$(wc -l <"$W"/installed.cmds)" = 3 ] || fail "the guide's 'installed' block lost a line"
  [ "$(inside systemctl is-enabled gmsa-keytab.timer)" = enabled ] || fail "the package did not enable the timer"
  check "guide 'installed': no failed unit, the timer enabled and active, status NOT CONFIGURED (exit 3)"

  # --- a run waits for a synchronized clock when an NTP client's wait-for-sync service says so
  [ "$(inside systemctl is-active time-sync.target)" = inactive ] || fail "time-sync.target is already reached"
  inside systemctl start --no-block test-time-wait-sync.service
  inside systemctl start --no-block gmsa-keytab.service
  sleep 2
  out=$(inside systemctl list-jobs --plain --no-legend)
  grep -Eq '^[0-9]+ +gmsa-keytab\.service +start +waiting' <<<"$out" ||
    { echo "$out"; fail "the run did not wait for time-sync.target"; }
  [ "$(inside systemctl show -p ExecMainStartTimestampMonotonic --value gmsa-keytab.service)" = 0 ] ||
    fail "gmsa-keytab.service ran before the clock was synchronized"
  inside touch /run/clock-synced
  for _ in $(seq 150); do
    out=$(inside systemctl list-jobs --plain --no-legend)
    grep -q 'gmsa-keytab\.service' <<<"$out" || break
    sleep 0.2
  done
  [ "$(inside systemctl show -p ExecMainStartTimestampMonotonic --value gmsa-keytab.service)" != 0 ] ||
    fail "gmsa-keytab.service did not run after the clock was synchronized"
  [ "$(inside systemctl show -p Result --value gmsa-keytab.service)" = success ] ||
    fail "the run before configuration failed: $(journal | tail -n 5)"
  journal | grep -q 'msg="no accounts configured; edit /etc/gmsa-keytab/config.toml' ||
    fail "no 'no accounts configured' line: $(journal | tail -n 5)"
  out=$(host_sh 'systemctl --failed --plain --no-legend')
  [ -z "$out" ] || fail "failed units after the unconfigured run: $out"
  check "a run waits for time-sync.target while an NTP wait-for-sync service holds it, then exits 0 unconfigured"

  # --- account
  guide_block account | lab_names >"$W"/account.toml
  grep -q '^\[\[account\]\]' "$W"/account.toml || fail "the guide's 'account' block has no [[account]]"
  host_sh "cat '$W/account.toml' >> /etc/gmsa-keytab/config.toml"
  inside systemctl start nginx.service
  check "guide 'account': its table appended to the shipped config"

  # --- first-sync: every line as written, each judged
  guide_block first-sync | lab_names | commands_of >"$W"/first.cmds
  # "after kinit as any user": here as the host.
  host_sh "kinit -k -t /etc/krb5.keytab 'host1\$@EXAMPLE.TEST'" || fail "kinit as the host"
  while IFS= read -r cmd; do
    rc=0
    out=$(host_sh "$cmd" 2>&1) || rc=$?
    printf '$ %s  (exit %s)\n%s\n' "$cmd" "$rc" "$out" >>"$W"/first.log
    case "$cmd" in
    "gmsa-keytab check-config")
      [ "$rc" = 0 ] || fail "check-config: exit $rc: $out" ;;
    "gmsa-keytab doctor")
      { [ "$rc" = 0 ] || [ "$rc" = 1 ]; } && ! grep -q '^ *FAIL ' <<<"$out" || { echo "$out"; fail "doctor: exit $rc"; } ;;
    "systemctl start gmsa-keytab.service")
      [ "$rc" = 0 ] || fail "systemctl start: exit $rc: $(journal | tail -n 5)" ;;
    "journalctl -u gmsa-keytab")
      grep -q 'msg="account synced" account=svc_web\$ .*kvno=.*next_query=.*rotation=' <<<"$out" ||
        { echo "$out"; fail "journalctl shows no 'account synced' line"; } ;;
    "gmsa-keytab show /etc/gmsa-keytab/svc_web.keytab")
      [ "$rc" = 0 ] && grep -q 'HTTP/web.example.test@EXAMPLE.TEST' <<<"$out" || fail "show: exit $rc: $out" ;;
    "kvno -k /etc/gmsa-keytab/svc_web.keytab HTTP/web.example.test")
      [ "$rc" = 0 ] && grep -q 'keytab entry valid' <<<"$out" || fail "kvno -k: exit $rc: $out" ;;
    *) fail "unknown line in the guide's 'first-sync' block: $cmd (teach packaging/sandbox-test.sh)" ;;
    esac
  done <"$W"/first.cmds
  [ "$(wc -l <"$W"/first.cmds)" = 6 ] || fail "the guide's 'first-sync' block lost a line"
  for p in 'svc_web$' HTTP/web; do
    out=$(host_sh "kvno -k /etc/gmsa-keytab/svc_web.keytab '$p'" 2>&1) && grep -q 'keytab entry valid' <<<"$out" ||
      fail "kvno -k $p: $out"
  done
  [ "$(inside stat -c '%U:%G %a' /etc/gmsa-keytab/svc_web.keytab)" = "root:www-data 640" ] ||
    fail "svc_web.keytab is $(inside stat -c '%U:%G %a' /etc/gmsa-keytab/svc_web.keytab)"
  inside grep -q reloaded /run/nginx-reloads || fail "the on-change hook did not reload nginx"
  rc=0
  out=$(host_sh 'gmsa-keytab status' 2>&1) || rc=$?
  [ "$rc" = 0 ] || fail "status after the first sync: exit $rc: $out"
  out=$(host_sh 'systemctl --failed --plain --no-legend')
  [ -z "$out" ] || fail "failed units after the first sync: $out"
  check "guide 'first-sync': 6 commands; kvno -k accepts svc_web\$, HTTP/web.example.test, HTTP/web; hook ran; status OK"

  # --- on-failure: the guide's drop-in; a run that fails (an account that does not exist)
  guide_block on-failure >"$W"/on-failure.conf
  line=$(grep '^OnFailure=' "$W"/on-failure.conf) || fail "the guide's 'on-failure' block has no OnFailure= line"
  grep -qxF "#   $line" systemd/gmsa-keytab.service || fail "systemd/gmsa-keytab.service's comment does not show $line"
  mkdir -p "$W"/etc-systemd/system/gmsa-keytab.service.d
  cp "$W"/on-failure.conf "$W"/etc-systemd/system/gmsa-keytab.service.d/on-failure.conf
  inside systemctl daemon-reload
  host_sh "cp /etc/gmsa-keytab/config.toml /run/config.good
    printf '[[account]]\nname = \"svc_nosuch\$\"\nkeytab = \"/etc/gmsa-keytab/nosuch.keytab\"\n' >> /etc/gmsa-keytab/config.toml"
  ! host_sh 'systemctl start gmsa-keytab.service' 2>/dev/null || fail "a run with an unknown account succeeded"
  for _ in $(seq 50); do inside test -s /run/notify-admin.log && break; sleep 0.1; done
  [ "$(inside cat /run/notify-admin.log 2>/dev/null)" = gmsa-keytab.service ] ||
    fail "OnFailure= did not start notify-admin@gmsa-keytab.service.service"
  host_sh 'cp /run/config.good /etc/gmsa-keytab/config.toml && systemctl start gmsa-keytab.service' ||
    fail "the run after the fix failed"
  out=$(host_sh 'systemctl --failed --plain --no-legend')
  [ -z "$out" ] || fail "failed units after a good run: $out"
  check "guide 'on-failure': a failed run starts notify-admin@gmsa-keytab.service.service; the next good run clears it"

  ps_cleanup
  rm -rf "$W"
  W=
}

debs=("$root"/target/debian/gmsa-keytab_*_"$(dpkg --print-architecture)".deb)
if [ -f "${debs[0]}" ]; then
  fresh_install
else
  skip "the fresh install following the guide (needs target/debian/*.deb: run packaging/ci.sh first)"
fi

# ============================================================================================
# 2. The hardening, with this checkout's units and the installed binary
# ============================================================================================
[ -d /etc/gmsa-keytab ] || fail "/etc/gmsa-keytab is missing (is the package installed?)"
mkdir -p /srv
W=$(mktemp -d /tmp/gmsa-sandbox.XXXXXX)
mkdir -p "$W"/srv/gmsa
PS_INNER_EXTRA="mount --bind $W/srv /srv"
ps_init "$W" ""
mkdir -p "$W"/etc-systemd/system/gmsa-keytab.service.d
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
ps_boot || fail "the private systemd did not start"
check "private systemd is up"

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
  skip "the Ansible role under systemd (needs $VENV and target/debian/*.deb: run packaging/ci.sh first)"
fi

printf 'sandbox-test: %d passed, 0 failed, %d skipped\n' "$passed" "$skipped"
for s in "${skips[@]}"; do echo "  skipped: $s"; done
