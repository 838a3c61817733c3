#!/usr/bin/env bash
# Install posterm on a Raspberry Pi (Raspberry Pi OS / Debian): a venv in /opt/posterm,
# the posterm user, the systemd unit, udev rules and tmpfiles. Run as root from a
# checkout: sudo systemd/install.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX=/opt/posterm

id posterm >/dev/null 2>&1 || useradd --system --home-dir /var/lib/posterm --shell /usr/sbin/nologin posterm
getent group gpio >/dev/null || groupadd --system gpio
python3 -m venv "$PREFIX/venv"
"$PREFIX/venv/bin/pip" install --quiet --upgrade pip
"$PREFIX/venv/bin/pip" install --quiet .
install -m 0644 README.md "$PREFIX/README.md"
install -d -m 0750 -o root -g posterm /etc/posterm
[ -f /etc/posterm/posterm.toml ] || install -m 0640 -o root -g posterm systemd/posterm.toml.example /etc/posterm/posterm.toml
install -m 0644 systemd/posterm.service /etc/systemd/system/posterm.service
install -m 0644 systemd/99-posterm.rules /etc/udev/rules.d/99-posterm.rules
install -m 0644 systemd/posterm.tmpfiles /etc/tmpfiles.d/posterm.conf
systemd-tmpfiles --create /etc/tmpfiles.d/posterm.conf
udevadm control --reload-rules && udevadm trigger
systemctl daemon-reload
systemctl enable posterm.service
echo "posterm installed. Edit /etc/posterm/posterm.toml, then: systemctl start posterm"
echo "Operator CLI: POSTERM_SOCKET=/run/posterm/control.sock $PREFIX/venv/bin/posterm status"
