#!/usr/bin/env bash
# The main job on an embedded default, from a fresh Debian 12 machine (as root):
# installs the dependencies, builds gmsa-keytab, brings up the lab (a real Samba 4.22 AD DC in
# the private network namespace "gmsalab", see tests/lab/README.md), runs `gmsa-keytab sync`
# there as the lab's host1$ for the gMSA svc_web$, and shows the keytab it wrote (and MIT
# klist's view of it). The lab stays up; `bash tests/lab/lab.sh down` removes it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/lab/install-deps.sh >/dev/null
cargo build --release --locked --quiet
bash tests/lab/lab.sh up
eval "$(bash tests/lab/lab.sh env)"
out="$(mktemp -d /tmp/gmsa-demo.XXXXXX)"
cat >"$out/config.toml" <<CFG
version = 1
client-keytab = "$GMSALAB_HOST_KEYTAB"   # the lab host's own keytab (host1\$)
# No servers: the DC is found through DNS SRV, as on a real domain member.

[[account]]
name = "svc_web\$"
keytab = "$out/svc_web.keytab"
mode = "0640"
CFG
set -x
bash tests/lab/lab.sh exec ./target/release/gmsa-keytab sync --config "$out/config.toml"
./target/release/gmsa-keytab show "$out/svc_web.keytab"
KRB5_CONFIG=/dev/null klist -kte "$out/svc_web.keytab"
# MIT validates a real service ticket for the gMSA's SPN with the keytab just written:
GMSALAB_CCACHE="FILE:$out/ccache" bash tests/lab/lab.sh exec sh -c \
  "kinit -k -t '$GMSALAB_HOST_KEYTAB' 'host1\$@EXAMPLE.TEST' && kvno -k '$out/svc_web.keytab' HTTP/web.example.test"
