#!/usr/bin/env bash
# Makes sure headless Chromium and its WebDriver exist: the operator-view tests drive the page
# served by the agent in a real browser (tests/web/). Installs Debian's packages `chromium` and
# `chromium-driver` when missing and we can (root with apt-get); otherwise fails loudly and says how.
# Never a silent skip, and never a browser downloaded from anywhere but the distribution.
set -euo pipefail

have_both() {
  command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1
}

if have_both; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "chromium/chromedriver not found: installing Debian packages 'chromium' and 'chromium-driver'" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
    chromium chromium-driver fonts-dejavu-core >/dev/null
fi
if ! have_both; then
  echo "ERROR: the operator-view tests need headless Chromium and chromedriver, and they are not installed." >&2
  echo "       Install them with:  sudo apt-get install chromium chromium-driver   (Debian/Ubuntu)" >&2
  exit 1
fi
