#!/usr/bin/env bash
# Install doseedge as a service on Raspberry Pi OS / Debian (run as root, from the source tree):
#   sudo bash deploy/install.sh [config/carm-room.toml]
# - a system user `doseedge` (no login, no home of its own) in the group `dialout` (serial ports);
# - the code in a virtual environment under /opt/doseedge (root-owned: the service cannot change it);
# - /etc/doseedge (root:doseedge 0750) with station.toml from the example given, if none is there yet;
# - the unit deploy/doseedge.service, enabled; it starts only once `check-config` passes.
# Secrets are never generated silently: the script prints what is still missing (docs/deployment.md).
set -euo pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EXAMPLE="${1:-$SRC/config/carm-room.toml}"
PREFIX=/opt/doseedge
ETC=/etc/doseedge
UNIT=/etc/systemd/system/doseedge.service

if [[ $(id -u) -ne 0 ]]; then
    echo "install.sh: run as root (sudo bash deploy/install.sh)" >&2
    exit 1
fi

apt-get install -y --no-install-recommends python3 python3-venv
if ! id doseedge >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /var/lib/doseedge --no-create-home \
        --shell /usr/sbin/nologin --groups dialout doseedge
fi
usermod -a -G dialout doseedge

python3 -m venv "$PREFIX/venv"
"$PREFIX/venv/bin/pip" install --quiet --upgrade pip
"$PREFIX/venv/bin/pip" install --quiet "$SRC"
install -d "$PREFIX/docs" && install -m 0644 "$SRC"/docs/*.md "$PREFIX/docs/"
chown -R root:root "$PREFIX"

install -d -o root -g doseedge -m 0750 "$ETC"
if [[ ! -e $ETC/station.toml ]]; then
    install -o root -g doseedge -m 0640 "$EXAMPLE" "$ETC/station.toml"
fi
install -o root -g root -m 0644 "$SRC/deploy/doseedge.service" "$UNIT"
systemctl daemon-reload
systemctl enable doseedge.service

cat <<MSG
doseedge installed. Before it starts, give it (owner doseedge, mode 0600 — check-config refuses wider):
  $ETC/broker-ca.crt          the hospital broker's CA certificate (0644 is fine for a CA)
  $ETC/mqtt-credentials       two lines: the station's broker user and password
  $ETC/senders.toml           who may send commands; one key file per sender, handed to that sender:
      $PREFIX/venv/bin/doseedge keygen --sender physicist-1 --role physicist \\
          --senders $ETC/senders.toml --key ./physicist-1.key && chown doseedge: $ETC/senders.toml
Edit $ETC/station.toml (station id, serial port by-id, geometry), then:
  sudo -u doseedge $PREFIX/venv/bin/doseedge check-config -c $ETC/station.toml
  systemctl start doseedge && journalctl -u doseedge -f
MSG
