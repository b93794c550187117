#!/usr/bin/env bash
# The Ansible role by its ecosystem's conventions, applied to this machine (packaging/ci.sh runs
# it with the .deb it built as $1; gmsa-keytab is installed then). Each playbook run costs
# about as much as the package work it does, so every run checks several things:
#  1. absent: package, config and drop-in removed, keytabs kept; a second run changes nothing.
#  2. present from a package file (an older build of the same binary, version
#     VERSION-0~ci1): installed, the example config and drop-in written (files checked);
#  3. present from the repositories (a local file:// apt repository holding that older build
#     and the .deb of $1): changed=0, and the older version stays (present never upgrades);
#  4. --check --diff on the applied state: changed=0;
#  5. --check --diff with new variables: the diff shown, nothing written;
#  6. argument specs: a misspelt key, a wrong choice, a wrong state and a wrong type fail
#     together before any task, in check mode; a bad mode string fails too;
#  7. an unquoted YAML mode (0640, read as the number 416) writes the same file as "0640";
#     keytab directories are created with the role's owner and mode; a second run changed=0;
#  8. latest from the repositories: upgraded to the .deb of $1 (the newest there), back to
#     the example config; a second run changes nothing.
# The example farm inventory parses and the playbook passes --syntax-check with it.
# Leaves the .deb of $1 installed with the example playbook's configuration, as ci.sh found
# it, and removes its apt repository.
set -euo pipefail
deb=$(realpath "$1")
cd "$(dirname "$0")/ansible"
VENV=/opt/gmsa-ansible-venv
export PATH="$VENV/bin:$HOME/.cargo/bin:$PATH" ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1 PY_COLORS=0
w=$(mktemp -d /tmp/gmsa-ansible-test.XXXXXX)
chmod 755 "$w"
src=/etc/apt/sources.list.d/gmsa-keytab-ansible-test.list
# Only this repository's lists: apt-get update reaches no network and leaves the others alone.
apt_repo=(-o "Dir::Etc::sourcelist=$src" -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0)
cleanup() {
  rm -f "$src"
  rm -f /var/lib/apt/lists/*gmsa-ansible-test*
  rm -rf "$w"
}
trap cleanup EXIT
passed=0
fail() {
  echo "ansible-test: FAILED: $*" >&2
  exit 1
}
check() {
  passed=$((passed + 1))
  echo "ok: $*"
}
# play NAME [ansible-playbook args...]: runs the example playbook, installing from $pkg (a
# package file) or, with pkg empty, from the repositories; output in $w/NAME.log.
pkg=
play() {
  local name=$1 t0=$SECONDS
  shift
  local rc=0
  ansible-playbook playbook.yml -e "gmsa_keytab_package_path=$pkg" "$@" >"$w/$name.log" 2>&1 || rc=$?
  echo "  (playbook run $name: $((SECONDS - t0)) s)"
  return "$rc"
}
recap() { grep '^localhost' "$w/$1.log" || echo "(no recap)"; }
changed() { sed -n 's/^localhost .* changed=\([0-9]*\) .*/\1/p' "$w/$1.log"; }
installed() { dpkg-query -W -f='${Status} ${Version}' gmsa-keytab 2>/dev/null || true; }
conf=/etc/gmsa-keytab/config.toml
dropin=/etc/systemd/system/gmsa-keytab.service.d/write-paths.conf
# The files the example inventory (inventory/local.yml) makes the role write.
example_files() {
  local line out
  [ "$(stat -c '%a %U %G' "$conf")" = "644 root root" ] || fail "$conf is not root:root 0644"
  for line in 'version = 1' 'domain = "example.com"' 'name = "svc_web$"' \
    'keytab = "/etc/gmsa-keytab/svc_web.keytab"' 'group = "www-data"' 'mode = "0640"' \
    'on-change = [["systemctl", "reload", "nginx"]]'; do
    grep -qxF "$line" "$conf" || fail "$conf lacks: $line"
  done
  ! grep -q svc_aes "$conf" || fail "$conf still has the other variables' account"
  out=$(gmsa-keytab check-config "$conf")
  grep -qx 'mode = "0640"' <<<"$out" || fail "check-config does not show mode 0640"
  [ "$(stat -c '%a %U' "$dropin")" = "644 root" ] || fail "$dropin is not root 0644"
  grep -qx '\[Service\]' "$dropin" || fail "$dropin has no [Service] section"
  if [ "$(ps -p 1 -o comm=)" = systemd ]; then
    systemctl is-enabled --quiet gmsa-keytab.timer || fail "gmsa-keytab.timer is not enabled"
    systemctl is-active --quiet gmsa-keytab.timer || fail "gmsa-keytab.timer is not active"
  fi
}

ansible-inventory -i inventory/farm.yml --list >"$w/farm.json"
/usr/bin/python3 - "$w/farm.json" <<'PY'
import json, sys
inv = json.load(open(sys.argv[1]))
hosts = inv["_meta"]["hostvars"]
assert len(hosts) == 6, hosts.keys()
kafka = hosts["kafka01.corp.example.com"]
assert kafka["gmsa_keytab_accounts"][0]["name"] == "svc_kafka$", kafka
assert kafka["gmsa_keytab_settings"]["domain"] == "corp.example.com", kafka
assert hosts["web01.corp.example.com"]["gmsa_keytab_keytab_dir_mode"] == "0750"
PY
ansible-playbook -i inventory/farm.yml --syntax-check playbook.yml >/dev/null
check "the farm inventory: 6 hosts in two groups with their own gMSAs; syntax check"

# A package repository: an older build of the same binary and the .deb under test.
version=$(dpkg-deb -f "$deb" Version)
old_version=${version%-*}-0~ci1
mkdir -p "$w/repo"
cp "$deb" "$w/repo/"
(cd ../.. && cargo deb --no-build --locked --deb-version "$old_version" --output "$w/repo/old.deb" >/dev/null)
# cargo-deb 3.8 deletes the package's other .debs in target/debian/: put ours back (ci.sh and
# packaging/sandbox-test.sh use it).
[ -f "$deb" ] || cp "$w/repo/$(basename "$deb")" "$deb"
old_deb=$w/repo/old.deb
[ "$(dpkg-deb -f "$old_deb" Version)" = "$old_version" ] || fail "cargo deb --deb-version made $(dpkg-deb -f "$old_deb" Version)"
(cd "$w/repo" && dpkg-scanpackages --multiversion . >Packages 2>/dev/null)
[ "$(grep -c '^Package: gmsa-keytab$' "$w/repo/Packages")" = 2 ] || fail "the repository does not list both versions"
echo "deb [trusted=yes] file:$w/repo ./" >"$src"
apt-get update -q "${apt_repo[@]}" >"$w/apt-update.log" 2>&1 || { cat "$w/apt-update.log"; fail "apt-get update of the test repository"; }
policy=$(apt-cache policy gmsa-keytab)
grep -q "$old_version" <<<"$policy" && grep -q "Candidate: $version" <<<"$policy" ||
  fail "apt does not see both versions: $policy"

# 1. absent (gmsa-keytab is installed by ci.sh); a keytab in a role-made directory stands for
# one a service uses.
mkdir -p /var/lib/gmsa-ci-keytabs
printf 'keytab' >/var/lib/gmsa-ci-keytabs/svc_aes.keytab
play absent -e gmsa_keytab_state=absent || { cat "$w/absent.log"; fail "state absent failed"; }
[[ "$(installed)" != "install ok installed"* ]] || fail "state absent left the package installed"
[ ! -e "$conf" ] && [ ! -e "$dropin" ] || fail "state absent left the config or the drop-in"
[ -f /var/lib/gmsa-ci-keytabs/svc_aes.keytab ] || fail "state absent removed a keytab"
play absent-again -e gmsa_keytab_state=absent || fail "state absent, second run, failed"
[ "$(changed absent-again)" = 0 ] || { cat "$w/absent-again.log"; fail "state absent, second run: $(recap absent-again)"; }
check "state absent: package, config and drop-in gone, keytabs kept; second run $(recap absent-again)"
rm -rf /var/lib/gmsa-ci-keytabs

# 2. present from a package file
pkg=$old_deb
play present || { cat "$w/present.log"; fail "state present from a file failed"; }
[ "$(installed)" = "install ok installed $old_version" ] || fail "state present from $old_deb: $(installed)"
example_files
check "state present from a package file: $old_version installed, config, drop-in (and timer where systemd runs)"

# 3. present from the repositories: nothing to do, and no upgrade
pkg=
play present-repo || { cat "$w/present-repo.log"; fail "state present from the repository failed"; }
[ "$(changed present-repo)" = 0 ] || { cat "$w/present-repo.log"; fail "state present, second run: $(recap present-repo)"; }
[ "$(installed)" = "install ok installed $old_version" ] || fail "state present upgraded the package: $(installed)"
check "state present from the repository: $(recap present-repo); $old_version kept although $version is there"

# 4. check mode on the applied state
before=$(sha256sum "$conf" "$dropin")
play check-same --check --diff || { cat "$w/check-same.log"; fail "--check --diff on the applied state failed"; }
[ "$(changed check-same)" = 0 ] || { cat "$w/check-same.log"; fail "--check on the applied state: $(recap check-same)"; }
check "--check --diff on the applied state: $(recap check-same)"

# 5. New variables: a second account in a new directory, modes unquoted.
cat >"$w/more.yml" <<'VARS'
gmsa_keytab_keytab_dir_mode: 0750
gmsa_keytab_keytab_dir_group: www-data
gmsa_keytab_accounts:
  - name: svc_web$
    keytab: /etc/gmsa-keytab/svc_web.keytab
    owner: root
    group: www-data
    mode: 0640
    spns: auto
    enctypes: [aes256, aes128]
    on-change:
      - [systemctl, reload, nginx]
  - name: svc_aes$
    keytab: /var/lib/gmsa-ci-keytabs/svc_aes.keytab
    mode: 0600
VARS
play check-more --check --diff -e "@$w/more.yml" || { cat "$w/check-more.log"; fail "--check --diff with new variables failed"; }
[ "$(changed check-more)" -gt 0 ] || fail "--check with new variables reports no change: $(recap check-more)"
grep -qxF '+name = "svc_aes$"' "$w/check-more.log" || { cat "$w/check-more.log"; fail "the diff does not show the new account"; }
grep -qxF '+mode = "0600"' "$w/check-more.log" || { cat "$w/check-more.log"; fail "the diff does not show mode \"0600\""; }
! grep -q 'mode = 4[0-9][0-9]$\|mode = 384$' "$w/check-more.log" || fail "an unquoted mode was rendered as a decimal number"
grep -q '/var/lib/gmsa-ci-keytabs' "$w/check-more.log" || fail "the diff does not show the new keytab directory"
[ "$(sha256sum "$conf" "$dropin")" = "$before" ] || fail "--check changed files"
[ ! -e /var/lib/gmsa-ci-keytabs ] || fail "--check created the keytab directory"
check "--check --diff with new variables: $(recap check-more), diff shown, nothing written"

# 6. Bad variables fail before any task, in check mode too. The argument specs report every
# problem of a run at once, so one run carries four.
bad() { # name yaml expected-message...
  local name=$1 msg
  printf '%s\n' "$2" >"$w/$name.yml"
  shift 2
  if play "$name" --check -e "@$w/$name.yml"; then fail "$name was accepted"; fi
  for msg in "$@"; do
    grep -q "$msg" "$w/$name.log" || { cat "$w/$name.log"; fail "$name: no '$msg' in the output"; }
  done
  ! grep -q 'TASK \[gmsa_keytab : Write the configuration\]' "$w/$name.log" || fail "$name: tasks ran before the error"
}
bad specs '
gmsa_keytab_state: installed
gmsa_keytab_settings:
  protection: ssl
  timeout-seconds: soon
gmsa_keytab_accounts:
  - name: svc_web$
    keytab: /etc/gmsa-keytab/svc_web.keytab
    moed: "0640"' \
  'gmsa_keytab_accounts.moed. Supported parameters include' 'value of protection must be one of' \
  'value of gmsa_keytab_state must be one of' "timeout-seconds' is of type str"
bad mode '
gmsa_keytab_accounts:
  - name: svc_web$
    keytab: /etc/gmsa-keytab/svc_web.keytab
    mode: "rw-r-----"' 'is not an octal mode'
check "argument specs: misspelt key, wrong choice, wrong state, wrong type (one run) and a bad mode fail early"

# 7. For real: unquoted modes write the same mode strings; the new directory gets owner and mode.
pkg=$old_deb
play more -e "@$w/more.yml" || { cat "$w/more.log"; fail "applying the new variables failed"; }
grep -qxF 'mode = "0640"' "$conf" && grep -qxF 'mode = "0600"' "$conf" || fail "unquoted modes: $(grep mode "$conf")"
[ "$(stat -c '%a %U %G' /var/lib/gmsa-ci-keytabs)" = "750 root www-data" ] ||
  fail "/var/lib/gmsa-ci-keytabs is $(stat -c '%a %U %G' /var/lib/gmsa-ci-keytabs), expected 750 root www-data"
grep -qx 'ReadWritePaths=-/var/lib/gmsa-ci-keytabs' "$dropin" || fail "the drop-in does not allow the new directory"
play more-again -e "@$w/more.yml" || fail "the second run with the new variables failed"
[ "$(changed more-again)" = 0 ] || { cat "$w/more-again.log"; fail "second run: $(recap more-again)"; }
check "unquoted modes and a new keytab directory (750 root www-data), second run $(recap more-again)"
rm -rf /var/lib/gmsa-ci-keytabs

# 8. latest from the repositories: the upgrade, and the example config again.
pkg=
play latest -e gmsa_keytab_state=latest || { cat "$w/latest.log"; fail "state latest failed"; }
[ "$(installed)" = "install ok installed $version" ] || fail "state latest did not upgrade to $version: $(installed)"
cmp -s /usr/bin/gmsa-keytab <(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/bin/gmsa-keytab) ||
  fail "/usr/bin/gmsa-keytab is not the binary of $deb"
example_files
play latest-again -e gmsa_keytab_state=latest || fail "state latest, second run, failed"
[ "$(changed latest-again)" = 0 ] || { cat "$w/latest-again.log"; fail "state latest, second run: $(recap latest-again)"; }
check "state latest from the repository: $old_version upgraded to $version, example config; second run $(recap latest-again)"

printf 'ansible-test: %d passed, 0 failed\n' "$passed"
