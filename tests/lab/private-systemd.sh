# Sourced by tests/lab/timer-rotation.sh, benches/day-cost.sh and packaging/sandbox-test.sh: a
# private systemd as PID 1 of new pid, mount and cgroup namespaces inside the lab's network
# namespace, with private /run, /etc/systemd and /var/log/journal, and every unit of this
# machine hidden (only basic.target and journald start). PID 1 logs to its journal, as on a
# real host, so its lines about units count (and LogLevelMax= applies). Two layouts:
#
#   ps_init W BIN   private /etc/gmsa-keytab (W/gmsa-etc) and /var/lib/gmsa-keytab (W/state);
#                   units go to W/etc-systemd/system; BIN (this build's binary) becomes
#                   /usr/bin/gmsa-keytab through an overlay inside the mount namespace (BIN
#                   empty: the installed one). Nothing is installed on the machine.
#   ps_init_fresh W a fresh host to install the package into: /usr, /etc and /var are
#                   overlays of this machine's (writes go to W/ov and vanish with W), so dpkg,
#                   apt and the maintainer scripts run for real against the private systemd
#                   without touching this machine. The namespace's hosts and resolv.conf (the
#                   lab DC's DNS) are bound again over the overlay's /etc.
#   PS_INNER_EXTRA  shell lines run inside before systemd starts (e.g. more bind mounts)
#   ps_boot         start it and wait until it runs; sets PS_PID1
#   inside CMD...   run CMD in its namespaces
#   ps_cleanup      power it off, remove its cgroup and the mount points ps_init created
# Needs GMSALAB_NETNS (the lab up), root and a cgroup2 mount.

PS_PID1=
PS_CREATED=()
PS_CGDIR=

PS_INNER_EXTRA=
PS_BOOTS=0

# The private /etc/systemd: no generators, this machine's units masked, basic.target default.
_ps_units() {
  local g u
  mkdir -p "$PS_W"/etc-systemd/system "$PS_W"/etc-systemd/system-generators "$PS_W"/journal
  for g in /lib/systemd/system-generators/*; do ln -s /dev/null "$PS_W/etc-systemd/system-generators/${g##*/}"; done
  for u in /lib/systemd/system/sysinit.target.wants/* /lib/systemd/system/sockets.target.wants/* \
    /lib/systemd/system/timers.target.wants/*; do
    case "${u##*/}" in systemd-journald.service | systemd-journald.socket | systemd-journald-dev-log.socket) continue ;; esac
    ln -sf /dev/null "$PS_W/etc-systemd/system/${u##*/}"
  done
  ln -s /lib/systemd/system/basic.target "$PS_W"/etc-systemd/system/default.target
}

ps_init() {
  PS_W=$1
  local bin=$2 d usrbin=
  _ps_units
  mkdir -p "$PS_W"/gmsa-etc "$PS_W"/state
  chmod 700 "$PS_W"/state
  if [ -n "$bin" ]; then
    mkdir -p "$PS_W"/usrbin-upper "$PS_W"/usrbin-work
    cp "$bin" "$PS_W"/usrbin-upper/gmsa-keytab
    usrbin="mount -t overlay overlay -o lowerdir=/usr/bin,upperdir=$PS_W/usrbin-upper,workdir=$PS_W/usrbin-work /usr/bin"
  fi
  # Mount points on this machine: empty directories, removed again by ps_cleanup if created.
  for d in /etc/gmsa-keytab /var/lib/gmsa-keytab /var/log/journal; do
    # The state directory 0700 like the package's, so a mount point left behind by a killed
    # run never fails packaging/ci.sh's check (/var/lib/gmsa-keytab root 0700).
    mode=0755
    [ "$d" = /var/lib/gmsa-keytab ] && mode=0700
    [ -d "$d" ] || { mkdir -p -m "$mode" "$d" && PS_CREATED+=("$d"); }
  done
  cat >"$PS_W"/inner.sh <<EOS
#!/bin/sh
set -e
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t tmpfs -o mode=755 tmpfs /run
$usrbin
mount --bind $PS_W/etc-systemd /etc/systemd
mount --bind $PS_W/gmsa-etc /etc/gmsa-keytab
mount --bind $PS_W/state /var/lib/gmsa-keytab
mount --bind $PS_W/journal /var/log/journal
$PS_INNER_EXTRA
touch $PS_W/console && mount --bind $PS_W/console /dev/console
exec env -i container=gmsa-private PATH=/usr/sbin:/usr/bin:/sbin:/bin \\
  /lib/systemd/systemd --system --log-target=journal --show-status=no
EOS
  chmod 755 "$PS_W"/inner.sh
}

ps_init_fresh() {
  PS_W=$1
  local d f
  _ps_units
  for d in usr etc var; do mkdir -p "$PS_W/ov/$d-upper" "$PS_W/ov/$d-work"; done
  {
    echo '#!/bin/sh'
    echo 'set -e'
    echo 'mount -t cgroup2 cgroup2 /sys/fs/cgroup'
    echo 'mount -t tmpfs -o mode=755 tmpfs /run'
    for d in usr etc var; do
      echo "mount -t overlay overlay -o lowerdir=/$d,upperdir=$PS_W/ov/$d-upper,workdir=$PS_W/ov/$d-work /$d"
    done
    # `ip netns exec` bound these over /etc's files; the overlay hides its bind mounts.
    for f in hosts resolv.conf; do
      [ ! -e "/etc/netns/$GMSALAB_NETNS/$f" ] || echo "mount --bind /etc/netns/$GMSALAB_NETNS/$f /etc/$f"
    done
    echo "mount --bind $PS_W/etc-systemd /etc/systemd"
    echo 'mkdir -p /var/log/journal'
    echo "mount --bind $PS_W/journal /var/log/journal"
    echo "$PS_INNER_EXTRA"
    echo "touch $PS_W/console && mount --bind $PS_W/console /dev/console"
    echo 'exec env -i container=gmsa-private PATH=/usr/sbin:/usr/bin:/sbin:/bin \'
    echo '  /lib/systemd/systemd --system --log-target=journal --show-status=no'
  } >"$PS_W"/inner.sh
  chmod 755 "$PS_W"/inner.sh
}

ps_boot() {
  local cg outer state
  cg=$(findmnt -n -t cgroup2 -o TARGET | head -n1)
  [ -n "$cg" ] || { echo "private-systemd: no cgroup2 mount" >&2; return 1; }
  PS_BOOTS=$((PS_BOOTS + 1))
  PS_CGDIR="$cg/gmsa-private-$$-$PS_BOOTS"
  mkdir "$PS_CGDIR"
  sh -c "echo \$\$ > '$PS_CGDIR/cgroup.procs'; exec ip netns exec '$GMSALAB_NETNS' \
    unshare --cgroup --pid --fork --mount --propagation private --mount-proc '$PS_W/inner.sh'" \
    >"$PS_W"/outer.log 2>&1 &
  outer=$!
  for _ in $(seq 100); do
    PS_PID1=$(pgrep -P "$outer" 2>/dev/null | head -n1) && [ -n "$PS_PID1" ] && break
    sleep 0.1
  done
  [ -n "$PS_PID1" ] || { echo "private-systemd: did not start: $(cat "$PS_W"/outer.log)" >&2; return 1; }
  for _ in $(seq 100); do
    state=$(inside systemctl is-system-running 2>/dev/null || true)
    case "$state" in running | degraded) return 0 ;; esac
    sleep 0.2
  done
  echo "private-systemd: state ${state:-unknown}: $(tail -n 20 "$PS_W"/outer.log)" >&2
  return 1
}

inside() { nsenter -t "$PS_PID1" -a "$@"; }

ps_cleanup() {
  local d
  if [ -n "$PS_PID1" ] && kill -0 "$PS_PID1" 2>/dev/null; then
    kill -s SIGRTMIN+4 "$PS_PID1" 2>/dev/null || true # systemd: poweroff
    for _ in $(seq 50); do kill -0 "$PS_PID1" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$PS_PID1" 2>/dev/null || true
  fi
  if [ -n "$PS_CGDIR" ] && [ -d "$PS_CGDIR" ]; then
    find "$PS_CGDIR" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  fi
  for d in "${PS_CREATED[@]}"; do rmdir "$d" 2>/dev/null || true; done
  # Ready for another ps_init in the same script.
  PS_PID1= PS_CGDIR= PS_CREATED=()
}
