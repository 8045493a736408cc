#!/usr/bin/env bash
# with-php.sh CMD...: run CMD with php-cli (and its curl extension) at hand.
#
# The WHMCS integration's test (cmd/reglock TestWHMCS) runs the addon's hooks
# in php-cli. This installs Debian's php-cli and php-curl with apt-get if no
# php with curl is found, exports REGLOCK_PHP (the php the test runs), and
# runs CMD. Chain it with with-redis.sh:
#   ./scripts/with-redis.sh ./scripts/with-php.sh go test ./...
set -euo pipefail

php=${REGLOCK_PHP:-}
if [ -z "$php" ] && command -v php >/dev/null 2>&1; then php=$(command -v php); fi
if [ -z "$php" ] || ! "$php" -r 'exit(function_exists("curl_init") ? 0 : 1);' >/dev/null 2>&1; then
  echo "with-php: php with curl not found; installing php-cli and php-curl with apt-get" >&2
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq php-cli php-curl >&2
  php=$(command -v php)
fi
echo "with-php: $php" >&2

export REGLOCK_PHP="$php"
exec "$@"
