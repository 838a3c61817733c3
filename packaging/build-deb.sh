#!/usr/bin/env bash
# Build posterm's two Debian packages from this tree with dpkg-deb (packaging/packages.toml
# says what each one's venv holds):
#   posterm       the terminal: postermd and the operator CLI in /opt/posterm/venv (from
#                 packaging/posterm.lock), posterm.service, the udev rules, sysusers.d and
#                 tmpfiles.d entries, /etc/posterm/posterm.toml (a conffile)
#   posterm-host  the back office: posterm-host in /opt/posterm-host/venv (from
#                 packaging/posterm-host.lock), posterm-host.service, its sysusers.d and
#                 tmpfiles.d entries, /etc/posterm/posterm-host.toml (a conffile), and the
#                 examples its administrator needs: Mosquitto's config and access rules,
#                 Prometheus's alert rules, the Grafana board
# Each has /usr/share/doc/PACKAGE/copyright (DEP-5, packaging/copyright.py),
# changelog.Debian.gz and changelog.gz (CHANGELOG.md), its lintian overrides, and the
# maintainer scripts packaging/debian/PACKAGE.{postinst,prerm,postrm}.
#
#   packaging/build-deb.sh [OUTDIR]      (default dist/; `make deb`)
#
# Prints the path of each package built. Environment: PACKAGES (default "posterm
# posterm-host"); TARGET_PYTHON, TOOL_PYTHON, WHEELHOUSE (see build-venv.sh); WORKDIR, the
# staging trees (default build/deb); DEB_REVISION (the Debian revision, default 1);
# DEB_MAINTAINER; DEB_COMPRESS, dpkg-deb's -Z (default xz, the smallest: Debian's archive
# tools and lintian take gz or xz members only; zstd builds ~6x faster for 30% more bytes
# and dpkg 1.21.18+ installs it, for a quick local build); DEB_LEVEL, dpkg-deb's -z (default
# 6; the tests build with 1: a third of the time for a few per cent more bytes).
# The packages are for the architecture this runs on, or DEB_ARCH: `make deb DEB_ARCH=arm64`
# on a PC builds the Pi's (64-bit Raspberry Pi OS) from the aarch64 wheels of the locks.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$ROOT/dist}"
WORK="${WORKDIR:-$ROOT/build/deb}"
TARGET_PYTHON="${TARGET_PYTHON:-/usr/bin/python3}"
TOOL_PYTHON="${TOOL_PYTHON:-$ROOT/.venv/bin/python}"
export TARGET_PYTHON TOOL_PYTHON

upstream="$("$TARGET_PYTHON" -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' "$ROOT/pyproject.toml")"
version="$upstream-${DEB_REVISION:-1}"
pyver="$("$TARGET_PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
arch="${DEB_ARCH:-$(dpkg --print-architecture)}"
export DEB_ARCH="$arch"
maintainer="${DEB_MAINTAINER:-posterm maintainers <posterm@example.org>}"
# the changelog's date: the commit's (the same tree builds the same package), else now
when="${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || date +%s)}"
mkdir -p "$OUT"

# the oldest glibc every binary wheel in a venv runs on (the lowest manylinux tag of each
# wheel, the highest of those): pip picks wheels for the build machine's glibc
libc_floor() {
    "$TARGET_PYTHON" - "$1" <<'PY'
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
}

build() {  # build PACKAGE: stage it (stage_PACKAGE), then what every package has
    local pkg="$1" stage="$WORK/$1"
    rm -rf "$stage"
    mkdir -p "$stage/DEBIAN"
    STAGE="$stage"
    "$ROOT/packaging/build-venv.sh" "$stage/opt/$pkg/venv" "/opt/$pkg/venv" "$pkg"
    put 0644 README.md "/opt/$pkg/README.md"
    "stage_${pkg//-/_}"

    local doc="$stage/usr/share/doc/$pkg"
    mkdir -p "$doc"
    "$TARGET_PYTHON" "$ROOT/packaging/copyright.py" "$pkg" "$stage/opt/$pkg/venv" \
        "/opt/$pkg/venv" > "$doc/copyright"
    gzip -9n < "$ROOT/CHANGELOG.md" > "$doc/changelog.gz"
    {
        echo "$pkg ($version) unstable; urgency=medium"
        echo
        echo "  * Built from posterm $upstream; its changes are in changelog.gz."
        echo
        echo " -- $maintainer  $(LC_ALL=C date -u -R -d "@$when")"
    } | gzip -9n > "$doc/changelog.Debian.gz"
    put 0644 "packaging/debian/$pkg.lintian-overrides" "/usr/share/lintian/overrides/$pkg"
    # dpkg-deb keeps the modes: no group-writable file whatever this machine's umask was,
    # and shared libraries are not executables (pip installs them 0755)
    chmod -R g-w,o-w "$stage"
    find "$stage/opt" -type f \( -name '*.so' -o -name '*.so.*' \) -exec chmod 0644 {} +

    for script in postinst prerm postrm; do
        install -m 0755 "$ROOT/packaging/debian/$pkg.$script" "$stage/DEBIAN/$script"
    done
    (cd "$stage" && find etc -type f -printf '/%p\n' | sort) \
        > "$stage/DEBIAN/conffiles"
    # python3 too: a few libraries' helper scripts (argcomplete's) start #!/usr/bin/env python3
    cat > "$stage/DEBIAN/control" <<EOF
Package: $pkg
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)
Depends: $(libc_floor "$stage/opt/$pkg/venv")python$pyver, python3, $DEPENDS
${RELATIONS}Section: misc
Priority: optional
$DESCRIPTION
EOF
    (cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z \
        | xargs -0 md5sum > DEBIAN/md5sums)
    local deb="$OUT/${pkg}_${version}_${arch}.deb"
    dpkg-deb --root-owner-group -Z"${DEB_COMPRESS:-xz}" -z"${DEB_LEVEL:-6}" --build "$stage" "$deb" >/dev/null
    echo "$deb"
}

put() {  # put MODE SOURCE DEST (SOURCE in the checkout, DEST under the staging root)
    install -D -m "$1" "$ROOT/$2" "$STAGE$3"
}

bin_links() {  # the CLIs on PATH: /usr/bin/NAME -> the venv's
    mkdir -p "$STAGE/usr/bin"
    for tool in "$@"; do
        ln -sf "/opt/$PKG_NAME/venv/bin/$tool" "$STAGE/usr/bin/$tool"
    done
}

stage_posterm() {
    PKG_NAME=posterm
    put 0644 systemd/posterm.service /lib/systemd/system/posterm.service
    put 0644 systemd/posterm.sysusers /usr/lib/sysusers.d/posterm.conf
    put 0644 systemd/posterm.tmpfiles /usr/lib/tmpfiles.d/posterm.conf
    # conffiles (everything under /etc): an administrator's edits survive upgrades (dpkg
    # asks when both changed). The config becomes 0640 root:posterm through tmpfiles.d in
    # postinst (the group does not exist when dpkg unpacks).
    # The udev rules are a conffile in /etc, not a package file in /lib/udev/rules.d (where
    # Debian's own packages put theirs): every site must edit them (its adapters' serial
    # numbers), and dpkg keeps those edits across upgrades.
    put 0644 systemd/99-posterm.rules /etc/udev/rules.d/99-posterm.rules
    put 0644 deploy/posterm.toml.example /etc/posterm/posterm.toml
    put 0644 deploy/posterm.toml.example /usr/share/doc/posterm/examples/posterm.toml.example
    bin_links posterm
    DEPENDS="libusb-1.0-0, systemd, init-system-helpers (>= 1.60), udev"
    RELATIONS=""
    DESCRIPTION="Description: countertop payment terminal software for a Raspberry Pi
 postermd drives a certified card terminal over ZVT (serial or TCP), prints
 receipts on an ESC/POS printer, reads buttons and lights LEDs through GPIO,
 and syncs its journal of payments to the back office over MQTT.
 .
 This is the terminal; the back office is in the posterm-host package. The
 Python application and its locked dependencies live in /opt/posterm/venv."
}

stage_posterm_host() {
    PKG_NAME=posterm-host
    local examples=/usr/share/doc/posterm-host/examples
    put 0644 systemd/posterm-host.service /lib/systemd/system/posterm-host.service
    put 0644 systemd/posterm-host-sender.service /lib/systemd/system/posterm-host-sender.service
    put 0644 systemd/posterm-host.sysusers /usr/lib/sysusers.d/posterm-host.conf
    put 0644 systemd/posterm-host.tmpfiles /usr/lib/tmpfiles.d/posterm-host.conf
    # a conffile; 0640 root:posterm-host through tmpfiles.d in postinst
    put 0644 deploy/posterm-host.toml.example /etc/posterm/posterm-host.toml
    put 0644 deploy/posterm-host.toml.example "$examples/posterm-host.toml.example"
    # the broker's config and the tools that write its certificates and access rules
    put 0644 deploy/mosquitto/posterm.conf "$examples/mosquitto/posterm.conf"
    put 0755 deploy/mosquitto/make-certs.py "$examples/mosquitto/make-certs.py"
    put 0755 deploy/mosquitto/make-dynsec.py "$examples/mosquitto/make-dynsec.py"
    put 0644 deploy/prometheus/posterm-alerts.yml "$examples/prometheus/posterm-alerts.yml"
    put 0644 deploy/grafana/posterm-fleet.json "$examples/grafana/posterm-fleet.json"
    bin_links posterm-host
    DEPENDS="systemd, init-system-helpers (>= 1.60)"
    RELATIONS="Suggests: mosquitto, postgresql
"
    DESCRIPTION="Description: back office for a fleet of posterm payment terminals
 posterm-host ingests the terminals' events from the MQTT broker exactly
 once, keeps the fleet's state (SQLite or PostgreSQL), approves refunds,
 sends signed commands, enrols terminals and serves the fleet dashboard.
 .
 Examples for the broker (Mosquitto), Prometheus and Grafana are in
 /usr/share/doc/posterm-host/examples. The Python application and its locked
 dependencies live in /opt/posterm-host/venv."
}

for pkg in ${PACKAGES:-posterm posterm-host}; do
    case "$pkg" in
        posterm|posterm-host) build "$pkg" ;;
        *) echo "build-deb: unknown package $pkg (posterm, posterm-host)" >&2; exit 2 ;;
    esac
done
