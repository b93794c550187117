#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine, as root:
#   installs what the tests need (apt, cargo tools), then runs formatting and lint checks,
#   unit and integration tests, MIT krb5 interop, the Samba AD DC lab end-to-end tests (with the
#   Java, python-gssapi and Heimdal keytab consumers), the
#   packages (.deb installed and run, .rpm listed, units verified, the service sandbox under a
#   private systemd, the Ansible role applied twice) and a bounded fuzz pass. This is the README's test command; .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS="${FUZZ_SECONDS:-30}"
passed=0
step() { printf '\n=== %s\n' "$*"; }
ok() { passed=$((passed + 1)); }

if [ "$(id -u)" != 0 ]; then
  echo "run-all: run as root (installs packages, creates a network namespace for the lab DC)" >&2
  exit 1
fi

step "install system packages"
bash tests/lab/install-deps.sh
ok

step "install cargo tools"
export PATH="$HOME/.cargo/bin:$PATH"
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz@0.13.2
ok

step "format and lint"
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
ok

step "the pure core: no I/O crates, its clippy.toml passes and bites (tests/core-lint.sh)"
bash tests/core-lint.sh
ok

step "unit, integration and MIT interop tests"
cargo test --locked
# Unit tests that need root (chown to another user); ignored in a developer's plain run.
cargo test --locked --lib -- --ignored owner_and_group_are_applied
ok

step "monitoring: the Prometheus alerting rules (promtool check and test)"
bash tests/promtool.sh
ok

step "lab: real Samba AD DC end-to-end tests"
if ls tests/lab_*.rs >/dev/null 2>&1; then
  trap 'bash tests/lab/lab.sh down >/dev/null 2>&1 || true' EXIT
  cargo test --locked --release --test 'lab_*' -- --ignored --test-threads=1
fi
ok

step "packaging: .deb and .rpm, man pages, units, Ansible role"
bash packaging/ci.sh
ok

step "packaging: the service's sandbox under a private systemd (lab DC)"
bash packaging/sandbox-test.sh
ok

step "fuzz: ${FUZZ_SECONDS}s per target"
bash tests/fuzz.sh "$FUZZ_SECONDS"
ok

printf '\nrun-all: %d passed, 0 failed\n' "$passed"
