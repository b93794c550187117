#!/usr/bin/env bash
# Builds the .deb and the .rpm for each architecture in GMSA_ARCHS (default "amd64 arm64"):
#   target/debian/gmsa-keytab_<version>-1_amd64.deb                         (cargo-deb)
#   target/aarch64-unknown-linux-gnu/debian/gmsa-keytab_<version>-1_arm64.deb (cargo-deb --target)
#   target/rpm/gmsa-keytab-<version>-1.{x86_64,aarch64}.rpm                 (rpmbuild, packaging/rpm/gmsa-keytab.spec)
# arm64 is cross-built with Debian multiarch (packaging/cross-env.sh).
# Needs cargo-deb, rpmbuild and the cross toolchain (packaging/ci.sh installs them).
# Fails first if packaging/generated/ (man pages, completions) is out of date with the CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$HOME/.cargo/bin:$PATH"
# The default target/ directory: that is where cargo-deb puts its packages by default.
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR
# shellcheck source=packaging/cross-env.sh
. packaging/cross-env.sh
ARCHS=${GMSA_ARCHS:-amd64 arm64}
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
release=${GMSA_RPM_RELEASE:-1}

cargo xtask check

# One package of each kind and architecture in the output directories, so a glob names exactly
# the one just built.
rm -f target/debian/gmsa-keytab_*.deb "target/$ARM64_TRIPLE"/debian/gmsa-keytab_*.deb target/rpm/gmsa-keytab-*.rpm
mkdir -p target/rpm

# rpmbuild packages the files as they are (no build step): a stripped copy of the binary (the
# binary itself may be running, e.g. in the lab tests, and stays as cargo built it).
rpm_pkg() { # rpm-arch binary strip-tool
  local stripped="$root/target/rpm/gmsa-keytab.$1.stripped"
  "$3" --strip-unneeded -o "$stripped" "$2"
  # __os_install_post: no brp scripts (they would strip or compress with host tools);
  # _build_id_links none: no /usr/lib/.build-id links in the package.
  rpmbuild -bb --quiet --target "$1" \
    --define "_topdir $root/target/rpm/build" \
    --define "_rpmdir $root/target/rpm" \
    --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
    --define "gk_version $version" --define "gk_release $release" \
    --define "gk_root $root" --define "gk_binary $stripped" \
    --define "__os_install_post %{nil}" --define "debug_package %{nil}" \
    --define "_build_id_links none" \
    packaging/rpm/gmsa-keytab.spec
  rm -f "$stripped"
}

for arch in $ARCHS; do
  case "$arch" in
  amd64)
    # cargo-deb builds target/release/gmsa-keytab (release profile, --locked) and packages a
    # stripped copy of it.
    cargo deb --locked
    rpm_pkg x86_64 target/release/gmsa-keytab strip
    ;;
  arm64)
    arm64_cargo deb --locked --target "$ARM64_TRIPLE"
    rpm_pkg aarch64 "target/$ARM64_TRIPLE/release/gmsa-keytab" aarch64-linux-gnu-strip
    ;;
  *)
    echo "build.sh: unknown architecture $arch (amd64, arm64)" >&2
    exit 64
    ;;
  esac
done

ls -l target/debian/gmsa-keytab_*.deb "target/$ARM64_TRIPLE"/debian/gmsa-keytab_*.deb target/rpm/gmsa-keytab-*.rpm 2>/dev/null || true
