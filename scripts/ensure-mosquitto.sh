#!/usr/bin/env bash
# Makes sure the `mosquitto` broker binary exists: the tests start a private one on a free
# loopback port. Installs Debian's package when missing and we can (root with apt-get);
# otherwise fails loudly and says how. Never a silent skip.
set -euo pipefail

find_mosquitto() {
  command -v mosquitto 2>/dev/null || { [ -x /usr/sbin/mosquitto ] && echo /usr/sbin/mosquitto; } || true
}

if [ -n "$(find_mosquitto)" ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "mosquitto not found: installing Debian package 'mosquitto'" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends mosquitto >/dev/null
fi
if [ -z "$(find_mosquitto)" ]; then
  echo "ERROR: the tests need the Mosquitto broker binary and it is not installed." >&2
  echo "       Install it with:  sudo apt-get install mosquitto   (or your OS's package)" >&2
  exit 1
fi
