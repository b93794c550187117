#!/usr/bin/env bash
# The TLS paths against the sealed one, interleaved: round after round, one `sync --force` of
# the same gMSA over sealed LDAP, LDAPS and StartTLS (ca-file = the lab DC's CA), in a rotating
# order, each timed (wall, and user + sys CPU from wait4). On a shared machine the load moves
# within seconds, so hyperfine's consecutive blocks (benches/sync.sh) can compare a quiet
# minute with a busy one; here every round sees the same load, and the medians of the
# per-round ratios are what to read. Not a test. Needs root and the lab (tests/lab/lab.sh).
#   bash benches/tls-ratio.sh [ROUNDS]     (default 40; a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-40}"
. benches/lab-env.sh tls-ratio
for p in seal ldaps starttls; do
  {
    printf 'version = 1\nclient-keytab = "%s"\nservers = ["dc1.example.test"]\n' "$GMSALAB_HOST_KEYTAB"
    printf 'protection = "%s"\n' "$p"
    [ "$p" = seal ] || printf 'ca-file = "%s/dc/private/tls/ca.pem"\n' "$GMSALAB_RUN"
    printf 'state-dir = "%s/state-%s"\n[[account]]\nname = "svc_web$"\nkeytab = "%s/%s.keytab"\n' \
      "$work" "$p" "$work" "$p"
  } >"$work/$p.toml"
done
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
bash "$lab" exec /usr/bin/python3 - "$bin" "$work" "$rounds" <<'PY'
import os, statistics, subprocess, sys, time
bin, work, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
modes = ["seal", "ldaps", "starttls"]
def run(mode):
    t0 = time.perf_counter()
    p = subprocess.Popen([bin, "sync", "--force", "--config", f"{work}/{mode}.toml"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{mode}: sync failed")
    return wall * 1e3, (ru.ru_utime + ru.ru_stime) * 1e3
for m in modes:  # warm-up, and the keytabs exist from here on
    run(m)
wall = {m: [] for m in modes}
cpu = {m: [] for m in modes}
for i in range(rounds):
    order = modes[i % 3:] + modes[:i % 3]
    for m in order:
        w, c = run(m)
        wall[m].append(w)
        cpu[m].append(c)
print(f"{rounds} interleaved rounds of sync --force, 1 gMSA")
print("| path | wall median (ms) | wall mean (ms) | CPU median (ms) | median of per-round ratios to sealed |")
print("|---|---|---|---|---|")
for m in modes:
    ratios = [a / b for a, b in zip(wall[m], wall["seal"])]
    print(f"| {m} | {statistics.median(wall[m]):.1f} | {statistics.mean(wall[m]):.1f} | "
          f"{statistics.median(cpu[m]):.1f} | {statistics.median(ratios):.2f} |")
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
