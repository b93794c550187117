#!/usr/bin/env bash
# gmsa-keytab test lab: a throwaway Samba 4.22 AD DC (EXAMPLE.TEST, dc1 at 127.0.0.10) in the private network
# namespace "gmsalab", populated with the host and gMSA accounts the end-to-end tests need.
# Needs root and the packages from tests/lab/install-deps.sh. See tests/lab/README.md.
#
#   lab.sh up [--faketime OFFSET]       create namespace, restore (or provision) the domain, start the DC
#   lab.sh restart [--faketime OFFSET]  stop and start the DC on the same data with a new clock offset
#   lab.sh stop-dc | start-dc           stop / start the samba process only (namespace and data stay)
#   lab.sh down                         stop the DC, delete the namespace and the live data (golden cache kept)
#   lab.sh purge                        down, then remove tests/lab/run entirely
#   lab.sh exec CMD...                  run CMD inside the namespace with the lab client environment
#   lab.sh env                          print the lab client environment as export lines
#   lab.sh check                        smoke test with MIT/OpenLDAP tools only
#   lab.sh status                       print the state of the lab
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
RUN="$LAB_DIR/run"
# GMSALAB_NETNS runs a second, independent lab (e.g. a CI dry run beside a developer's lab).
NS="${GMSALAB_NETNS:-gmsalab}"
REALM=EXAMPLE.TEST
DOMAIN=EXAMPLE
DNSDOMAIN=example.test
DC_HOST=dc1
DC_FQDN=$DC_HOST.$DNSDOMAIN
DC_IP=127.0.0.10
BASE_DN=DC=example,DC=test
BULK_PREFIX=svc_bulk
BULK_COUNT=50

DC_DIR="$RUN/dc"               # the live DC (provision --targetdir); smb.conf holds absolute paths into it
GOLDEN="$RUN/golden"           # cached copy of a provisioned + populated, never started, DC
SMB_CONF="$DC_DIR/etc/smb.conf"
SAM_LDB="$DC_DIR/private/sam.ldb"
KRB5_CONF="$RUN/krb5.conf"
CCACHE="${GMSALAB_CCACHE:-FILE:$RUN/ccache}"
HOST1_KEYTAB="$RUN/host1.keytab"
HOST2_KEYTAB="$RUN/host2.keytab"
SAMBA_LOG="$RUN/samba.log"
SAMBA_PID="$RUN/samba.pid"
FAKETIME_FILE="$RUN/faketime"  # the lab clock offset (libfaketime FAKETIME syntax); absent = real clock
LOCK="$RUN/lab.lock"

FAKETIME_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1
SYS_PY=/usr/bin/python3        # python3-samba lives in the system python, not in a pyenv/venv one
SAMBA=/usr/sbin/samba
START_TIMEOUT=${GMSALAB_START_TIMEOUT:-60}
SAMBA_DEBUG=${GMSALAB_SAMBA_DEBUG:-0}
LOCK_TIMEOUT=${GMSALAB_LOCK_TIMEOUT:-900}
GOLDEN_MAX_AGE_DAYS=${GMSALAB_GOLDEN_MAX_AGE_DAYS:-7}

# Named gMSAs: name|SPNs (space separated)|msDS-SupportedEncryptionTypes (keep = as samba-tool sets it,
# absent = attribute removed, else a number)|readable by host1$ (yes/no)
GMSAS=(
  "svc_web|HTTP/web.example.test HTTP/web|keep|yes"
  "svc_rc4|HTTP/rc4.example.test|4|yes"
  "svc_aes|HTTP/aes.example.test|24|yes"
  "svc_aes128|HTTP/aes128.example.test MSSQLSvc/db.example.test:1433|8|yes"
  "svc_none|HTTP/none.example.test|absent|yes"
  "svc_all|HTTP/all.example.test|28|yes"
  "svc_renold|HTTP/ren.example.test|24|yes"
  "svc_denied|HTTP/denied.example.test|keep|no"
)
# gMSAs renamed after creation (old name|new sAMAccountName without $): the KDC keeps the salt of the
# old name (EXAMPLE.TESThostsvc_renold.example.test) until the next password change.
RENAMES=(
  "svc_renold|svc_ren"
)

log() { printf 'lab: %s\n' "$*" >&2; }
die() { printf 'lab: ERROR: %s\n' "$*" >&2; exit 1; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
elapsed() { local ms=$(($(now_ms) - $1)); printf '%d.%03ds' $((ms / 1000)) $((ms % 1000)); }

need_root() { [ "$(id -u)" = 0 ] || die "must run as root (network namespaces, samba)"; }

take_lock() {
  mkdir -p "$RUN"
  exec 9>>"$LOCK"
  flock -w "$LOCK_TIMEOUT" 9 || die "timed out after ${LOCK_TIMEOUT}s waiting for $LOCK"
}

in_ns() { ip netns exec "$NS" "$@"; }
ns_exists() { [ -e "/run/netns/$NS" ]; }
lab_is_up() { [ -f "$DC_DIR/.complete" ] && ns_exists; }

lab_faketime() { if [ -s "$FAKETIME_FILE" ]; then cat "$FAKETIME_FILE"; fi; }

# The variables every lab client gets (also what `env` prints).
client_env() {
  local ft
  ft=$(lab_faketime)
  # GMSALAB_KRB5_CONFIG lets a test hand a client a variant of the lab's krb5.conf (e.g. one
  # restricted to a single enctype).
  CLIENT_ENV=(KRB5_CONFIG="${GMSALAB_KRB5_CONFIG:-$KRB5_CONF}" KRB5CCNAME="${1:-$CCACHE}")
  if [ -n "$ft" ]; then
    CLIENT_ENV+=(LD_PRELOAD="$FAKETIME_LIB" FAKETIME="$ft" FAKETIME_DONT_RESET=1)
  fi
}

# Run a command in the namespace with the client environment and the given ccache.
lab_run_cc() {
  local -a CLIENT_ENV
  client_env "$1"
  shift
  in_ns env "${CLIENT_ENV[@]}" "$@"
}

valid_offset() {
  [[ $1 =~ ^[+-][0-9]+(\.[0-9]+)?[smhdy]?$ || $1 =~ ^@[0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9]{2}:[0-9]{2}:[0-9]{2}$ ]]
}

# ---------------------------------------------------------------------------------------------------------
# Namespace

ns_up() {
  if ! ns_exists; then
    ip netns add "$NS"
  fi
  ip -n "$NS" link set lo up
  if ! ip -n "$NS" -4 addr show dev lo | grep -q "inet $DC_IP/8"; then
    ip -n "$NS" addr add "$DC_IP/8" dev lo
  fi
  mkdir -p "/etc/netns/$NS"
  printf '127.0.0.1\tlocalhost\n%s\t%s %s\n' "$DC_IP" "$DC_FQDN" "$DC_HOST" >"/etc/netns/$NS/hosts"
  printf 'nameserver %s\nsearch %s\n' "$DC_IP" "$DNSDOMAIN" >"/etc/netns/$NS/resolv.conf"
}

ns_down() {
  if ns_exists; then
    local pids
    # Anything still running in the namespace was started through this script (exec, check, the DC).
    pids=$(ip netns pids "$NS" | grep -vx "$$" || true)
    if [ -n "$pids" ]; then
      log "terminating processes left in namespace $NS: $(echo "$pids" | tr '\n' ' ')"
      # shellcheck disable=SC2086
      kill -TERM $pids 2>/dev/null || true
      sleep 1
      pids=$(ip netns pids "$NS" | grep -vx "$$" || true)
      # shellcheck disable=SC2086
      [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
    fi
    ip netns del "$NS"
  fi
  rm -rf "/etc/netns/$NS"
  rmdir /etc/netns 2>/dev/null || true
}

write_krb5_conf() {
  cat >"$KRB5_CONF.tmp" <<EOF
# gmsa-keytab lab client configuration (generated by tests/lab/lab.sh)
[libdefaults]
	default_realm = $REALM
	dns_lookup_kdc = true
	dns_lookup_realm = false
	rdns = false
	dns_canonicalize_hostname = false
	# rc4-hmac is in MIT 1.20's default enctype lists; single DES no longer exists in MIT >= 1.18.
	allow_weak_crypto = true
EOF
  mv -f "$KRB5_CONF.tmp" "$KRB5_CONF"
}

# ---------------------------------------------------------------------------------------------------------
# The samba process

# Prints the pid of the lab DC if it is running.
dc_pid() {
  local pid
  [ -s "$SAMBA_PID" ] || return 1
  pid=$(cat "$SAMBA_PID")
  [ -d "/proc/$pid" ] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = samba ] || return 1
  echo "$pid"
}

log_tail() {
  if [ -f "$SAMBA_LOG" ]; then
    echo "---- last 40 lines of $SAMBA_LOG ----" >&2
    tail -n 40 "$SAMBA_LOG" >&2
    echo "----" >&2
  fi
}

tcp_open() { in_ns bash -c "exec 3<>/dev/tcp/$DC_IP/$1" 2>/dev/null; }
dns_ok() { in_ns host -W 1 -t SRV "_ldap._tcp.dc._msdcs.$DNSDOMAIN" >/dev/null 2>&1; }
kdc_ok() { lab_run_cc MEMORY:labwait kinit -k -t "$HOST1_KEYTAB" "host1\$@$REALM" >/dev/null 2>&1; }

# Waits until LDAP, DNS and the KDC answer; on failure prints why (and the log tail) and returns 1.
wait_ready() {
  local pid=$1 timeout=$2 t0 what
  t0=$(date +%s)
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log_tail
      log "ERROR: samba (pid $pid) exited during start-up"
      return 1
    fi
    what=""
    if ! tcp_open 389; then
      what="LDAP (tcp/389)"
    elif ! dns_ok; then
      what="DNS (SRV _ldap._tcp.dc._msdcs.$DNSDOMAIN)"
    elif ! kdc_ok; then
      what="KDC (kinit -k as host1\$)"
    fi
    [ -n "$what" ] || return 0
    if [ $(($(date +%s) - t0)) -ge "$timeout" ]; then
      log_tail
      log "ERROR: DC not ready after ${timeout}s: still waiting for $what"
      return 1
    fi
    sleep 0.1
  done
}

dc_start() {
  local ft pid t0
  t0=$(now_ms)
  [ -f "$SMB_CONF" ] || die "no DC data in $DC_DIR (run: lab.sh up)"
  ns_exists || die "namespace $NS does not exist (run: lab.sh up)"
  if pid=$(dc_pid); then
    log "DC already running (pid $pid)"
    return 0
  fi
  ft=$(lab_faketime)
  local -a envv=()
  if [ -n "$ft" ]; then
    [ -e "$FAKETIME_LIB" ] || die "$FAKETIME_LIB missing (package faketime)"
    envv=(LD_PRELOAD="$FAKETIME_LIB" FAKETIME="$ft" FAKETIME_DONT_RESET=1)
  fi
  [ ! -f "$SAMBA_LOG" ] || mv -f "$SAMBA_LOG" "$SAMBA_LOG.1"
  echo "=== $(date -Is) starting samba${ft:+ under FAKETIME=$ft}" >"$SAMBA_LOG"
  # setsid: not killed with the caller's process group; 9>&-: must not inherit the lab lock;
  # stdin /dev/null and output to the log: never holds the caller's pipes open.
  setsid ip netns exec "$NS" env "${envv[@]}" "$SAMBA" -s "$SMB_CONF" -i -M single -d "$SAMBA_DEBUG" \
    </dev/null >>"$SAMBA_LOG" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$SAMBA_PID"
  if ! wait_ready "$pid" "$START_TIMEOUT"; then
    dc_stop
    die "DC start failed (full log: $SAMBA_LOG)"
  fi
  log "DC up (pid $pid${ft:+, FAKETIME=$ft}) in $(elapsed "$t0")"
}

dc_stop() {
  local pid i
  pid=$(dc_pid) || { rm -f "$SAMBA_PID"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "samba (pid $pid) ignored SIGTERM for 20s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  rm -f "$SAMBA_PID"
  log "DC stopped (pid $pid)"
}

# ---------------------------------------------------------------------------------------------------------
# Provisioning, population and the golden cache

golden_stamp() {
  # Anything that changes what a provisioned domain looks like invalidates the cache.
  {
    echo "run=$RUN"
    "$SAMBA" --version
    sha256sum "$LAB_DIR/lab.sh" "$LAB_DIR/populate.py" | awk '{print $1}'
  } | sha256sum | awk '{print $1}'
}

golden_valid() {
  local stamp created
  [ -f "$GOLDEN/stamp" ] && [ -f "$GOLDEN/created" ] && [ -d "$GOLDEN/dc" ] || return 1
  stamp=$(cat "$GOLDEN/stamp")
  if [ "$stamp" != "$(golden_stamp)" ]; then
    log "golden cache is from a different lab.sh/populate.py/samba/path; rebuilding"
    return 1
  fi
  created=$(cat "$GOLDEN/created")
  # gMSA passwords age from creation (30-day interval); an old cache would roll them at the first read.
  if [ $(($(date +%s) - created)) -gt $((GOLDEN_MAX_AGE_DAYS * 86400)) ]; then
    log "golden cache is older than $GOLDEN_MAX_AGE_DAYS days; rebuilding"
    return 1
  fi
}

random_password() {
  # Samba's default policy wants 3 of 4 character classes.
  printf 'Lab-%s-7q' "$(head -c 18 /dev/urandom | base64 | tr -d '+/=')"
}

# samba-tool against the offline database; output only shown on failure.
st() {
  local out
  if ! out=$(in_ns samba-tool "$@" -s "$SMB_CONF" -H "$SAM_LDB" 2>&1); then
    printf '%s\n' "$out" >&2
    die "samba-tool $1 $2 failed"
  fi
}

# ldb tools and populate.py only open the database files; they run inside the namespace all the same.
ldb_modify() { in_ns ldbmodify -H "$SAM_LDB" >/dev/null; }

provision() {
  local t0 admin_pass
  t0=$(now_ms)
  rm -rf "$DC_DIR"
  mkdir -p "$DC_DIR/var" "$DC_DIR/run"
  admin_pass=$(random_password)
  # server services: no NetBIOS/WINS (nbtd wants /run/samba/nmbd), no smbd/winbindd (s3fs), no ntp_signd,
  # no periodic samba_dnsupdate/spnupdate (run once below instead). dns forwarder 127.0.0.1: nothing
  # listens there in the namespace, so foreign names fail at once (forwarding to itself loops until timeout).
  in_ns samba-tool domain provision --targetdir="$DC_DIR" --realm="$REALM" --domain="$DOMAIN" \
    --server-role=dc --dns-backend=SAMBA_INTERNAL --adminpass="$admin_pass" \
    --host-name="$DC_HOST" --host-ip="$DC_IP" \
    --option="interfaces=$DC_IP" --option="bind interfaces only=yes" \
    --option="dns forwarder=127.0.0.1" \
    --option="pid directory=$DC_DIR/run" \
    --option="server services=-nbt -wrepl -s3fs -winbindd -ntp_signd -dnsupdate" \
    --option="ncalrpc dir=$DC_DIR/var/ncalrpc" \
    --option="winbindd socket directory=$DC_DIR/var/winbindd" \
    --option="ntp signd socket directory=$DC_DIR/var/ntp_signd" \
    --option="log file=$DC_DIR/var/log.%m" \
    >"$RUN/provision.log" 2>&1 || { tail -n 30 "$RUN/provision.log" >&2; die "provision failed (see $RUN/provision.log)"; }
  printf '%s\n' "$admin_pass" >"$DC_DIR/administrator.password"
  chmod 600 "$DC_DIR/administrator.password"
  # The DC's ldap/ SPNs (needed for `ldapsearch -Y GSSAPI`) are added by samba_spnupdate, which the
  # (disabled) dnsupdate service would run at start-up.
  in_ns samba_spnupdate -s "$SMB_CONF" >>"$RUN/provision.log" 2>&1 || die "samba_spnupdate failed (see $RUN/provision.log)"
  make_tls_cert >>"$RUN/provision.log" 2>&1 || die "TLS certificate failed (see $RUN/provision.log)"
  log "provisioned $REALM in $(elapsed "$t0")"
}

# The DC's TLS certificate, made before its first start (Samba generates its own only when none
# is there): RSA-2048 from a lab CA, as AD CS issues DC certificates by default. Samba's own
# would be RSA-4096, whose signature (4.0 ms against 0.31 ms, `openssl speed`) is most of what a
# TLS handshake with the lab costs the DC. Valid from two days back (a client clock behind),
# with the DC's name as SAN and CN; the CA is private/tls/ca.pem, where Samba keeps its own.
make_tls_cert() {
  local d="$DC_DIR/private/tls" fqdn="$DC_HOST.$DNSDOMAIN"
  mkdir -p "$d"
  faketime -f -2d openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
    -subj "/O=gmsa-keytab lab/CN=gmsa-keytab lab CA" -keyout "$d/ca.key" -out "$d/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
  openssl req -newkey rsa:2048 -nodes -sha256 -subj "/O=gmsa-keytab lab/CN=$fqdn" \
    -keyout "$d/key.pem" -out "$d/dc.csr"
  printf 'subjectAltName=DNS:%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' \
    "$fqdn" >"$d/dc.ext"
  faketime -f -2d openssl x509 -req -in "$d/dc.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
    -CAcreateserial -days 3650 -sha256 -extfile "$d/dc.ext" -out "$d/cert.pem"
  rm -f "$d/ca.key" "$d/ca.srl" "$d/dc.csr" "$d/dc.ext"
  chmod 600 "$d/key.pem"
  chmod 644 "$d/cert.pem" "$d/ca.pem"
}

add_host() {
  local name=$1 out=$2 pass
  pass=$(random_password)
  st computer add "$name" --service-principal-name="HOST/$name.$DNSDOMAIN" --service-principal-name="HOST/$name"
  ldb_modify <<EOF
dn: CN=$name,CN=Computers,$BASE_DN
changetype: modify
add: dNSHostName
dNSHostName: $name.$DNSDOMAIN
EOF
  st user setpassword "$name\$" --newpassword="$pass"
  printf '%s\n' "$pass" >"$out/$name.password"
  chmod 600 "$out/$name.password"
  st domain exportkeytab "$out/$name.keytab" --principal="$name\$"
}

populate() {
  local t0 files=$1 spec name spns set readable spn new
  t0=$(now_ms)
  add_host host1 "$files"
  add_host host2 "$files"
  # A keytab like a joined machine's: SPN-named entries first, then the NAME$ entries (samba exports only
  # RC4 for SPN principals). For testing that the tool picks host1$@EXAMPLE.TEST and not the first entry.
  st domain exportkeytab "$files/host1-join.keytab" --principal="host/host1.$DNSDOMAIN"
  st domain exportkeytab "$files/host1-join.keytab" --principal="HOST/host1"
  st domain exportkeytab "$files/host1-join.keytab" --principal="host1\$"
  log "host accounts done at $(elapsed "$t0")"

  for spec in "${GMSAS[@]}"; do
    IFS='|' read -r name spns set readable <<<"$spec"
    st service-account create --name="$name" --dns-host-name="$name.$DNSDOMAIN"
    if [ "$readable" = yes ]; then
      st service-account group-msa-membership add --name="$name\$" --principal='host1$'
    fi
    for spn in $spns; do
      st spn add "$spn" "$name\$"
    done
    st user enable "$name\$"
    case $set in
      keep) ;;
      absent)
        if [[ $(in_ns ldbsearch -H "$SAM_LDB" "(sAMAccountName=$name\$)" msDS-SupportedEncryptionTypes) == \
          *$'\n'msDS-SupportedEncryptionTypes:* ]]; then
          ldb_modify <<EOF
dn: CN=$name,CN=Managed Service Accounts,$BASE_DN
changetype: modify
delete: msDS-SupportedEncryptionTypes
EOF
        fi
        ;;
      *)
        ldb_modify <<EOF
dn: CN=$name,CN=Managed Service Accounts,$BASE_DN
changetype: modify
replace: msDS-SupportedEncryptionTypes
msDS-SupportedEncryptionTypes: $set
EOF
        ;;
    esac
  done
  for spec in "${RENAMES[@]}"; do
    IFS='|' read -r name new <<<"$spec"
    ldb_modify <<EOF
dn: CN=$name,CN=Managed Service Accounts,$BASE_DN
changetype: modify
replace: sAMAccountName
sAMAccountName: $new\$
EOF
  done
  log "named gMSAs (samba-tool) done at $(elapsed "$t0")"
  in_ns "$SYS_PY" "$LAB_DIR/populate.py" "$SMB_CONF" "$SAM_LDB" bulk "$BULK_PREFIX" "$BULK_COUNT" 'host1$'
  log "$BULK_COUNT bulk gMSAs (populate.py) done at $(elapsed "$t0")"
  in_ns "$SYS_PY" "$LAB_DIR/populate.py" "$SMB_CONF" "$SAM_LDB" report >"$files/accounts.txt"
  log "populated in $(elapsed "$t0")"
}

build_golden() {
  local t0 files="$RUN/golden.files.tmp"
  t0=$(now_ms)
  rm -rf "$GOLDEN" "$RUN/golden.tmp" "$files"
  mkdir -p "$files"
  provision
  populate "$files"
  # Start the DC once on the real clock before caching: proves the domain serves LDAP/DNS/KDC, and the
  # TLS keys samba generates at its first start (~0.6 s) end up in the cache.
  cp -a "$files"/. "$RUN/"
  set_faketime ""
  dc_start
  dc_stop
  mkdir -p "$RUN/golden.tmp"
  cp -a "$DC_DIR" "$RUN/golden.tmp/dc"
  mv "$files" "$RUN/golden.tmp/files"
  golden_stamp >"$RUN/golden.tmp/stamp"
  date +%s >"$RUN/golden.tmp/created"
  mv "$RUN/golden.tmp" "$GOLDEN"
  touch "$DC_DIR/.complete"
  log "golden cache built in $(elapsed "$t0") (provision + populate + first start)"
}

restore_golden() {
  local t0
  t0=$(now_ms)
  rm -rf "$DC_DIR"
  cp -a "$GOLDEN/dc" "$DC_DIR"
  touch "$DC_DIR/.complete"
  log "restored golden domain in $(elapsed "$t0")"
}

publish_files() {
  local f
  for f in "$GOLDEN"/files/*; do
    cp -a "$f" "$RUN/"
  done
}

# ---------------------------------------------------------------------------------------------------------
# Subcommands

parse_faketime() {
  WANT_FT=""
  FT_GIVEN=0
  while [ $# -gt 0 ]; do
    case $1 in
      --faketime)
        [ $# -ge 2 ] || die "--faketime needs an OFFSET such as +31d"
        WANT_FT=$2
        FT_GIVEN=1
        shift 2
        ;;
      --faketime=*)
        WANT_FT=${1#--faketime=}
        FT_GIVEN=1
        shift
        ;;
      *) die "unknown option: $1" ;;
    esac
  done
  case $WANT_FT in none | 0 | +0) WANT_FT="" ;; esac
  if [ -n "$WANT_FT" ] && ! valid_offset "$WANT_FT"; then
    die "bad --faketime '$WANT_FT' (want e.g. +31d, -2h, +3600 or '@2030-01-01 00:00:00')"
  fi
}

rm_ccache() {
  case $CCACHE in
    FILE:*) rm -f "${CCACHE#FILE:}" ;;
    /*) rm -f "$CCACHE" ;;
  esac
}

set_faketime() {
  if [ -n "$1" ]; then printf '%s\n' "$1" >"$FAKETIME_FILE"; else rm -f "$FAKETIME_FILE"; fi
}

cmd_up() {
  local t0 pid cur
  t0=$(now_ms)
  parse_faketime "$@"
  need_root
  take_lock
  if pid=$(dc_pid) && ns_exists && [ -f "$DC_DIR/.complete" ]; then
    cur=$(lab_faketime)
    if [ "$FT_GIVEN" = 1 ] && [ "$cur" != "$WANT_FT" ]; then
      die "lab already up with ${cur:+FAKETIME=$cur}${cur:-the real clock}; use: lab.sh restart --faketime ${WANT_FT:-none}"
    fi
    wait_ready "$pid" "$START_TIMEOUT" || die "the running DC (pid $pid) does not answer; try: lab.sh restart"
    log "already up (pid $pid${cur:+, FAKETIME=$cur})"
    return 0
  fi
  ns_up
  write_krb5_conf
  if [ ! -f "$DC_DIR/.complete" ]; then
    dc_stop
    if golden_valid; then
      restore_golden
    else
      build_golden
    fi
    publish_files
    rm_ccache
    set_faketime "$WANT_FT"
  elif [ "$FT_GIVEN" = 1 ]; then
    set_faketime "$WANT_FT"
  fi
  dc_start
  log "up in $(elapsed "$t0")"
}

cmd_restart() {
  parse_faketime "$@"
  need_root
  take_lock
  lab_is_up || die "lab is not up (run: lab.sh up)"
  dc_stop
  set_faketime "$WANT_FT"
  dc_start
}

cmd_stop_dc() {
  need_root
  take_lock
  dc_stop
}

cmd_start_dc() {
  need_root
  take_lock
  lab_is_up || die "lab is not up (run: lab.sh up)"
  dc_start
}

cmd_down() {
  need_root
  take_lock
  dc_stop
  ns_down
  rm_ccache
  rm -rf "$DC_DIR" "$FAKETIME_FILE" "$RUN"/ccache*
  log "down (golden cache kept in $GOLDEN)"
}

cmd_purge() {
  cmd_down
  rm -rf "$RUN"
  log "purged $RUN"
}

cmd_exec() {
  [ $# -gt 0 ] || die "usage: lab.sh exec CMD [ARGS...]"
  ns_exists || die "lab is not up (run: lab.sh up)"
  local -a CLIENT_ENV
  client_env
  exec ip netns exec "$NS" env "${CLIENT_ENV[@]}" "$@"
}

# export NAME='value' (single-quoted, so it can be eval'ed or sourced).
print_export() {
  local q="'\\''"
  printf "export %s='%s'\n" "$1" "${2//\'/$q}"
}

cmd_env() {
  local -a CLIENT_ENV
  local kv
  client_env
  for kv in "${CLIENT_ENV[@]}"; do
    print_export "${kv%%=*}" "${kv#*=}"
  done
  local -a more=(
    GMSALAB_NETNS "$NS"
    GMSALAB_RUN "$RUN"
    GMSALAB_REALM "$REALM"
    GMSALAB_DC "$DC_FQDN"
    GMSALAB_BASE_DN "$BASE_DN"
    GMSALAB_HOST_KEYTAB "$HOST1_KEYTAB"
    GMSALAB_HOST_PRINCIPAL "host1\$@$REALM"
    GMSALAB_DENIED_KEYTAB "$HOST2_KEYTAB"
    GMSALAB_DENIED_PRINCIPAL "host2\$@$REALM"
  )
  while [ ${#more[@]} -gt 0 ]; do
    print_export "${more[0]}" "${more[1]}"
    more=("${more[@]:2}")
  done
}

cmd_status() {
  local pid
  if ns_exists; then echo "namespace: $NS present"; else echo "namespace: $NS absent"; fi
  if pid=$(dc_pid); then echo "dc: running (pid $pid)"; else echo "dc: stopped"; fi
  echo "faketime: $(lab_faketime)"
  if [ -f "$GOLDEN/created" ]; then
    echo "golden: $GOLDEN (built $(date -d "@$(cat "$GOLDEN/created")" -Is))"
  else
    echo "golden: none"
  fi
}

# check helpers ---------------------------------------------------------------------------------------------
CHECK_FAIL=0
ok() { printf '  ok    %-62s %s\n' "$1" "$2"; }
bad() {
  printf '  FAIL  %-62s %s\n' "$1" "$2"
  CHECK_FAIL=1
}

# ldapsearch as whoever is in the given ccache; prints unwrapped LDIF.
lab_ldapsearch() {
  local cc=$1 filter=$2
  shift 2
  lab_run_cc "$cc" ldapsearch -LLL -o ldif-wrap=no -Q -Y GSSAPI -H "ldap://$DC_FQDN" -b "$BASE_DN" \
    "$filter" "$@"
}

blob_check() {
  local cc=$1 who=$2 sam=$3 t0 out kvno
  t0=$(now_ms)
  if ! out=$(lab_ldapsearch "$cc" "(sAMAccountName=$sam)" msDS-ManagedPassword msDS-KeyVersionNumber \
    servicePrincipalName msDS-SupportedEncryptionTypes 2>&1); then
    bad "$who reads $sam" "ldapsearch failed: $out"
    return
  fi
  kvno=$(sed -n 's/^msDS-KeyVersionNumber: //p' <<<"$out")
  if grep -q '^msDS-ManagedPassword:: ' <<<"$out"; then
    ok "$who reads $sam: blob present (kvno $kvno)" "$(elapsed "$t0")"
  else
    bad "$who reads $sam: no msDS-ManagedPassword" "$(elapsed "$t0")"
  fi
}

ticket_check() {
  local cc=$1 spn=$2 want=$3 t0 out et
  t0=$(now_ms)
  if ! out=$(lab_run_cc "$cc" kvno "$spn@$REALM" 2>&1); then
    bad "KDC ticket for $spn" "$out"
    return
  fi
  et=$(lab_run_cc "$cc" klist -e | awk -v p="$spn@$REALM" '
    $NF == p { f = 1; next }
    f && /Etype/ { sub(/.*Etype \(skey, tkt\): /, ""); gsub(/ +$/, ""); split($0, e, /, */); print "tkt " e[2] ", skey " e[1]; exit }')
  if [[ $et == "tkt "*"$want"*", skey"* ]]; then
    ok "KDC ticket for $spn (${out##*: }, $et)" "$(elapsed "$t0")"
  else
    bad "KDC ticket for $spn: $et, want tkt $want" "$(elapsed "$t0")"
  fi
}

cmd_check() {
  local t_all t0 out cc1="FILE:$RUN/ccache" cc2="FILE:$RUN/ccache.host2" i line ft
  need_root
  if ! ns_exists || ! dc_pid >/dev/null; then die "the lab DC is not running (run: lab.sh up)"; fi
  [ -n "${GMSALAB_CCACHE:-}" ] && cc1=$GMSALAB_CCACHE
  t_all=$(now_ms)
  ft=$(lab_faketime)
  echo "lab check (MIT krb5 + OpenLDAP clients in namespace $NS${ft:+, FAKETIME=$ft})"

  t0=$(now_ms)
  if out=$(lab_run_cc "$cc1" kinit -k -t "$HOST1_KEYTAB" "host1\$@$REALM" 2>&1); then
    ok "kinit -k host1\$@$REALM (host1.keytab)" "$(elapsed "$t0")"
  else
    bad "kinit -k host1\$@$REALM" "$out"
    exit 1
  fi

  t0=$(now_ms)
  out=$(lab_run_cc "$cc1" ldapsearch -LLL -o ldif-wrap=no -Y GSSAPI -H "ldap://$DC_FQDN" -b "$BASE_DN" \
    '(sAMAccountName=svc_web$)' msDS-ManagedPassword msDS-KeyVersionNumber servicePrincipalName \
    msDS-SupportedEncryptionTypes 2>&1) || true
  if grep -q '^msDS-ManagedPassword:: ' <<<"$out"; then
    ok "host1\$ ldapsearch -Y GSSAPI svc_web\$: blob present ($(grep -o 'SASL SSF: [0-9]*' <<<"$out"))" "$(elapsed "$t0")"
    while IFS= read -r line; do
      case $line in
        SASL* | "#"*) ;;
        "msDS-ManagedPassword:: "*)
          printf '          %.48s... (%s bytes)\n' "$line" "$(base64 -d <<<"${line#*:: }" | wc -c)" ;;
        ?*) printf '          %s\n' "$line" ;;
      esac
    done <<<"$out"
  else
    bad "host1\$ ldapsearch -Y GSSAPI svc_web\$: no blob" "$out"
  fi

  t0=$(now_ms)
  out=$(lab_ldapsearch "$cc1" '(sAMAccountName=svc_denied$)' msDS-ManagedPassword msDS-KeyVersionNumber 2>&1) || true
  if grep -q '^dn: CN=svc_denied' <<<"$out" && ! grep -q '^msDS-ManagedPassword' <<<"$out"; then
    ok "host1\$ reads svc_denied\$: object visible, no msDS-ManagedPassword" "$(elapsed "$t0")"
  else
    bad "host1\$ reads svc_denied\$" "$out"
  fi

  t0=$(now_ms)
  if out=$(lab_run_cc "$cc1" ldapsearch -LLL -Q -Y GSSAPI -O maxssf=0 -H "ldap://$DC_FQDN" -b "$BASE_DN" \
    '(sAMAccountName=svc_web$)' msDS-ManagedPassword 2>&1); then
    bad "ldapsearch -O maxssf=0 must be refused" "$out"
  else
    ok "ldapsearch -O maxssf=0 refused: $(grep -o 'Strong(er) authentication required' <<<"$out" || echo "${out//$'\n'/ }")" "$(elapsed "$t0")"
  fi

  for i in svc_rc4 svc_aes svc_none svc_all svc_ren svc_bulk01 svc_bulk50; do
    blob_check "$cc1" "host1\$" "$i\$"
  done
  # msDS-SupportedEncryptionTypes absent: Samba 4.22's "kdc default domain supported enctypes = 0" means
  # RC4 + AES256-SK, so the ticket is RC4 (with an AES256 session key), not AES.
  ticket_check "$cc1" HTTP/web.example.test arcfour
  ticket_check "$cc1" HTTP/web arcfour
  ticket_check "$cc1" HTTP/rc4.example.test arcfour
  ticket_check "$cc1" HTTP/aes.example.test aes256
  ticket_check "$cc1" HTTP/none.example.test arcfour
  ticket_check "$cc1" HTTP/all.example.test aes256
  ticket_check "$cc1" HTTP/ren.example.test aes256
  ticket_check "$cc1" HTTP/bulk01.example.test arcfour
  ticket_check "$cc1" HTTP/bulk50.example.test arcfour

  t0=$(now_ms)
  if out=$(lab_run_cc "$cc2" kinit -k -t "$HOST2_KEYTAB" "host2\$@$REALM" 2>&1); then
    ok "kinit -k host2\$@$REALM (host2.keytab)" "$(elapsed "$t0")"
    t0=$(now_ms)
    out=$(lab_ldapsearch "$cc2" '(sAMAccountName=svc_web$)' msDS-ManagedPassword 2>&1) || true
    if grep -q '^dn: ' <<<"$out" && ! grep -q '^msDS-ManagedPassword' <<<"$out"; then
      ok "host2\$ reads svc_web\$: object visible, no msDS-ManagedPassword" "$(elapsed "$t0")"
    else
      bad "host2\$ reads svc_web\$" "$out"
    fi
  else
    bad "kinit -k host2\$@$REALM" "$out"
  fi
  rm -f "$RUN/ccache.host2"

  if [ "$CHECK_FAIL" = 0 ]; then
    echo "lab check passed in $(elapsed "$t_all")"
  else
    echo "lab check FAILED (after $(elapsed "$t_all"))"
    exit 1
  fi
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

main() {
  [ $# -gt 0 ] || usage
  local cmd=$1
  shift
  case $cmd in
    up) cmd_up "$@" ;;
    restart) cmd_restart "$@" ;;
    stop-dc) cmd_stop_dc "$@" ;;
    start-dc) cmd_start_dc "$@" ;;
    down) cmd_down "$@" ;;
    purge) cmd_purge "$@" ;;
    exec) cmd_exec "$@" ;;
    env) cmd_env "$@" ;;
    check) cmd_check "$@" ;;
    status) cmd_status "$@" ;;
    -h | --help | help) usage ;;
    *)
      echo "lab: unknown subcommand: $cmd" >&2
      usage
      ;;
  esac
}

main "$@"
