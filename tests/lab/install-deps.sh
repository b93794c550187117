#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian 12 (bookworm) machine, as root.
# Idempotent: re-running it only checks that each piece is present.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

# Samba >= 4.21 is needed for gMSA support on the DC; bookworm itself ships 4.17, backports 4.22.
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  cat >/etc/apt/sources.list.d/bookworm-backports.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

need_apt=0
for cmd in samba-tool samba_spnupdate kinit klist ktutil kvno ldapsearch faketime ldbmodify ldbsearch host clang pkg-config ip; do
  command -v "$cmd" >/dev/null 2>&1 || need_apt=1
done
[ -x /usr/sbin/samba ] || need_apt=1
[ -e /usr/include/gssapi/gssapi_krb5.h ] || need_apt=1
[ -e /usr/include/openssl/ssl.h ] || need_apt=1
command -v strace >/dev/null 2>&1 || need_apt=1
# tests/hostile*.rs: peak RSS from /usr/bin/time -v; unshare -rn (util-linux) for the hostile KDC.
[ -x /usr/bin/time ] || need_apt=1
command -v unshare >/dev/null 2>&1 || need_apt=1
command -v hyperfine >/dev/null 2>&1 || need_apt=1
[ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 ] || need_apt=1
# tests/lab/lab.sh: SASL GSSAPI for ldapsearch -Y GSSAPI; python3-samba in the system python for populate.py.
[ -e /usr/lib/x86_64-linux-gnu/sasl2/libgssapiv2.so.2 ] || need_apt=1
/usr/bin/python3 -c 'import samba.domain.models' 2>/dev/null || need_apt=1
# tests/lab_consumers.rs: a Java acceptor (JAAS + GSSContext) and a python-gssapi acceptor.
command -v java >/dev/null 2>&1 || need_apt=1
/usr/bin/python3 -c 'import gssapi' 2>/dev/null || need_apt=1

if [ "$need_apt" = 1 ]; then
  apt-get update -q
  # Build deps for the MIT GSSAPI bindings (bindgen needs libclang).
  apt-get install -y -q --no-install-recommends \
    libkrb5-dev libssl-dev pkg-config libclang-dev clang iproute2 ca-certificates
  # Test and benchmark tools: strace proves sync runs no subprocess; hyperfine times runs.
  apt-get install -y -q --no-install-recommends strace hyperfine time util-linux
  # The lab DC and the MIT tools that judge the keys.
  apt-get install -y -q --no-install-recommends -t bookworm-backports \
    samba samba-ad-dc samba-ad-provision samba-dsdb-modules winbind krb5-user ldap-utils libsasl2-modules-gssapi-mit \
    dnsutils faketime ldb-tools python3-samba
  # The keytab consumers of tests/lab_consumers.rs (OpenJDK 17 on bookworm).
  apt-get install -y -q --no-install-recommends default-jdk-headless python3-gssapi
fi

# Heimdal's client tools for tests/lab_consumers.rs. heimdal-clients conflicts with MIT's
# krb5-user on Debian, so the packages are downloaded and unpacked into /opt/gmsa-heimdal (run
# from there with LD_LIBRARY_PATH), never installed.
HEIMDAL_ROOT=/opt/gmsa-heimdal
HEIMDAL_DEBS=(heimdal-clients libasn1-8-heimdal libgssapi3-heimdal libhcrypto5-heimdal libhdb9-heimdal
  libheimbase1-heimdal libheimntlm0-heimdal libhx509-5-heimdal libkadm5clnt7-heimdal libkadm5srv8-heimdal
  libkafs0-heimdal libkrb5-26-heimdal libotp0-heimdal libroken19-heimdal libsl0-heimdal libwind0-heimdal)
if [ ! -x "$HEIMDAL_ROOT/usr/bin/kinit.heimdal" ] || [ ! -x "$HEIMDAL_ROOT/usr/bin/ktutil.heimdal" ]; then
  dl=$(mktemp -d)
  # _apt downloads into the directory; it must be able to write there.
  chown _apt "$dl" 2>/dev/null || true
  (cd "$dl" && apt-get download -q "${HEIMDAL_DEBS[@]}") || {
    apt-get update -q
    (cd "$dl" && apt-get download -q "${HEIMDAL_DEBS[@]}")
  }
  rm -rf "$HEIMDAL_ROOT.tmp"
  mkdir -p "$HEIMDAL_ROOT.tmp"
  for deb in "$dl"/*.deb; do dpkg-deb -x "$deb" "$HEIMDAL_ROOT.tmp"; done
  rm -rf "$dl" "$HEIMDAL_ROOT"
  mv "$HEIMDAL_ROOT.tmp" "$HEIMDAL_ROOT"
fi
missing=$(for b in kinit ktutil; do
  LD_LIBRARY_PATH="$HEIMDAL_ROOT/usr/lib/x86_64-linux-gnu" ldd "$HEIMDAL_ROOT/usr/bin/$b.heimdal"
done | grep 'not found' || true)
[ -z "$missing" ] || {
  echo "install-deps: the unpacked Heimdal lacks libraries: $missing" >&2
  exit 1
}

# promtool for tests/promtool.sh (the alerting rules under packaging/prometheus/): unpacked from
# Debian's prometheus package into /opt/gmsa-promtool, never installed, so no Prometheus server
# is set up or started on the machine.
PROMTOOL_ROOT=/opt/gmsa-promtool
if [ ! -x "$PROMTOOL_ROOT/usr/bin/promtool" ]; then
  dl=$(mktemp -d)
  chown _apt "$dl" 2>/dev/null || true
  (cd "$dl" && apt-get download -q prometheus) || {
    apt-get update -q
    (cd "$dl" && apt-get download -q prometheus)
  }
  rm -rf "$PROMTOOL_ROOT.tmp"
  mkdir -p "$PROMTOOL_ROOT.tmp"
  dpkg-deb -x "$dl"/prometheus_*.deb "$PROMTOOL_ROOT.tmp"
  rm -rf "$dl" "$PROMTOOL_ROOT"
  mv "$PROMTOOL_ROOT.tmp" "$PROMTOOL_ROOT"
fi
"$PROMTOOL_ROOT/usr/bin/promtool" --version >/dev/null

/usr/sbin/samba --version | grep -Eq 'Version 4\.(2[1-9]|[3-9][0-9])' || {
  echo "install-deps: samba >= 4.21 is required for gMSA support, got: $(/usr/sbin/samba --version)" >&2
  exit 1
}
