#!/usr/bin/env bash
# Benchmark against the lab DC (not a test): wall and CPU time of `gmsa-keytab sync` for one
# gMSA (sealed LDAP, LDAPS and StartTLS with the DC's CA as ca-file) and for 50 gMSAs, side by
# side with `kinit -k` + `ldapsearch -Y GSSAPI` fetching the same blob, in the same run; then
# the TLS paths' ratio to the sealed one. Needs root and the lab (tests/lab/lab.sh); prints a markdown
# table (also written to target/bench-sync.md).
#   bash benches/sync.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-30}"
. benches/lab-env.sh bench

{
  printf 'version = 1\nclient-keytab = "%s"\nservers = ["dc1.example.test"]\n' "$GMSALAB_HOST_KEYTAB"
  printf 'state-dir = "%s/state-one"\n' "$work"
  printf '[[account]]\nname = "svc_web$"\nkeytab = "%s/one.keytab"\n' "$work"
} >"$work/one.toml"
# The same account over TLS; the lab DC's certificate is signed by Samba's own CA.
for p in ldaps starttls; do
  {
    printf 'version = 1\nclient-keytab = "%s"\nservers = ["dc1.example.test"]\n' "$GMSALAB_HOST_KEYTAB"
    printf 'protection = "%s"\nca-file = "%s/dc/private/tls/ca.pem"\n' "$p" "$GMSALAB_RUN"
    printf 'state-dir = "%s/state-%s"\n' "$work" "$p"
    printf '[[account]]\nname = "svc_web$"\nkeytab = "%s/%s.keytab"\n' "$work" "$p"
  } >"$work/$p.toml"
done
{
  printf 'version = 1\nclient-keytab = "%s"\nservers = ["dc1.example.test"]\n' "$GMSALAB_HOST_KEYTAB"
  printf 'state-dir = "%s/state-fifty"\n' "$work"
  for i in $(seq -w 1 50); do
    printf '[[account]]\nname = "svc_bulk%s$"\nkeytab = "%s/bulk%s.keytab"\n' "$i" "$work" "$i"
  done
} >"$work/fifty.toml"

# The peer route: a fresh credential cache each time, like a tool that shells out.
cat >"$work/peer.sh" <<PEER
#!/bin/sh
set -e
export KRB5CCNAME=FILE:$work/peer.ccache
kinit -k -t "$GMSALAB_HOST_KEYTAB" 'host1\$@EXAMPLE.TEST'
ldapsearch -Q -LLL -Y GSSAPI -H ldap://dc1.example.test -b DC=example,DC=test \
  '(sAMAccountName=svc_web\$)' msDS-ManagedPassword >/dev/null
ldapsearch -Q -LLL -Y GSSAPI -H ldap://dc1.example.test -b DC=example,DC=test \
  '(sAMAccountName=svc_web\$)' msDS-KeyVersionNumber >/dev/null
kdestroy
PEER
chmod +x "$work/peer.sh"

# The first run of each writes the keytabs; the timed runs then measure the steady state
# (full DC round trip, derivation, compare, no write). --force skips the refresh schedule.
# The last row is what most timer ticks are: nothing due, no network I/O at all.
bash "$lab" exec hyperfine -N --warmup 2 --runs "$runs" --export-markdown "$work/table.md" \
  --export-json "$work/bench.json" \
  -n "gmsa-keytab sync --force, 1 gMSA" "$bin sync --force --config $work/one.toml" \
  -n "gmsa-keytab sync --force, 1 gMSA, LDAPS" "$bin sync --force --config $work/ldaps.toml" \
  -n "gmsa-keytab sync --force, 1 gMSA, StartTLS" "$bin sync --force --config $work/starttls.toml" \
  -n "gmsa-keytab sync --force, 50 gMSAs" "$bin sync --force --config $work/fifty.toml" \
  -n "kinit -k + ldapsearch -Y GSSAPI, 1 gMSA" "$work/peer.sh" \
  -n "gmsa-keytab sync, timer tick with nothing due (50 gMSAs)" "$bin sync --config $work/fifty.toml"
# CPU time (user + system) per command, from hyperfine's JSON.
/usr/bin/python3 - "$work/bench.json" >"$work/cpu.md" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
print("| command | wall mean ± σ (ms) | CPU user + sys (ms) |\n|---|---|---|")
for x in r:
    print(f"| {x['command']} | {x['mean']*1e3:.1f} ± {x['stddev']*1e3:.1f} | {(x['user']+x['system'])*1e3:.1f} |")
# The TLS paths against the sealed one, same run (wall-time means; the goal is at most 1.3).
seal = r[0]["mean"]
print()
for x in r[1:3]:
    print(f"{x['command'].rsplit(', ', 1)[1]} / sealed: {x['mean'] / seal:.2f}")
PY
mkdir -p target
cat "$work/cpu.md" | tee target/bench-sync.md
