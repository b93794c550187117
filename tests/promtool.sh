#!/usr/bin/env bash
# The shipped Prometheus alerting rules: valid (promtool check rules) and each alert firing on
# the series that should trigger it and silent on a healthy host (promtool test rules).
# promtool comes from tests/lab/install-deps.sh (unpacked from Debian's prometheus package).
set -euo pipefail
cd "$(dirname "$0")/../packaging/prometheus"
promtool=$(command -v promtool || echo /opt/gmsa-promtool/usr/bin/promtool)
[ -x "$promtool" ] || {
  echo "promtool.sh: promtool not found; run tests/lab/install-deps.sh" >&2
  exit 1
}
"$promtool" check rules gmsa-keytab.rules.yml
"$promtool" test rules gmsa-keytab.rules.test.yml
