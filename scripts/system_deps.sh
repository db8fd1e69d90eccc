#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, only where missing (root on a Debian machine).
set -euo pipefail
need=()
command -v text2wave >/dev/null || need+=(festival)
[ -d /usr/share/festival/voices/russian ] || need+=(festvox-ru)
command -v sox >/dev/null || need+=(sox libsox-fmt-all)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing system packages: ${need[*]} (install them with apt-get as root)" >&2
    exit 1
  fi
  echo "installing system packages: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
