#!/usr/bin/env bash
# mypy of firmware_bridge/ against the MicroPython stubs (RP2040 port + MicroPython's stdlib).
# The stubs go into their own directory, .firmware-stubs/, never into the venv's site-packages:
# they replace the standard library for this one mypy run and must not shadow CPython's for the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${BIN:-.venv/bin}"
STUBS=.firmware-stubs
REQ=firmware_bridge/stubs-requirements.txt
if [[ ! -f "$STUBS/.installed" || "$REQ" -nt "$STUBS/.installed" ]]; then
    rm -rf "$STUBS"
    "$BIN/pip" install --quiet --no-deps --target "$STUBS" -r "$REQ"
    touch "$STUBS/.installed"
fi
exec "$BIN/mypy" --config-file firmware_bridge/mypy.ini
