#!/usr/bin/env bash
# Install posterm from a checkout on one machine, as the two .debs do (`make deb` is the
# packaged way): the terminal in a venv in /opt/posterm and the back office in one in
# /opt/posterm-host (each hash-pinned from its lock, packaging/build-venv.sh), the users
# (sysusers.d), directories and config permissions (tmpfiles.d), udev rules, the units,
# example configs in /etc/posterm. Local-admin places: units in /etc/systemd/system,
# /etc/sysusers.d, /etc/tmpfiles.d, /etc/udev/rules.d, /usr/local/bin.
#
#   sudo systemd/install.sh [--root DIR] [--uninstall]
#
# Idempotent: run it again to update (a venv is rebuilt only when its sources, its lock
# or the Python changed); configs and udev rules you edited are kept (a newer
# udev rules file is put beside yours as 99-posterm.rules.dist). postermd is enabled, not
# started (edit /etc/posterm/posterm.toml, then `systemctl start posterm`); an update
# restarts it if it was running. --uninstall removes what it installed but keeps
# /etc/posterm, the journal in /var/lib/posterm, /var/lib/posterm-host and the users.
# --root DIR: a staged install into DIR (an image, a test): nothing on the running system
# is touched, users and directories are made in DIR's /etc/passwd and /var.
# Environment: TOOL_PYTHON (a Python with pip, setuptools>=68, wheel; default the
# checkout's .venv, else one made in build/install-tools), TARGET_PYTHON, WHEELHOUSE.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
R=""
uninstall=0
while [ $# -gt 0 ]; do
    case "$1" in
        --root) R="${2:?--root needs a directory}"; shift 2 ;;
        --root=*) R="${1#--root=}"; shift ;;
        --uninstall) uninstall=1; shift ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
done
if [ -n "$R" ]; then
    mkdir -p "$R"
    R="$(cd "$R" && pwd)"
    [ "$R" != / ] || R=""
fi
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root (users, ownerships)" >&2; exit 1; }

# the two packages of packaging/packages.toml, each a venv in /opt/NAME
PACKAGES=(posterm posterm-host)
live_systemd() { [ -z "$R" ] && [ -d /run/systemd/system ]; }
live_udev() { [ -z "$R" ] && [ -d /run/udev ] && command -v udevadm >/dev/null; }
systemctl_() { systemctl ${R:+--root="$R"} "$@"; }
UNITS=(posterm.service posterm-host.service posterm-host-sender.service)
FILES=(  # source in the checkout -> installed path (both always replaced)
    "systemd/posterm.service:/etc/systemd/system/posterm.service"
    "systemd/posterm-host.service:/etc/systemd/system/posterm-host.service"
    "systemd/posterm-host-sender.service:/etc/systemd/system/posterm-host-sender.service"
    "systemd/posterm.sysusers:/etc/sysusers.d/posterm.conf"
    "systemd/posterm-host.sysusers:/etc/sysusers.d/posterm-host.conf"
    "systemd/posterm.tmpfiles:/etc/tmpfiles.d/posterm.conf"
    "systemd/posterm-host.tmpfiles:/etc/tmpfiles.d/posterm-host.conf"
    "README.md:/opt/posterm/README.md"
    "README.md:/opt/posterm-host/README.md"
)

if [ "$uninstall" = 1 ]; then
    if live_systemd; then
        systemctl disable --now "${UNITS[@]}" 2>/dev/null || true
    else
        systemctl_ disable "${UNITS[@]}" >/dev/null 2>&1 || true
    fi
    for pair in "${FILES[@]}"; do rm -f "$R${pair#*:}"; done
    rm -f "$R/etc/udev/rules.d/99-posterm.rules" "$R/etc/udev/rules.d/99-posterm.rules.dist"
    rm -f "$R/usr/local/bin/posterm" "$R/usr/local/bin/posterm-host"
    for pkg in "${PACKAGES[@]}"; do
        rm -rf "$R/opt/$pkg/venv" "$R/opt/$pkg/venv.new" "$R/opt/$pkg/venv.old"
        rmdir "$R/opt/$pkg" 2>/dev/null || true
    done
    if live_systemd; then systemctl daemon-reload; fi
    if live_udev; then udevadm control --reload-rules || true; fi
    echo "posterm uninstalled. Kept: /etc/posterm, /var/lib/posterm (the journal), /var/lib/posterm-host, the users."
    exit 0
fi

# the build tools: the checkout's dev venv (`make`), else a small one of their own
if [ -z "${TOOL_PYTHON:-}" ]; then
    TOOL_PYTHON="$SRC/.venv/bin/python"
    if ! "$TOOL_PYTHON" -c 'import setuptools, wheel' 2>/dev/null; then
        TOOL_PYTHON="$SRC/build/install-tools/bin/python"
        if ! "$TOOL_PYTHON" -c 'import setuptools, wheel' 2>/dev/null; then
            python3 -m venv "$SRC/build/install-tools"
            "$TOOL_PYTHON" -m pip install --quiet 'setuptools>=68' wheel
        fi
    fi
fi
export TOOL_PYTHON

# each venv: built beside the old one, then swapped in (a running postermd keeps its
# files), unless the installed one was built from the same sources, lock and Python
running=()
for u in "${UNITS[@]}"; do
    if live_systemd && systemctl --quiet is-active "$u"; then running+=("$u"); fi
done
for pkg in "${PACKAGES[@]}"; do
    dir="/opt/$pkg"
    fingerprint="$(cd "$SRC" && {
        readlink -f "${TARGET_PYTHON:-/usr/bin/python3}"
        "${TARGET_PYTHON:-/usr/bin/python3}" -V
        sha256sum "packaging/$pkg.lock" packaging/packages.toml pyproject.toml README.md
        # the folders of [tool.setuptools.package-dir] in pyproject.toml
        find protocol drivers daemon hw-sim host -type f ! -name '*.pyc' -print0 | sort -z \
            | xargs -0 sha256sum
    } | sha256sum | cut -d' ' -f1)"
    stamp="$R$dir/venv/.posterm-build"
    if [ "$(cat "$stamp" 2>/dev/null)" = "$fingerprint" ]; then
        echo "install.sh: $dir/venv is up to date"
    else
        "$SRC/packaging/build-venv.sh" "$R$dir/venv.new" "$dir/venv" "$pkg"
        echo "$fingerprint" > "$R$dir/venv.new/.posterm-build"
        rm -rf "$R$dir/venv.old"
        if [ -e "$R$dir/venv" ]; then mv "$R$dir/venv" "$R$dir/venv.old"; fi
        mv "$R$dir/venv.new" "$R$dir/venv"
        rm -rf "$R$dir/venv.old"
    fi
done
mkdir -p "$R/usr/local/bin"
ln -sfn "/opt/posterm/venv/bin/posterm" "$R/usr/local/bin/posterm"
ln -sfn "/opt/posterm-host/venv/bin/posterm-host" "$R/usr/local/bin/posterm-host"

for pair in "${FILES[@]}"; do
    install -D -m 0644 "$SRC/${pair%%:*}" "$R${pair#*:}"
done
# what an administrator edits is never overwritten
rules="$R/etc/udev/rules.d/99-posterm.rules"
if [ ! -e "$rules" ]; then
    install -D -m 0644 "$SRC/systemd/99-posterm.rules" "$rules"
elif ! cmp -s "$SRC/systemd/99-posterm.rules" "$rules"; then
    install -m 0644 "$SRC/systemd/99-posterm.rules" "$rules.dist"
    echo "install.sh: kept your $rules; the current rules are in $rules.dist"
fi
install -d -m 0755 "$R/etc/posterm"
for conf in posterm posterm-host; do
    if [ ! -e "$R/etc/posterm/$conf.toml" ]; then
        install -m 0644 "$SRC/deploy/$conf.toml.example" "$R/etc/posterm/$conf.toml"
    fi
done

systemd-sysusers ${R:+--root="$R"} posterm.conf posterm-host.conf
systemd-tmpfiles ${R:+--root="$R"} --create posterm.conf posterm-host.conf   # and 0640 configs
if live_udev; then
    udevadm control --reload-rules || true
    udevadm trigger --action=change --subsystem-match=tty --subsystem-match=usb \
        --subsystem-match=gpio || true
fi
if live_systemd; then systemctl daemon-reload; fi
systemctl_ --quiet enable posterm.service
# what ran before runs the new files now (posterm-host is enabled by hand where it runs)
if [ ${#running[@]} -gt 0 ]; then systemctl restart "${running[@]}"; fi

echo "posterm installed${R:+ into $R}. Edit /etc/posterm/posterm.toml, then: systemctl start posterm"
echo "Operator CLI: posterm status (as root or a member of group posterm, with [control] group = \"posterm\")"
