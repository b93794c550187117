#!/usr/bin/env bash
# Builds the .deb and the .rpm into the tools' default output directories:
#   target/debian/gmsa-keytab_<version>-1_<arch>.deb       (cargo-deb)
#   target/generate-rpm/gmsa-keytab-<version>-1.<arch>.rpm  (cargo-generate-rpm)
# Needs cargo-deb and cargo-generate-rpm (packaging/ci.sh installs the pinned versions).
# Fails first if packaging/generated/ (man pages, completions) is out of date with the CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
# The default target/ directory: that is where both tools put their packages by default.
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR

cargo xtask check

# One package of each kind in the output directories, so ./target/debian/gmsa-keytab_*.deb
# names exactly the one just built.
rm -f target/debian/gmsa-keytab_*.deb target/generate-rpm/gmsa-keytab-*.rpm

# cargo-deb builds target/release/gmsa-keytab (release profile, --locked) and packages a
# stripped copy of it.
cargo deb --locked

# cargo-generate-rpm packages files as they are: give it a stripped copy (the binary itself may
# be running, e.g. in the lab tests, and stays as cargo built it).
strip --strip-unneeded -o target/release/gmsa-keytab.stripped target/release/gmsa-keytab
cargo generate-rpm

ls -l target/debian/gmsa-keytab_*.deb target/generate-rpm/gmsa-keytab-*.rpm
