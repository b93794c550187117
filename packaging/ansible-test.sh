#!/usr/bin/env bash
# The Ansible role by its ecosystem's conventions, on this machine (packaging/ci.sh runs it
# after applying the role twice, with the .deb path as $1):
# - the example farm inventory parses and the playbook passes --syntax-check with it;
# - --check --diff on the applied state changes nothing; with new variables it shows the diff
#   and writes nothing;
# - argument specs: a misspelt key, a wrong choice or type fails before any task, in check mode;
# - an unquoted YAML mode (0640, read as the number 416) writes the same file as "0640";
# - keytab directories are created with the role's owner and mode, and a second run is changed=0;
# - state absent removes the package, the config and the drop-in and keeps keytabs; state
#   present installs it again, and the run after that is changed=0.
# Leaves the role applied with the example inventory, as before.
set -euo pipefail
cd "$(dirname "$0")/ansible"
deb=$1
VENV=/opt/gmsa-ansible-venv
export PATH="$VENV/bin:$PATH" ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1 PY_COLORS=0
w=$(mktemp -d /tmp/gmsa-ansible-test.XXXXXX)
trap 'rm -rf "$w"' EXIT
passed=0
fail() {
  echo "ansible-test: FAILED: $*" >&2
  exit 1
}
check() {
  passed=$((passed + 1))
  echo "ok: $*"
}
# play NAME [ansible-playbook args...]: runs the example playbook; output in $w/NAME.log.
play() {
  local name=$1
  shift
  ansible-playbook playbook.yml -e "gmsa_keytab_package_path=$deb" "$@" >"$w/$name.log" 2>&1
}
recap() { grep '^localhost' "$w/$1.log" || echo "(no recap)"; }
changed() { sed -n 's/^localhost .* changed=\([0-9]*\) .*/\1/p' "$w/$1.log"; }
conf=/etc/gmsa-keytab/config.toml
dropin=/etc/systemd/system/gmsa-keytab.service.d/write-paths.conf

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

before=$(sha256sum "$conf" "$dropin")
play check-same --check --diff || { cat "$w/check-same.log"; fail "--check --diff on the applied state failed"; }
[ "$(changed check-same)" = 0 ] || { cat "$w/check-same.log"; fail "--check on the applied state: $(recap check-same)"; }
check "--check --diff on the applied state: $(recap check-same)"

# New variables: a second account in a new directory, modes unquoted.
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
rm -rf /var/lib/gmsa-ci-keytabs
play check-more --check --diff -e "@$w/more.yml" || { cat "$w/check-more.log"; fail "--check --diff with new variables failed"; }
[ "$(changed check-more)" -gt 0 ] || fail "--check with new variables reports no change: $(recap check-more)"
grep -qxF '+name = "svc_aes$"' "$w/check-more.log" || { cat "$w/check-more.log"; fail "the diff does not show the new account"; }
grep -qxF '+mode = "0600"' "$w/check-more.log" || { cat "$w/check-more.log"; fail "the diff does not show mode \"0600\""; }
! grep -q 'mode = 4[0-9][0-9]$\|mode = 384$' "$w/check-more.log" || fail "an unquoted mode was rendered as a decimal number"
grep -q '/var/lib/gmsa-ci-keytabs' "$w/check-more.log" || fail "the diff does not show the new keytab directory"
[ "$(sha256sum "$conf" "$dropin")" = "$before" ] || fail "--check changed files"
[ ! -e /var/lib/gmsa-ci-keytabs ] || fail "--check created the keytab directory"
check "--check --diff with new variables: $(recap check-more), diff shown, nothing written"

# Bad variables fail before any task, in check mode too.
bad() { # name expected-message yaml
  printf '%s\n' "$3" >"$w/$1.yml"
  if play "$1" --check -e "@$w/$1.yml"; then fail "$1 was accepted"; fi
  grep -q "$2" "$w/$1.log" || { cat "$w/$1.log"; fail "$1: no '$2' in the output"; }
  ! grep -q 'TASK \[gmsa_keytab : Write the configuration\]' "$w/$1.log" || fail "$1: tasks ran before the error"
}
bad misspelt 'gmsa_keytab_accounts.moed. Supported parameters include' '
gmsa_keytab_accounts:
  - name: svc_web$
    keytab: /etc/gmsa-keytab/svc_web.keytab
    moed: "0640"'
bad choice 'value of protection must be one of' '
gmsa_keytab_settings:
  protection: ssl'
bad state 'value of gmsa_keytab_state must be one of' 'gmsa_keytab_state: installed'
bad type 'timeout-seconds' '
gmsa_keytab_settings:
  timeout-seconds: soon'
bad mode 'is not an octal mode' '
gmsa_keytab_accounts:
  - name: svc_web$
    keytab: /etc/gmsa-keytab/svc_web.keytab
    mode: "rw-r-----"'
check "argument specs: misspelt key, wrong choice, wrong state, wrong type and a bad mode fail early"

# For real: unquoted modes write the same mode strings; the new directory gets owner and mode.
play more -e "@$w/more.yml" || { cat "$w/more.log"; fail "applying the new variables failed"; }
grep -qxF 'mode = "0640"' "$conf" && grep -qxF 'mode = "0600"' "$conf" || fail "unquoted modes: $(grep mode "$conf")"
[ "$(stat -c '%a %U %G' /var/lib/gmsa-ci-keytabs)" = "750 root www-data" ] ||
  fail "/var/lib/gmsa-ci-keytabs is $(stat -c '%a %U %G' /var/lib/gmsa-ci-keytabs), expected 750 root www-data"
grep -qx 'ReadWritePaths=-/var/lib/gmsa-ci-keytabs' "$dropin" || fail "the drop-in does not allow the new directory"
play more-again -e "@$w/more.yml" || fail "the second run with the new variables failed"
[ "$(changed more-again)" = 0 ] || { cat "$w/more-again.log"; fail "second run: $(recap more-again)"; }
check "unquoted modes and a new keytab directory (750 root www-data), second run $(recap more-again)"

# Back to the example; a keytab in the role-made directory stands for one a service uses.
printf 'keytab' >/var/lib/gmsa-ci-keytabs/svc_aes.keytab
play absent -e gmsa_keytab_state=absent || { cat "$w/absent.log"; fail "state absent failed"; }
status=$(dpkg-query -W -f='${Status}' gmsa-keytab 2>/dev/null || true)
[[ "$status" != "install ok installed" ]] || fail "state absent left the package installed"
[ ! -e "$conf" ] && [ ! -e "$dropin" ] || fail "state absent left the config or the drop-in"
[ -f /var/lib/gmsa-ci-keytabs/svc_aes.keytab ] || fail "state absent removed a keytab"
play absent-again -e gmsa_keytab_state=absent || fail "state absent, second run, failed"
[ "$(changed absent-again)" = 0 ] || { cat "$w/absent-again.log"; fail "state absent, second run: $(recap absent-again)"; }
check "state absent: package, config and drop-in gone, keytabs kept; second run $(recap absent-again)"
rm -rf /var/lib/gmsa-ci-keytabs

play present || { cat "$w/present.log"; fail "state present after absent failed"; }
[ "$(dpkg-query -W -f='${Status}' gmsa-keytab)" = "install ok installed" ] || fail "state present did not install the package"
grep -qxF 'mode = "0640"' "$conf" || fail "state present did not write the config"
play present-again || fail "state present, second run, failed"
[ "$(changed present-again)" = 0 ] || { cat "$w/present-again.log"; fail "state present, second run: $(recap present-again)"; }
check "state present again: installed and configured; second run $(recap present-again)"

printf 'ansible-test: %d passed, 0 failed\n' "$passed"
