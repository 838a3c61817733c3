#!/usr/bin/env bash
# Build the posterm Debian package with dpkg-deb: the app in a venv under /opt/posterm
# (packaging/build-venv.sh: hash-pinned from packaging/requirements.lock), the units in
# /lib/systemd/system, sysusers.d and tmpfiles.d entries, the udev rules and the example
# configs under /etc as conffiles, and the maintainer scripts of packaging/debian/.
#
#   packaging/build-deb.sh [OUTDIR]      (default dist/; `make deb`)
#
# Environment: TARGET_PYTHON, TOOL_PYTHON, WHEELHOUSE (see build-venv.sh); WORKDIR, the
# staging tree (default build/deb); DEB_COMPRESS, dpkg-deb's -Z (default zstd: dpkg 1.21.18+, as in Debian 12
# and Raspberry Pi OS bookworm; ~6x faster to build than xz for 30% more bytes).
# The package is for the architecture this runs on, or DEB_ARCH: `make deb DEB_ARCH=arm64`
# on a PC builds the Pi's (64-bit Raspberry Pi OS) from the aarch64 wheels of the lock.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$ROOT/dist}"
WORK="${WORKDIR:-$ROOT/build/deb}"
TARGET_PYTHON="${TARGET_PYTHON:-/usr/bin/python3}"
export TARGET_PYTHON
STAGE="$WORK/root"

version="$("$TARGET_PYTHON" -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' "$ROOT/pyproject.toml")"
pyver="$("$TARGET_PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
arch="${DEB_ARCH:-$(dpkg --print-architecture)}"
export DEB_ARCH="$arch"

rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$OUT"
"$ROOT/packaging/build-venv.sh" "$STAGE/opt/posterm/venv" /opt/posterm/venv

put() {  # put MODE SOURCE DEST (DEST under the staging root)
    install -D -m "$1" "$ROOT/$2" "$STAGE$3"
}
put 0644 README.md /opt/posterm/README.md
put 0644 systemd/posterm.service /lib/systemd/system/posterm.service
put 0644 systemd/posterm-host.service /lib/systemd/system/posterm-host.service
put 0644 systemd/posterm.sysusers /usr/lib/sysusers.d/posterm.conf
put 0644 systemd/posterm.tmpfiles /usr/lib/tmpfiles.d/posterm.conf
# conffiles: an administrator's edits survive upgrades (dpkg asks when both changed)
put 0644 systemd/99-posterm.rules /etc/udev/rules.d/99-posterm.rules
put 0644 deploy/posterm.toml.example /etc/posterm/posterm.toml
put 0644 deploy/posterm-host.toml.example /etc/posterm/posterm-host.toml
# (the configs become 0640 root:posterm / root:posterm-host through tmpfiles.d in postinst:
# the groups do not exist when dpkg unpacks)
for f in posterm.toml.example posterm-host.toml.example; do
    put 0644 "deploy/$f" "/usr/share/doc/posterm/examples/$f"
done
for tool in posterm posterm-host; do  # the operator CLIs on PATH
    mkdir -p "$STAGE/usr/bin"
    ln -sf "/opt/posterm/venv/bin/$tool" "$STAGE/usr/bin/$tool"
done

# the oldest glibc every binary wheel in the venv runs on (the lowest manylinux tag of each
# wheel, the highest of those): pip picks wheels for the build machine's glibc
libc="$("$TARGET_PYTHON" - "$STAGE/opt/posterm/venv" <<'PY'
import re, sys
from pathlib import Path
legacy = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
need = (0, 0)
for wheel in Path(sys.argv[1]).glob("lib/python3*/site-packages/*.dist-info/WHEEL"):
    floors = []
    for line in wheel.read_text().splitlines():
        if line.startswith("Tag: "):
            platform = line.rsplit("-", 1)[1]
            tag = re.match(r"manylinux_(\d+)_(\d+)_", platform)
            if tag:
                floors.append((int(tag[1]), int(tag[2])))
            elif platform.split("_")[0] in legacy:
                floors.append(legacy[platform.split("_")[0]])
    if floors:
        need = max(need, min(floors))
print("libc6 (>= %d.%d), " % need if need > (0, 0) else "")
PY
)"

# The udev rules are a conffile in /etc, not a package file in /lib/udev/rules.d (where
# Debian's own packages put theirs): every site must edit them (its adapters' serial
# numbers), and dpkg keeps those edits across upgrades.
cat > "$STAGE/DEBIAN/conffiles" <<EOF
/etc/posterm/posterm.toml
/etc/posterm/posterm-host.toml
/etc/udev/rules.d/99-posterm.rules
EOF
for script in postinst prerm postrm; do
    install -m 0755 "$ROOT/packaging/debian/$script" "$STAGE/DEBIAN/$script"
done
cat > "$STAGE/DEBIAN/control" <<EOF
Package: posterm
Version: $version
Architecture: $arch
Maintainer: posterm maintainers <posterm@localhost>
Installed-Size: $(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
Depends: ${libc}python$pyver, libusb-1.0-0, systemd, init-system-helpers (>= 1.60), udev
Section: misc
Priority: optional
Description: countertop payment terminal software for a Raspberry Pi
 postermd drives a certified card terminal over ZVT (serial or TCP), prints
 receipts on an ESC/POS printer, reads buttons and lights LEDs through GPIO,
 and syncs its journal of payments to the back office over MQTT.
 posterm-host is the back office: event ingest, fleet state, refund approvals.
 The Python application and its locked dependencies live in /opt/posterm/venv.
EOF
(cd "$STAGE" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z \
    | xargs -0 md5sum > DEBIAN/md5sums)

deb="$OUT/posterm_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Z"${DEB_COMPRESS:-zstd}" --build "$STAGE" "$deb" >/dev/null
echo "$deb"
