#!/usr/bin/env bash
# with-chromium.sh CMD...: run CMD with a headless-capable Chromium at hand.
#
# The browser tests (console TestConsole_inChromium, and cmd/reglock
# TestE2E_monitoringInChromium for asynqmon behind basic auth) drive a real
# Chromium. This installs Debian's chromium with apt-get if no browser is
# found, exports REGLOCK_CHROMIUM (the browser the test runs), and runs CMD.
# Chain it with with-redis.sh: ./scripts/with-redis.sh ./scripts/with-chromium.sh go test ./...
set -euo pipefail

browser=${REGLOCK_CHROMIUM:-}
if [ -z "$browser" ]; then
  for name in chromium chromium-browser google-chrome; do
    if command -v "$name" >/dev/null 2>&1; then browser=$(command -v "$name"); break; fi
  done
fi
if [ -z "$browser" ]; then
  echo "with-chromium: chromium not found; installing it with apt-get" >&2
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >&2
  browser=$(command -v chromium)
fi
echo "with-chromium: $browser" >&2

export REGLOCK_CHROMIUM="$browser"
exec "$@"
