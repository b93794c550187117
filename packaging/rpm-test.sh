#!/usr/bin/env bash
# The .rpm installed, upgraded and erased in a scratch root (`rpm --root DIR --nodeps`), its
# scriptlets really run (chrooted, by rpm) against a stub systemctl that records its calls.
# Usage: packaging/rpm-test.sh PKG.rpm (from packaging/build.sh). The upgrade installs the same
# files at the next release, built here from the package's own payload with the same spec.
# Checks: owned directories and modes; %config(noreplace); first install runs `systemctl preset`
# and starts the enabled timer; an upgrade keeps the state, the keytabs and the edited config
# and presets nothing; erase disables the timer, removes the state and the state directory,
# keeps the keytabs (and so /etc/gmsa-keytab) and saves the edited config as .rpmsave.
# What this cannot show (no RPM distribution here): dependency resolution by dnf, SELinux
# labels, a real systemd acting on the preset. See the README.
set -euo pipefail
[ "$#" = 1 ] || { echo "usage: $0 PKG.rpm" >&2; exit 64; }
cd "$(dirname "$0")/.."
src=$PWD
rpm1=$(realpath "$1")
fail() {
  echo "rpm-test: FAILED: $*" >&2
  exit 1
}

R=$(mktemp -d /tmp/gmsa-rpm-root.XXXXXX)
work=$(mktemp -d /tmp/gmsa-rpm-work.XXXXXX)
trap 'rm -rf "$R" "$work"' EXIT

# Release N+1 of the same package: its binary, the same spec.
arch=$(rpm -qp --qf '%{ARCH}' "$rpm1")
rpm2archive - <"$rpm1" | tar -xz -C "$work" ./usr/bin/gmsa-keytab
rpmbuild -bb --quiet --target "$arch" \
  --define "_topdir $work/build" --define "_rpmdir $work" \
  --define "_build_name_fmt next.rpm" \
  --define "gk_version $(rpm -qp --qf '%{VERSION}' "$rpm1")" \
  --define "gk_release $(($(rpm -qp --qf '%{RELEASE}' "$rpm1") + 1))" \
  --define "gk_root $src" --define "gk_binary $work/usr/bin/gmsa-keytab" \
  --define "__os_install_post %{nil}" --define "debug_package %{nil}" \
  --define "_build_id_links none" \
  packaging/rpm/gmsa-keytab.spec
rpm2=$work/next.rpm

# A minimal root the scriptlets can run in: /bin/sh and the tools they call, with their
# libraries, and /usr/bin/systemctl as a stub. /run/systemd/system exists, as on a booted system.
copy_bin() { # path-on-host path-in-root
  install -D -m 0755 "$1" "$R$2"
  ldd "$1" | grep -o '/[^ ]*' | while read -r lib; do
    [ -e "$R$lib" ] || install -D -m 0755 "$lib" "$R$lib"
  done
}
copy_bin "$(readlink -f /bin/sh)" /bin/sh
copy_bin "$(command -v find)" /usr/bin/find
copy_bin "$(command -v rm)" /usr/bin/rm
mkdir -p "$R/run/systemd/system" "$R/tmp" "$R/dev"
mknod -m 0666 "$R/dev/null" c 1 3
cat >"$R/usr/bin/systemctl" <<'STUB'
#!/bin/sh
# Stub: records each call; `preset`/`enable` enable the timer, `disable` disables it.
echo "systemctl $*" >>/systemctl.log
case "$*" in
*is-enabled*gmsa-keytab.timer*) [ -e /timer-enabled ] ;;
*disable*gmsa-keytab.timer*) rm -f /timer-enabled ;;
*preset*gmsa-keytab.timer* | *enable*gmsa-keytab.timer*) : >/timer-enabled ;;
esac
STUB
chmod 0755 "$R/usr/bin/systemctl"

# Debian's rpm asks for --force-debian before it installs anything.
# --ignorearch: the aarch64 package's scriptlets run here too (they are shell).
RPM=(rpm --root "$R" --nodeps --noplugins)
INSTALL=(--ignorearch)
if rpm --help 2>&1 | grep -q -- --force-debian; then RPM+=(--force-debian); fi
rpm --root "$R" --initdb

log() { cat "$R/systemctl.log" 2>/dev/null || true; }
expect_mode() { # path "mode owner group" (stat %a %U %G)
  local got
  got=$(stat -c '%a %U %G' "$R$1" 2>/dev/null) || fail "$1 is missing"
  [ "$got" = "$2" ] || fail "$1 is $got, expected $2"
}

echo "--- first install"
"${RPM[@]}" -i "${INSTALL[@]}" "$rpm1"
expect_mode /usr/bin/gmsa-keytab "755 root root"
expect_mode /etc/gmsa-keytab "755 root root"
expect_mode /etc/gmsa-keytab/config.toml "644 root root"
expect_mode /var/lib/gmsa-keytab "700 root root"
expect_mode /usr/lib/systemd/system-preset/50-gmsa-keytab.preset "644 root root"
owner=$(rpm --root "$R" -qf /var/lib/gmsa-keytab /etc/gmsa-keytab)
[ "$(sort -u <<<"$owner")" = "$(rpm -qp --qf '%{NVR}.%{ARCH}' "$rpm1")" ] || fail "the package does not own its directories: $owner"
log
grep -qx 'systemctl --no-reload preset gmsa-keytab.timer' "$R/systemctl.log" || fail "%post did not preset the timer"
grep -qx 'systemctl daemon-reload' "$R/systemctl.log" || fail "%post did not reload systemd"
grep -qx 'systemctl start gmsa-keytab.timer' "$R/systemctl.log" || fail "%post did not start the enabled timer"
! grep -q 'start gmsa-keytab.service' "$R/systemctl.log" || fail "%post started the service"

# What a running host accumulates: a schedule in the state directory, a keytab next to the
# config, an edited config.
echo '{"accounts":{}}' >"$R/var/lib/gmsa-keytab/state.json"
printf 'keytab bytes' >"$R/etc/gmsa-keytab/svc_web.keytab"
echo '# edited on this host' >>"$R/etc/gmsa-keytab/config.toml"
edited=$(sha256sum <"$R/etc/gmsa-keytab/config.toml")

echo "--- upgrade to the next release"
: >"$R/systemctl.log"
"${RPM[@]}" -U "${INSTALL[@]}" "$rpm2"
log
[ "$(rpm --root "$R" -q gmsa-keytab)" = "$(rpm -qp --qf '%{NVR}.%{ARCH}' "$rpm2")" ] || fail "the next release is not installed"
[ -f "$R/var/lib/gmsa-keytab/state.json" ] || fail "the upgrade removed the state"
[ -f "$R/etc/gmsa-keytab/svc_web.keytab" ] || fail "the upgrade removed a keytab"
[ "$(sha256sum <"$R/etc/gmsa-keytab/config.toml")" = "$edited" ] || fail "the upgrade replaced the edited config"
expect_mode /var/lib/gmsa-keytab "700 root root"
! grep -q 'preset\|disable' "$R/systemctl.log" || fail "the upgrade preset or disabled the timer"
grep -qx 'systemctl start gmsa-keytab.timer' "$R/systemctl.log" || fail "the upgrade did not (re)start the enabled timer"

echo "--- an admin disables the timer; another upgrade keeps it disabled"
rm -f "$R/timer-enabled"
: >"$R/systemctl.log"
"${RPM[@]}" -U "${INSTALL[@]}" --replacepkgs "$rpm2"
! grep -q 'start gmsa-keytab.timer\|preset' "$R/systemctl.log" || fail "a reinstall started or preset a disabled timer: $(log)"
: >"$R/timer-enabled"

echo "--- erase"
: >"$R/systemctl.log"
"${RPM[@]}" -e gmsa-keytab
log
grep -qx 'systemctl --no-reload disable --now gmsa-keytab.timer' "$R/systemctl.log" || fail "%preun did not disable the timer"
[ ! -e "$R/var/lib/gmsa-keytab" ] || fail "erase left the state: $(ls -la "$R/var/lib/gmsa-keytab")"
[ -f "$R/etc/gmsa-keytab/svc_web.keytab" ] || fail "erase removed a keytab"
[ -f "$R/etc/gmsa-keytab/config.toml.rpmsave" ] || fail "erase did not save the edited config as .rpmsave"
[ ! -e "$R/usr/bin/gmsa-keytab" ] || fail "erase left the binary"
! rpm --root "$R" -q gmsa-keytab >/dev/null || fail "still installed after erase"
echo "rpm-test: $(basename "$rpm1"): install, upgrade, erase in a scratch root: ok"
