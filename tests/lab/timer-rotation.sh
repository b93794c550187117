#!/usr/bin/env bash
# A gMSA password rotation under the REAL timer and service: a private systemd (PID 1 of new
# pid, mount and cgroup namespaces inside the lab's network namespace, as in
# packaging/sandbox-test.sh) runs four simulated hosts, each a copy of the shipped
# gmsa-keytab.{service,timer} with its own config, state, keytab and /etc/machine-id
# (BindReadOnlyPaths=), the lab DC and every client on a clock shifted so that the svc_web$
# epoch ends about 5.5 minutes after the start. A checker gets fresh service tickets
# (`kvno -k <host's keytab> HTTP/web.example.test`, new ccache each round) from 100 s before
# until 100 s after the end.
#
# The hosts, each synced once by hand (no linger) about 335 s before the end, so that their
# state plans the read inside the last five minutes; then their timers tick once (first tick,
# OnBootSec=) at:
#   h1: end - 310 s  before the window: nothing is due, the run lingers until its planned read
#   h2: end - 180 s  inside the window: reads at once or lingers briefly (depends on its jitter)
#   h3: end -  45 s  after any planned read: reads at once
#   h4: end +  40 s  "off" through the window: catches up at its first tick after boot
# Expected: h1-h3 reject no ticket, before or after the rollover (kvno 1, then kvno 2); h4
# rejects kvno 2 tickets until its catch-up (the control: the checker does see a gap), then
# accepts them.
# The timers are the shipped ones except for the phase: a drop-in sets OnBootSec= and
# RandomizedDelaySec=0 so that each host's first tick lands at a chosen instant (the shipped
# fixed random delay only shifts the phase; crates/gmsa-core/src/schedule_sim.rs covers every phase and delay).
#
# Usage: timer-rotation.sh GMSA_KEYTAB_BINARY   (root; brings the lab up; about 7 minutes)
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=$(readlink -f "${1:?usage: timer-rotation.sh GMSA_KEYTAB_BINARY}")
[ "$(id -u)" = 0 ] || { echo "timer-rotation: run as root" >&2; exit 1; }
[ -x "$BIN" ] || { echo "timer-rotation: $BIN is not executable" >&2; exit 1; }
LAB=tests/lab/lab.sh
SPN=HTTP/web.example.test
LEAD=340 # seconds from the private systemd's start to the epoch end
# name:first tick relative to the end (seconds)
HOSTS=(h1:-310 h2:-180 h3:-45 h4:40)

say() { printf 'timer-rotation: %s\n' "$*"; }
fail() { printf 'timer-rotation: FAILED: %s\n' "$*" >&2; exit 1; }

# A pristine domain (svc_web$ at kvno 1) on the real clock.
bash $LAB down >/dev/null 2>&1 || true
bash $LAB up >/dev/null
eval "$(bash $LAB env)"

. tests/lab/private-systemd.sh
W=$(mktemp -d /tmp/gmsa-timer.XXXXXX)
cleanup() {
  ps_cleanup
  rm -rf "$W"
  bash "$LAB" down >/dev/null 2>&1 || true
}
trap cleanup EXIT

# --- When does the svc_web$ epoch end? One read on the real clock. ---------------------------
out=$(bash $LAB exec "$BIN" sync --account 'svc_web$' --keytab "$W/probe.keytab" \
  --client-keytab "$GMSALAB_HOST_KEYTAB" --server "$GMSALAB_DC" 2>&1) ||
  fail "probe sync: $out"
until_end=$(sed -n 's/.* rotation_in_s=\([0-9]*\).*/\1/p' <<<"$out")
[ -n "$until_end" ] && [ "$until_end" -gt 3600 ] || fail "no epoch end in: $out"
t0=$(date +%s)
# Shift every clock so that the end comes LEAD seconds (plus 20 for the DC restart) from now.
shift_s=$((until_end - LEAD - 20))
bash $LAB restart --faketime "+$shift_s" >/dev/null 2>&1
# The clients' faketime settings, for the units and the checker (not for this script's own
# clock: no export).
lab_var() { bash $LAB env | sed -n "s/^export $1='\(.*\)'\$/\1/p"; }
FT_PRELOAD=$(lab_var LD_PRELOAD)
FT=$(lab_var FAKETIME)
[ -n "$FT_PRELOAD" ] && [ "$FT" = "+$shift_s" ] || fail "the lab is not on the shifted clock"
END=$((t0 + until_end - shift_s)) # the epoch end, in real seconds
say "epoch end in $((END - $(date +%s))) s (clocks shifted by +$shift_s s)"

# --- The private systemd's configuration ----------------------------------------------------
ps_init "$W" "$BIN"
install -m 0600 "$GMSALAB_HOST_KEYTAB" "$W"/gmsa-etc/host1.keytab
install -m 0644 "$KRB5_CONFIG" "$W"/gmsa-etc/krb5.conf
boot_real=$(date +%s)
for spec in "${HOSTS[@]}"; do
  h=${spec%%:*}
  rel=${spec#*:}
  mkdir -p "$W/gmsa-etc/$h"
  head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$W/gmsa-etc/$h/machine-id"
  echo >>"$W/gmsa-etc/$h/machine-id"
  cat >"$W/gmsa-etc/$h/config.toml" <<EOF
version = 1
client-keytab = "/etc/gmsa-keytab/host1.keytab"
servers = ["dc1.example.test"]
state-dir = "/var/lib/gmsa-keytab/$h"

[[account]]
name = "svc_web\$"
keytab = "/etc/gmsa-keytab/$h/web.keytab"
EOF
  # The shipped units, renamed per host (the timer activates the service of its own name).
  cp systemd/gmsa-keytab.service "$W/etc-systemd/system/gmsa-keytab-$h.service"
  cp systemd/gmsa-keytab.timer "$W/etc-systemd/system/gmsa-keytab-$h.timer"
  mkdir -p "$W/etc-systemd/system/gmsa-keytab-$h.service.d" "$W/etc-systemd/system/gmsa-keytab-$h.timer.d"
  cat >"$W/etc-systemd/system/gmsa-keytab-$h.service.d/host.conf" <<EOF
[Service]
BindReadOnlyPaths=/etc/gmsa-keytab/$h/machine-id:/etc/machine-id
BindReadOnlyPaths=/etc/gmsa-keytab/$h/config.toml:/etc/gmsa-keytab/config.toml
Environment=KRB5_CONFIG=/etc/gmsa-keytab/krb5.conf
Environment=LD_PRELOAD=$FT_PRELOAD FAKETIME=$FT FAKETIME_DONT_RESET=1
EOF
  # The phase: the first tick at END + rel (OnBootSec counts from this systemd's start in a
  # container). The boot happens right below; an error of a second does not matter.
  cat >"$W/etc-systemd/system/gmsa-keytab-$h.timer.d/phase.conf" <<EOF
[Timer]
OnBootSec=
OnBootSec=$((END + rel - boot_real))s
OnUnitActiveSec=$(sed -n 's/^OnUnitActiveSec=//p' systemd/gmsa-keytab.timer)
RandomizedDelaySec=0
AccuracySec=1s
EOF
done
ps_boot || fail "the private systemd did not come up"

# --- Each host syncs once by hand (one pass: no TRIGGER_UNIT), then its timer starts. --------
for spec in "${HOSTS[@]}"; do
  h=${spec%%:*}
  inside systemctl start "gmsa-keytab-$h.service" ||
    fail "first sync of $h: $(inside journalctl -u "gmsa-keytab-$h.service" --no-pager -o cat | tail -5)"
  # Type=notify: the start returned at READY=1; a run by hand does not linger, it exits.
  for _ in $(seq 50); do
    [ "$(inside systemctl show -p ActiveState --value "gmsa-keytab-$h.service")" = active ] || break
    sleep 0.1
  done
  [ "$(inside systemctl show -p ActiveState --value "gmsa-keytab-$h.service")" = inactive ] ||
    fail "$h: the start by hand did not end after one pass"
done
say "first syncs done $((END - $(date +%s))) s before the end"
for spec in "${HOSTS[@]}"; do
  h=${spec%%:*}
  planned=$(sed -n 's/.*"next_query": \([0-9]*\).*/\1/p' "$W/state/$h/state.json")
  say "$h: read planned $((END - (planned - shift_s))) s before the end"
  inside systemctl start "gmsa-keytab-$h.timer"
done
for spec in "${HOSTS[@]}"; do
  h=${spec%%:*}
  [ "$(inside systemctl show -p NextElapseUSecMonotonic --value "gmsa-keytab-$h.timer")" != infinity ] ||
    fail "$h: timer not scheduled"
done

# --- The checker ------------------------------------------------------------------------------
results=$W/checks.txt
: >"$results"
kvno_kt() { # host: prints "ok <kvno>" or "rejected"
  local o
  if o=$(GMSALAB_CCACHE=FILE:$W/cc bash $LAB exec kvno -k "$W/gmsa-etc/$1/web.keytab" "$SPN" 2>&1); then
    echo "ok $(sed -n 's/.*kvno = \([0-9]*\).*/\1/p' <<<"$o")"
  else
    echo "rejected ${o//$'\n'/ }"
  fi
}
while [ "$(date +%s)" -lt $((END - 100)) ]; do sleep 1; done
while [ "$(date +%s)" -lt $((END + 100)) ]; do
  rm -f "$W"/cc
  GMSALAB_CCACHE=FILE:$W/cc bash $LAB exec kinit -k -t "$GMSALAB_HOST_KEYTAB" "$GMSALAB_HOST_PRINCIPAL" >/dev/null 2>&1 ||
    fail "kinit as host1\$ failed"
  rel=$(($(date +%s) - END))
  for spec in "${HOSTS[@]}"; do
    h=${spec%%:*}
    printf '%s %s %s %s\n' "$rel" "$h" "$(kvno_kt "$h")" \
      "$(inside systemctl show -p ActiveState --value "gmsa-keytab-$h.service")" >>"$results"
  done
  sleep 2
done

# --- Verdict ----------------------------------------------------------------------------------
rounds=$(awk '$2 == "h1"' "$results" | wc -l)
say "$rounds checker rounds from $(head -n1 "$results" | cut -d' ' -f1) s to $(tail -n1 "$results" | cut -d' ' -f1) s around the end"
for h in h1 h2 h3; do
  rej=$(awk -v h=$h '$2 == h && $3 != "ok"' "$results" | wc -l)
  k1=$(awk -v h=$h '$2 == h && $3 == "ok" && $4 == 1' "$results" | wc -l)
  k2=$(awk -v h=$h '$2 == h && $3 == "ok" && $4 == 2' "$results" | wc -l)
  say "$h: $rej rejected, $k1 kvno 1 and $k2 kvno 2 tickets accepted"
  [ "$rej" = 0 ] || { grep " $h " "$results" >&2; fail "$h rejected tickets"; }
  [ "$k1" -gt 0 ] && [ "$k2" -gt 0 ] || fail "$h: the checker did not see both kvnos"
  [ "$(inside systemctl show -p Result --value "gmsa-keytab-$h.service")" = success ] ||
    fail "$h: the last run did not succeed"
done
# h1's tick came before the window with nothing due: the run it started must have lingered
# and read inside the window, before the end. Its keytab-change lines (notice) carry the
# invocation id and journald's (real) time.
tick1=$(inside systemctl show -p LastTriggerUSec --value gmsa-keytab-h1.timer)
tick1=$(date -d "$tick1" +%s)
reads=$(inside journalctl -u gmsa-keytab-h1.service -o json --no-pager | python3 -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    if "changed=true" in e.get("MESSAGE", ""):
        print(int(e["__REALTIME_TIMESTAMP"]) // 1000000, e.get("_SYSTEMD_INVOCATION_ID", "-"), e["PRIORITY"])
')
# The timer triggered h1 once (LastTriggerUSec), before the window; the runs before that were
# by hand. A keytab change inside the window by another run than those is the lingering run's.
say "h1: its timer's only tick $((tick1 - END)) s from the end; keytab changes (s from the end, run, priority):" \
  "$(awk -v e="$END" -v t="$tick1" '{ printf "%d %s %s; ", $1 - e, ($1 < t ? "by-hand" : "timer"), $3 }' <<<"$reads")"
[ "$tick1" -lt $((END - 300)) ] || fail "h1's tick was not before the window"
by_hand=$(awk -v t="$tick1" '$1 < t { print $2 }' <<<"$reads" | sort -u | tr '\n' ' ')
awk -v e="$END" -v t="$tick1" -v h=" $by_hand" '$1 >= t && index(h, " " $2 " ") == 0 && $1 >= e - 300 && $1 < e && $3 == 5' <<<"$reads" | grep -q . ||
  fail "h1's timer run did not write the next keys inside the window at priority notice"
# The control: h4, off through the window, rejects kvno 2 tickets until it catches up.
rej4=$(awk '$2 == "h4" && $3 != "ok"' "$results" | wc -l)
[ "$rej4" -gt 0 ] || fail "h4 (off through the window) never rejected a ticket: the checker cannot see a gap"
tail_ok=$(awk '$2 == "h4"' "$results" | tail -n 5 | awk '$3 == "ok" && $4 == 2' | wc -l)
[ "$tail_ok" = 5 ] || { grep " h4 " "$results" >&2; fail "h4 did not catch up after its first tick"; }
say "h4 (off through the window): $rej4 rejected, then caught up at its first tick"
# The journal: LogLevelMax=notice keeps the keytab changes (priority 5) and drops PID 1's
# routine lines about the units.
j=$(inside journalctl --no-pager -o short-monotonic -u gmsa-keytab-h1.service)
grep -q 'msg="account synced".*changed=true' <<<"$j" || { echo "$j" >&2; fail "no keytab change in h1's journal"; }
! grep -Eq 'Starting |Started |Finished |Deactivated successfully|Consumed ' <<<"$j" ||
  { echo "$j" >&2; fail "PID 1's routine lines about h1 are in the journal"; }
say "h1's journal: $(grep -c . <<<"$j") lines"
say "passed in $(($(date +%s) - t0)) s"
