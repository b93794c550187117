#!/usr/bin/env bash
# Proves the pure core stays pure (issue 10), three ways:
#  1. its dependency tree holds no I/O stack (tokio, ldap3, OpenSSL, native-tls, libc, nix, ...);
#  2. `cargo clippy -p gmsa-core -- -D warnings` passes under crates/gmsa-core/clippy.toml;
#  3. the same rules run over tests/core-lint/, which breaks each once, and every marked line
#     must be reported: if the list stops biting (a renamed path, a clippy that ignores the
#     file), this script fails instead of passing silently.
set -euo pipefail
cd "$(dirname "$0")/.."

tree=$(cargo tree --locked -p gmsa-core -e normal --prefix none)
bad=$(grep -E '^(tokio|ldap3|openssl|openssl-sys|native-tls|libc|nix|socket2|mio|getrandom|libgssapi|gmsa-sys) ' <<<"$tree" || true)
if [ -n "$bad" ]; then
  echo "core-lint: gmsa-core depends on an I/O crate:" >&2
  echo "$bad" >&2
  exit 1
fi
echo "core-lint: gmsa-core's dependency tree is free of I/O crates ($(sort -u <<<"$tree" | wc -l) lines)"

cargo clippy --locked -p gmsa-core --all-targets -- -D warnings
echo "core-lint: gmsa-core passes its clippy.toml"

probe=tests/core-lint
out=$(CLIPPY_CONF_DIR="$PWD/crates/gmsa-core" cargo clippy --offline \
  --manifest-path "$probe/Cargo.toml" --target-dir target/core-lint -- -D warnings 2>&1) && {
  echo "$out" >&2
  echo "core-lint: clippy ACCEPTED $probe, which breaks every rule: the rules do not bite" >&2
  exit 1
}
missing=0
while IFS=: read -r line rest; do
  if ! grep -q -- "--> src/lib.rs:$line:" <<<"$out"; then
    echo "core-lint: not reported: line $line:${rest#*//}" >&2
    missing=$((missing + 1))
  fi
done < <(grep -n '// bites:' "$probe/src/lib.rs")
if [ "$missing" != 0 ]; then
  echo "$out" >&2
  echo "core-lint: $missing forbidden call(s) in $probe went unreported" >&2
  exit 1
fi
echo "core-lint: clippy rejects every one of the $(grep -c '// bites:' "$probe/src/lib.rs") forbidden calls in $probe"
