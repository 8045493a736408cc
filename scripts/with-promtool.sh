#!/usr/bin/env bash
# with-promtool.sh CMD...: run CMD with Prometheus's promtool at hand.
#
# The alert rules' tests (metrics TestAlerts_promtool*, TestDashboard_promtool*)
# run `promtool check rules` and `promtool test rules` on deploy/prometheus.
# This finds promtool (REGLOCK_PROMTOOL, else on PATH), installs Debian's
# prometheus package with apt-get if there is none, exports REGLOCK_PROMTOOL
# (the promtool the tests run), and runs CMD.
# Chain it with the others: ./scripts/with-redis.sh ./scripts/with-promtool.sh go test ./...
set -euo pipefail

promtool=${REGLOCK_PROMTOOL:-}
if [ -z "$promtool" ] && command -v promtool >/dev/null 2>&1; then
  promtool=$(command -v promtool)
fi
if [ -z "$promtool" ]; then
  echo "with-promtool: promtool not found; installing Debian's prometheus package with apt-get" >&2
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq >&2
  # promtool comes only with the server. On a host that runs systemd the
  # package also starts prometheus.service (on :9090), which the tests do
  # not need: `systemctl disable --now prometheus` if it is in the way.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >&2
  promtool=$(command -v promtool || true)
  if [ -z "$promtool" ]; then
    echo "with-promtool: the prometheus package installed no promtool" >&2
    exit 1
  fi
fi
if [ ! -x "$promtool" ]; then
  echo "with-promtool: $promtool is not an executable" >&2
  exit 1
fi
echo "with-promtool: $promtool ($("$promtool" --version 2>&1 | head -n 1))" >&2

export REGLOCK_PROMTOOL="$promtool"
exec "$@"
