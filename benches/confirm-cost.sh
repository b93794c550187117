#!/usr/bin/env bash
# Benchmark against the lab DC (not a test): what the KDC's confirmation of the keys (the salt
# probe, an AS-REQ without pre-authentication, and the ticket check, a TGS-REQ for the account
# and one decryption) adds to a sync, for 1 and 50 gMSAs. Rows: this checkout's binary, the
# same with salt-probe = false (ticket check only) and, when BASE_BIN names a binary built
# before the check existed (e.g. from commit ed5d9d6), that binary. Also counts the TCP
# connections to port 88 per sync (strace). Needs root and the lab (tests/lab/lab.sh).
#   BASE_BIN=/path/to/old/gmsa-keytab bash benches/confirm-cost.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-30}"
. benches/lab-env.sh bench

conf() { # NAME ACCOUNTS...
  local name=$1
  shift
  {
    printf 'version = 1\nclient-keytab = "%s"\nservers = ["dc1.example.test"]\n' "$GMSALAB_HOST_KEYTAB"
    printf 'state-dir = "%s/state-%s"\n' "$work" "$name"
    [ "${name#*-}" = noprobe ] && printf 'salt-probe = false\n'
    for a in "$@"; do
      printf '[[account]]\nname = "%s"\nkeytab = "%s/%s-%s.keytab"\n' "$a" "$work" "$name" "${a%$}"
    done
  } >"$work/$name.toml"
}
fifty=()
for i in $(seq -w 1 50); do fifty+=("svc_bulk$i\$"); done
for v in new noprobe base; do
  conf "one-$v" 'svc_web$'
  conf "fifty-$v" "${fifty[@]}"
done

args=(-n "sync --force, 1 gMSA (checked)" "$bin sync --force --config $work/one-new.toml"
  -n "sync --force, salt-probe = false, 1 gMSA" "$bin sync --force --config $work/one-noprobe.toml")
[ -n "${BASE_BIN:-}" ] && args+=(-n "sync --force, 1 gMSA (before the check)" "$BASE_BIN sync --force --config $work/one-base.toml")
args+=(-n "sync --force, 50 gMSAs (checked)" "$bin sync --force --config $work/fifty-new.toml"
  -n "sync --force, salt-probe = false, 50 gMSAs" "$bin sync --force --config $work/fifty-noprobe.toml")
[ -n "${BASE_BIN:-}" ] && args+=(-n "sync --force, 50 gMSAs (before the check)" "$BASE_BIN sync --force --config $work/fifty-base.toml")

bash "$lab" exec hyperfine -N --warmup 2 --runs "$runs" --export-json "$work/bench.json" "${args[@]}" >/dev/null
/usr/bin/python3 - "$work/bench.json" <<'PY' | tee "$work/table.md"
import json, sys
r = json.load(open(sys.argv[1]))["results"]
print("| command | wall mean ± σ (ms) | CPU user + sys (ms) |\n|---|---|---|")
for x in r:
    print(f"| {x['command']} | {x['mean']*1e3:.1f} ± {x['stddev']*1e3:.1f} | {(x['user']+x['system'])*1e3:.1f} |")
PY
# KDC connections per sync (each is one request and its reply).
for v in new noprobe; do
  n=$(bash "$lab" exec strace -f -e trace=connect -o "$work/trace-$v" "$bin" sync --force \
    --config "$work/one-$v.toml" >/dev/null 2>&1; grep -c 'sin_port=htons(88)' "$work/trace-$v" || true)
  echo "port-88 connections, 1 gMSA, one-$v.toml: $n"
done
if [ -n "${BASE_BIN:-}" ]; then
  bash "$lab" exec strace -f -e trace=connect -o "$work/trace-base" "$BASE_BIN" sync --force \
    --config "$work/one-base.toml" >/dev/null 2>&1 || true
  echo "port-88 connections, 1 gMSA, before the check: $(grep -c 'sin_port=htons(88)' "$work/trace-base" || true)"
fi
mkdir -p target
cp "$work/table.md" target/bench-confirm.md
