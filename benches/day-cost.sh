#!/usr/bin/env bash
# What the shipped timer and service cost a host per day: CPU seconds, journal lines when
# nothing changes, DC connections. Runs the shipped units under a private systemd inside the
# lab (tests/lab/private-systemd.sh) with this build's binary, against the lab DC:
#   1. query runs: `systemctl start` with the state removed (a full read of svc_web$ that
#      changes nothing), REPEAT times: the unit's CPUUsageNSec;
#   2. idle ticks: the timer, with only its interval shortened to TICK seconds so that TICKS
#      activations take minutes instead of hours (what one tick does does not depend on the
#      interval): per activation, the unit's CPUUsageNSec, PID 1's and journald's CPU, journal
#      lines (all of them, any unit) and TCP connections accepted in the lab namespace (the DC);
#   3. the same idle ticks with LogLevelMax=info (the setting before this change), for the
#      journal lines it saves.
# Then per day, for the shipped timer (PER_DAY activations at most: 86400 s / OnUnitActiveSec,
# the host's fixed delay only lengthens the period) and DC_READS reads per gMSA per day (the
# schedule's, see README "Running from a timer"):
#   CPU = PER_DAY x idle tick + DC_READS x (query run - idle tick),
#   journal lines = PER_DAY x lines per tick.
#
# Usage (root): cargo build --release && bash benches/day-cost.sh [TICKS] [TICK] [REPEAT]
# Needs GMSALAB_NETNS for your lab namespace if not the default; brings the lab up.
set -euo pipefail
cd "$(dirname "$0")/.."
TICKS=${1:-12}
TICK=${2:-10}
REPEAT=${3:-5}
DC_READS=${DC_READS:-2.5}
# Activations per day of the shipped timer at most (its interval without the fixed delay).
interval_us=$(systemd-analyze timespan "$(sed -n 's/^OnUnitActiveSec=//p' systemd/gmsa-keytab.timer)" | awk '/μs:/ { print $2 }')
PER_DAY=$((86400 * 1000000 / interval_us))
BIN=$(readlink -f target/release/gmsa-keytab)
[ "$(id -u)" = 0 ] || { echo "day-cost: run as root" >&2; exit 1; }
[ -x "$BIN" ] || { echo "day-cost: build first: cargo build --release" >&2; exit 1; }
LAB=tests/lab/lab.sh
bash $LAB up >/dev/null
eval "$(bash $LAB env)"
[ -z "${FAKETIME:-}" ] || { echo "day-cost: the lab runs under faketime; restart it on the real clock" >&2; exit 1; }

. tests/lab/private-systemd.sh
W=$(mktemp -d /tmp/gmsa-daycost.XXXXXX)
trap 'ps_cleanup; rm -rf "$W"' EXIT
ps_init "$W" "$BIN"
install -m 0600 "$GMSALAB_HOST_KEYTAB" "$W"/gmsa-etc/host1.keytab
install -m 0644 "$KRB5_CONFIG" "$W"/gmsa-etc/krb5.conf
cat >"$W"/gmsa-etc/config.toml <<EOF
version = 1
client-keytab = "/etc/gmsa-keytab/host1.keytab"
servers = ["dc1.example.test"]

[[account]]
name = "svc_web\$"
keytab = "/etc/gmsa-keytab/svc_web.keytab"
EOF
U="$W"/etc-systemd/system
cp systemd/gmsa-keytab.service systemd/gmsa-keytab.timer "$U"/
mkdir -p "$U"/gmsa-keytab.service.d "$U"/gmsa-keytab.timer.d
printf '[Unit]\nStartLimitIntervalSec=0\n[Service]\nEnvironment=KRB5_CONFIG=/etc/gmsa-keytab/krb5.conf\n' >"$U"/gmsa-keytab.service.d/lab.conf
# The timer stays active through the measurements (an inactive oneshot nothing refers to is
# unloaded, and its CPUUsageNSec with it); during phase 1 it does not fire.
timer_every() { # first tick N s after the timer starts, then every M s
  cat >"$U"/gmsa-keytab.timer.d/fast.conf <<EOF
[Timer]
OnBootSec=
OnActiveSec=$1s
OnUnitActiveSec=$2s
RandomizedDelaySec=0
AccuracySec=1s
EOF
}
timer_every 86400 86400
ps_boot
inside systemctl start gmsa-keytab.timer

unit_cpu_ns() { inside systemctl show -p CPUUsageNSec --value gmsa-keytab.service; }
proc_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
journald_pid() { inside systemctl show -p MainPID --value systemd-journald.service; }
tcp_opens() { ip netns exec "$GMSALAB_NETNS" awk '/^Tcp:/ { n++; if (n == 2) print $6 }' /proc/net/snmp; }
ms() { awk -v ns="$1" 'BEGIN { printf "%.2f", ns / 1e6 }'; }

# --- 1. Query runs ----------------------------------------------------------------------------
inside systemctl start gmsa-keytab.service # the first sync writes the keytab
q_total=0
q_opens0=$(tcp_opens)
for _ in $(seq "$REPEAT"); do
  rm -f "$W"/state/state.json
  inside systemctl start gmsa-keytab.service
  q_total=$((q_total + $(unit_cpu_ns)))
done
q_opens=$(($(tcp_opens) - q_opens0))
q_ns=$((q_total / REPEAT))
echo "query run (read svc_web\$, keytab unchanged): $(ms "$q_ns") ms CPU (unit, mean of $REPEAT), $((q_opens / REPEAT)) TCP connections to the DC each"
inside systemctl stop gmsa-keytab.timer
timer_every 1 "$TICK"

# --- 2./3. Idle ticks ---------------------------------------------------------------------------
# Nothing polls PID 1 during an idle phase (every D-Bus call would add to its CPU): the phase
# lasts as long as TICKS activations take, and the unit's CPU is that of system.slice (which
# keeps the usage of the unit's removed cgroups) minus journald's.
slice_usec() { awk '/^usage_usec/ { print $2 }' "$PS_CGDIR/system.slice/cpu.stat"; }
idle_phase() { # label
  local label=$1 hz pid1_0 jd jd_0 sl_0 opens_0 cursor lines lines_u finished
  hz=$(getconf CLK_TCK)
  inside systemctl daemon-reload
  cursor=$(inside journalctl -n 0 --show-cursor --no-pager | sed -n 's/^-- cursor: //p')
  jd=$(journald_pid)
  pid1_0=$(proc_cpu_ticks "$PS_PID1")
  jd_0=$(proc_cpu_ticks "$jd")
  sl_0=$(slice_usec)
  opens_0=$(tcp_opens)
  # Activations are counted from outside, without asking PID 1: the unit's cgroup exists
  # while a run lasts (tens of milliseconds), so a 5 ms poll sees each one appear.
  (
    n=0 was=0
    while [ ! -e "$W/stop-count" ]; do
      if [ -d "$PS_CGDIR/system.slice/gmsa-keytab.service" ]; then
        [ "$was" = 1 ] || n=$((n + 1))
        was=1
      else
        was=0
      fi
      sleep 0.005
    done
    echo "$n" >"$W/count"
  ) &
  local counter=$!
  inside systemctl start gmsa-keytab.timer
  # Ticks at 1, 1+TICK, ... (a little more, each period also holds the run itself).
  sleep "$(awk -v n="$TICKS" -v t="$TICK" 'BEGIN { print 1 + (n - 0.5) * t }')"
  inside systemctl stop gmsa-keytab.timer
  touch "$W/stop-count"
  wait "$counter"
  rm -f "$W/stop-count"
  local n
  n=$(cat "$W/count")
  local pid1_d=$(($(proc_cpu_ticks "$PS_PID1") - pid1_0)) jd_d=$(($(proc_cpu_ticks "$jd") - jd_0))
  local sl_d=$(($(slice_usec) - sl_0)) opens=$(($(tcp_opens) - opens_0))
  sleep 1 # let journald store the last lines
  lines=$(inside journalctl --after-cursor "$cursor" --no-pager -q -o cat | grep -c . || true)
  # About the service (the timer's own lines are this script starting and stopping it).
  lines_u=$(inside journalctl --after-cursor "$cursor" --no-pager -q -o cat -u gmsa-keytab.service | grep -c . || true)
  finished=$(inside journalctl --after-cursor "$cursor" --no-pager -q -o cat -u gmsa-keytab.service | grep -c '^Started ' || true)
  awk -v n="$n" -v sl="$sl_d" -v p1="$pid1_d" -v jd="$jd_d" -v hz="$hz" -v q="$q_ns" -v reads="$DC_READS" \
    -v per="$PER_DAY" -v lines="$lines" -v lu="$lines_u" -v opens="$opens" -v label="$label" -v fin="$finished" 'BEGIN {
      jd_ms = jd * 1000 / hz; unit_ms = (sl / 1000 - jd_ms) / n; p1_ms = p1 * 1000 / hz / n
      printf "idle tick, %s (%d activations counted%s): unit %.1f ms CPU, PID 1 %.1f ms, journald %.1f ms; %d journal lines (%d about the service), %d TCP connections to the DC\n",
        label, n, (fin > 0 ? ", " fin " \"Started\" lines" : ""), unit_ms, p1_ms, jd_ms / n, lines, lu, opens
      printf "  per day (%d activations, %s reads): unit %.2f s CPU, with PID 1 and journald %.2f s; %d journal lines about the service; %d idle DC connections\n",
        per, reads, (per * unit_ms + reads * (q / 1e6 - unit_ms)) / 1000, (per * (unit_ms + p1_ms + jd_ms / n) + reads * (q / 1e6 - unit_ms)) / 1000,
        per * lu / n, per * opens / n }'
  inside journalctl --after-cursor "$cursor" --no-pager -q -o short-monotonic | head -n 8 | sed 's/^/    journal: /'
}
idle_phase "LogLevelMax=notice (shipped)"
printf '[Service]\nLogLevelMax=info\n' >"$U"/gmsa-keytab.service.d/verbose.conf
idle_phase "LogLevelMax=info"
