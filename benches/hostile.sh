#!/usr/bin/env bash
# The hostile-input figures of issue 9: every case run once through the release binary under
# /usr/bin/time -v, printed as a Markdown table (case, exit code, peak RSS, wall time).
# Usage: bash benches/hostile.sh [BINARY]   (default target/release/gmsa-keytab; as root for the
# configuration-trust rows). Inputs of 100 MB and 1 GiB are sparse files or /dev/zero streams.
set -uo pipefail
cd "$(dirname "$0")/.."
bin="$(realpath "${1:-target/release/gmsa-keytab}")"
blob="$PWD/tests/data/blob-b.bin"
d="$(mktemp -d)"
trap 'rm -rf "$d"' EXIT

derive=(derive --account 'svc_web$' --realm EXAMPLE.TEST --kvno 3)
"$bin" "${derive[@]}" --blob "$blob" --keytab "$d/web.keytab" 2>/dev/null

printf '| case | exit | peak RSS (KiB) | wall (s) |\n|---|---|---|---|\n'
# row NAME STDIN-FILE CMD...: runs CMD with stdin from STDIN-FILE, prints one table row.
row() {
  local name="$1" input="$2"
  shift 2
  /usr/bin/time -v -o "$d/time" "$@" <"$input" >/dev/null 2>"$d/err"
  local rc=$?
  local rss wall
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$d/time")
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$d/time")
  printf '| %s | %s | %s | %s |\n' "$name" "$rc" "$rss" "$wall"
}

row "derive --mode 7777" /dev/null "$bin" "${derive[@]}" --blob "$blob" --keytab "$d/a.keytab" --mode 7777
row "derive --mode 0644" /dev/null "$bin" "${derive[@]}" --blob "$blob" --keytab "$d/a.keytab" --mode 0644
row "derive --owner 4294967295" /dev/null "$bin" "${derive[@]}" --blob "$blob" --keytab "$d/a.keytab" --owner 4294967295
mkfifo "$d/f.keytab.lock"
row "FIFO at KEYTAB.lock" /dev/null "$bin" "${derive[@]}" --blob "$blob" --keytab "$d/f.keytab"
row "--keytab /dev/null" /dev/null "$bin" "${derive[@]}" --blob "$blob" --keytab /dev/null
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$d/s.keytab"
row "socket at the keytab" /dev/null "$bin" "${derive[@]}" --blob "$blob" --keytab "$d/s.keytab"
truncate -s 100M "$d/100M"
truncate -s 1G "$d/1G"
row "blob file 100 MB" /dev/null "$bin" "${derive[@]}" --blob "$d/100M" --keytab "$d/web.keytab"
row "blob file 1 GiB" /dev/null "$bin" "${derive[@]}" --blob "$d/1G" --keytab "$d/web.keytab"
row "--blob - from /dev/zero" /dev/zero "$bin" "${derive[@]}" --blob - --keytab "$d/web.keytab"
row "--blob /dev/zero" /dev/null "$bin" "${derive[@]}" --blob /dev/zero --keytab "$d/web.keytab"
mkfifo "$d/idle"
(exec 3>"$d/idle"; sleep 15) &
row "--blob - idle (a pipe that never writes)" "$d/idle" "$bin" "${derive[@]}" --blob - --keytab "$d/web.keytab"
kill %1 2>/dev/null
cp --sparse=always "$d/100M" "$d/100M.keytab"
cp --sparse=always "$d/1G" "$d/1G.keytab"
row "existing keytab 100 MB: derive" /dev/null "$bin" "${derive[@]}" --blob "$blob" --keytab "$d/100M.keytab"
row "existing keytab 1 GiB: derive" /dev/null "$bin" "${derive[@]}" --blob "$blob" --keytab "$d/1G.keytab"
row "existing keytab 1 GiB: show" /dev/null "$bin" show "$d/1G.keytab"
long=$(head -c 70000 /dev/zero | tr '\0' a)
row "--account of 70,000 characters" /dev/null "$bin" derive --account "$long" --realm EXAMPLE.TEST --kvno 3 --blob "$blob" --keytab "$d/b.keytab"
row "--account with a newline" /dev/null "$bin" derive --account $'svc\nweb' --realm EXAMPLE.TEST --kvno 3 --blob "$blob" --keytab "$d/b.keytab"
cat >"$d/config.toml" <<EOF
version = 1
state-dir = "$d/state"
[[account]]
name = "svc_web"
keytab = "$d/web.keytab"
EOF
chmod 0664 "$d/config.toml"
row "config group-writable (check-config, as root)" /dev/null "$bin" check-config "$d/config.toml"
chmod 0600 "$d/config.toml"
printf 'mode = "0644"\n' >>"$d/config.toml"
row "config mode = \"0644\"" /dev/null "$bin" check-config "$d/config.toml"
cp --sparse=always "$d/100M" "$d/big.toml"
row "config file 100 MB" /dev/null "$bin" check-config "$d/big.toml"
ls "$d" | grep -q '\.gmsa-keytab-tmp\.' && echo "leftover temp file" >&2
[ ! -e /dev/null.lock ] || echo "/dev/null.lock exists" >&2
