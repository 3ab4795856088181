#!/usr/bin/env bash
# Makes sure the DICOM validators the tests run exist: `dciodvfy` (Debian dicom3tools) checks every
# dose report doseedge writes against the standard; `dsrdump`, `storescp` (Debian dcmtk) read it back
# and receive it over C-STORE. Installs the Debian packages when missing and we can (root with
# apt-get); otherwise fails loudly and says how. Never a silent skip.
set -euo pipefail

missing() {
  for tool in dciodvfy dsrdump storescp; do
    command -v "$tool" >/dev/null 2>&1 || { echo "$tool"; return; }
  done
}

if [ -z "$(missing)" ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "DICOM tools not found ($(missing)): installing Debian packages 'dcmtk' and 'dicom3tools'" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends dcmtk dicom3tools >/dev/null
fi
if [ -n "$(missing)" ]; then
  echo "ERROR: the tests need '$(missing)' (dcmtk, dicom3tools) and it is not installed." >&2
  echo "       Install them with:  sudo apt-get install dcmtk dicom3tools   (or your OS's packages)" >&2
  exit 1
fi
