# Sourced by packaging/build.sh and packaging/arm64-test.sh: the environment that cross-builds
# gmsa-keytab for aarch64-unknown-linux-gnu on an amd64 Debian 12 with multiarch
# (gcc-aarch64-linux-gnu, libkrb5-dev:arm64, libssl-dev:arm64; packaging/ci.sh installs them).
ARM64_TRIPLE=aarch64-unknown-linux-gnu
# The arm64 sysroot qemu-user loads the dynamic loader and libraries from (multiarch keeps the
# arm64 libraries in /usr/lib/aarch64-linux-gnu and the loader in /lib/ld-linux-aarch64.so.1).
ARM64_QEMU=(qemu-aarch64-static -L /)
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64-static -L /"
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
# pkg-config finds the arm64 .pc files only (libkrb5 for libgssapi-sys, OpenSSL for openssl-sys).
# Only target-suffixed variables: build scripts rerun when a variable they read changes, and the
# amd64 build (and its cache) must not see any change.
export PKG_CONFIG_ALLOW_CROSS_aarch64_unknown_linux_gnu=1
export PKG_CONFIG_LIBDIR_aarch64_unknown_linux_gnu=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig
# libgssapi-sys runs bindgen: clang must parse the headers as aarch64 (type sizes, the
# multiarch include directory /usr/include/aarch64-linux-gnu).
export BINDGEN_EXTRA_CLANG_ARGS_aarch64_unknown_linux_gnu="--target=aarch64-linux-gnu"
# Cargo for arm64. libgssapi-sys skips pkg-config when cross-compiling and looks for the library
# in the host's directories; LIBGSSAPI_IMPL=mit names MIT and links gssapi_krb5, which the
# cross linker finds in /usr/lib/aarch64-linux-gnu. Set only here, for the same reason.
arm64_cargo() {
  LIBGSSAPI_IMPL=mit cargo "$@"
}
