#!/usr/bin/env bash
# The arm64 (aarch64-unknown-linux-gnu) build, run here under qemu-user:
# - the offline tests of the binary (derive/show vectors, MIT krb5 interop: tests/cli_derive.rs,
#   tests/mit_interop.rs) against the arm64 gmsa-keytab: the host's test harness starts the
#   binary GMSA_KEYTAB_BIN names, which the kernel runs through qemu (binfmt_misc); MIT's tools
#   stay native. (Building the test harness itself for arm64 would cost a second cross build
#   of about ten minutes and test the same binary.)
# - one `sync` by the arm64 binary against the lab DC in the lab's namespace, for an AES-only
#   and an AES+RC4 gMSA, with every key judged by MIT `kvno -k` and `kinit -k`.
# Needs root, packaging/build.sh run first (the arm64 release binary), the cross toolchain and
# binfmt registration from packaging/ci.sh, and the lab's packages (tests/lab/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$HOME/.cargo/bin:$PATH"
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR
# shellcheck source=packaging/cross-env.sh
. packaging/cross-env.sh
bin=$root/target/$ARM64_TRIPLE/release/gmsa-keytab
fail() {
  echo "arm64-test: FAILED: $*" >&2
  exit 1
}
[ -x "$bin" ] || fail "$bin is missing: run packaging/build.sh first"
[[ "$(file -b "$bin")" == *"ARM aarch64"* ]] || fail "$bin is not an aarch64 binary"
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || fail "qemu-aarch64 is not registered with binfmt_misc (packaging/ci.sh does it)"

echo "--- the arm64 binary under qemu-user"
"${ARM64_QEMU[@]}" "$bin" --version
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
[ "$("$bin" --version)" = "gmsa-keytab $version" ] || fail "the arm64 binary (through binfmt) is not $version"

echo "--- the offline tests against the arm64 binary, under qemu-user"
GMSA_KEYTAB_BIN=$bin cargo test --locked --test cli_derive --test mit_interop

echo "--- sync against the lab DC with the arm64 binary"
run=$root/tests/lab/run
# A lab left on a shifted clock by the rotation test goes back to the real clock.
if [ -s "$run/faketime" ]; then bash tests/lab/lab.sh down; fi
bash tests/lab/lab.sh up
s=$(mktemp -d /tmp/gmsa-arm64.XXXXXX)
trap 'rm -rf "$s"' EXIT
cat >"$s/config.toml" <<EOF
version = 1
client-keytab = "$run/host1.keytab"
state-dir = "$s/state"
servers = ["dc1.example.test"]

[[account]]
name = "svc_web\$"
keytab = "$s/web.keytab"

[[account]]
name = "svc_aes\$"
keytab = "$s/aes.keytab"
EOF
export GMSALAB_CCACHE="FILE:$s/ccache"
bash tests/lab/lab.sh exec "${ARM64_QEMU[@]}" "$bin" sync --config "$s/config.toml"
"$bin" show "$s/web.keytab"
bash tests/lab/lab.sh exec kinit -k -t "$run/host1.keytab" 'host1$@EXAMPLE.TEST'
for pair in web:HTTP/web.example.test web:HTTP/web aes:HTTP/aes.example.test; do
  kt=$s/${pair%%:*}.keytab spn=${pair#*:}
  out=$(bash tests/lab/lab.sh exec kvno -k "$kt" "$spn")
  echo "$out"
  [[ "$out" == *"keytab entry valid"* ]] || fail "kvno -k $spn with the arm64 keytab: $out"
done
# The account's own keys, one enctype at a time.
for et in aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96 rc4-hmac; do
  sed "s/\[libdefaults\]/[libdefaults]\n\tdefault_tkt_enctypes = $et\n\tpermitted_enctypes = $et/" \
    "$run/krb5.conf" >"$s/krb5-$et.conf"
  GMSALAB_KRB5_CONFIG="$s/krb5-$et.conf" GMSALAB_CCACHE="FILE:$s/ccache-web" \
    bash tests/lab/lab.sh exec kinit -k -t "$s/web.keytab" 'svc_web$@EXAMPLE.TEST' ||
    fail "kinit -k svc_web\$ with $et from the arm64 keytab"
done
echo "arm64-test: offline tests and a lab sync validated by kvno -k and kinit -k: ok"
