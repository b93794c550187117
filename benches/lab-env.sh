# Sourced (from the checkout's root) by the benchmarks that time syncs against the lab DC:
# the lab's packages, a release build, the lab up and its environment (GMSALAB_*), a scratch
# directory $work removed on exit, $lab and $bin.
#   . benches/lab-env.sh NAME     ($work is /tmp/gmsa-NAME.XXXXXX)
lab=tests/lab/lab.sh
bash tests/lab/install-deps.sh >/dev/null
cargo build --release --locked --quiet
bash "$lab" up >/dev/null
eval "$(bash "$lab" env)"
work=$(mktemp -d "/tmp/gmsa-$1.XXXXXX")
trap 'rm -rf "$work"' EXIT
bin="$PWD/target/release/gmsa-keytab"
