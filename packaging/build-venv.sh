#!/usr/bin/env bash
# Build posterm's runtime venv in DEST, with every path in it saying FINAL (where it will
# live: /opt/posterm/venv) for one of the packages of packaging/packages.toml (posterm, the
# terminal; posterm-host, the back office): from that package's lock (hash-pinned, installed
# with --require-hashes --no-deps) and a wheel of its part of this checkout. Used by
# build-deb.sh (DEST in the package's staging tree) and systemd/install.sh (DEST next to
# FINAL, then swapped in).
#
#   packaging/build-venv.sh DEST FINAL PACKAGE
#
# Environment:
#   TARGET_PYTHON  the interpreter the venv runs on (default /usr/bin/python3: Debian's,
#                  which is what the terminal has; the venv links to it)
#   TOOL_PYTHON    a Python with pip, setuptools>=68 and wheel, to build the wheel and run
#                  pip (default: the checkout's .venv, as `make` sets it up)
#   WHEELHOUSE     cache of the locked wheels (default ~/.cache/posterm/wheelhouse/ARCH,
#                  shared by every checkout on the machine: CI's fresh clones too): filled
#                  from the package index once, then builds are offline; every wheel is
#                  checked against the lock's hashes whenever it is used
#   DEB_ARCH       the Debian architecture to build for (default: this machine's). Another
#                  one (arm64 for a Pi, on a PC) takes the wheels for that platform
#                  (manylinux up to glibc DEB_GLIBC, default 2.36: Debian 12); the venv's
#                  Python is the same path there, and byte-code is the same on every arch.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
usage="usage: build-venv.sh DEST FINAL PACKAGE (posterm or posterm-host)"
DEST="${1:?$usage}"
FINAL="${2:?$usage}"
PACKAGE="${3:?$usage}"
case "$PACKAGE" in
    posterm|posterm-host) LOCK="$ROOT/packaging/$PACKAGE.lock" ;;
    *) echo "build-venv: unknown package $PACKAGE; $usage" >&2; exit 2 ;;
esac
# the real file (python3.11): the venv links to it, and the package depends on it
TARGET_PYTHON="$(readlink -f "${TARGET_PYTHON:-/usr/bin/python3}")"
TOOL_PYTHON="${TOOL_PYTHON:-$ROOT/.venv/bin/python}"
NATIVE_ARCH="$(dpkg --print-architecture)"
ARCH="${DEB_ARCH:-$NATIVE_ARCH}"
WHEELHOUSE="${WHEELHOUSE:-${XDG_CACHE_HOME:-$HOME/.cache}/posterm/wheelhouse/$ARCH}"

mkdir -p "$WHEELHOUSE" "$(dirname "$DEST")"
DEST="$(cd "$(dirname "$DEST")" && pwd)/$(basename "$DEST")"
pyver="$("$TARGET_PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"

# Which wheels: this machine's platform, or (cross) the target's, named to pip in full
platform=()
if [ "$ARCH" != "$NATIVE_ARCH" ]; then
    case "$ARCH" in
        amd64) machine=x86_64 ;;
        arm64) machine=aarch64 ;;
        armhf) machine=armv7l ;;
        *) echo "build-venv: no wheel platform known for $ARCH" >&2; exit 2 ;;
    esac
    glibc_minor="${DEB_GLIBC:-2.36}"
    glibc_minor="${glibc_minor#2.}"
    platform=(--implementation cp --python-version "$pyver" --abi "cp${pyver/./}"
              --abi abi3 --abi none)
    for ((minor = glibc_minor; minor >= 17; minor--)); do  # the newest first, as pip does
        platform+=(--platform "manylinux_2_${minor}_$machine")
    done
    platform+=(--platform "manylinux2014_$machine" --platform any)
fi

# The locked wheels, every one checked against its hash. Offline when the cache has them.
pip_tool=("$TOOL_PYTHON" -m pip --disable-pip-version-check)
fetch=(download --quiet --require-hashes --no-deps --only-binary=:all: "${platform[@]}"
       -r "$LOCK" -d "$WHEELHOUSE")
exec 9> "$WHEELHOUSE/.lock"
flock 9  # one fetch at a time into the shared cache
if ! "${pip_tool[@]}" "${fetch[@]}" --no-index --find-links "$WHEELHOUSE" >/dev/null 2>&1; then
    echo "build-venv: fetching the locked wheels into $WHEELHOUSE"
    "${pip_tool[@]}" "${fetch[@]}"
fi
flock --unlock 9

# posterm itself: a wheel of the package's subpackages and scripts only (packaging/
# select_src.py; no dependencies: the lock has them), built from a copy of those sources:
# setuptools writes build/ and *.egg-info where it builds, and other builds
# (tests/test_packaging.py) may be using the checkout's at the same time
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$TOOL_PYTHON" "$ROOT/packaging/select_src.py" "$PACKAGE" "$tmp/src"
"${pip_tool[@]}" wheel --quiet --no-deps --no-build-isolation --no-index -w "$tmp" "$tmp/src"
wheels="$tmp"

rm -rf "$DEST"
"$TARGET_PYTHON" -m venv --without-pip "$DEST"
site="$DEST/lib/python$pyver/site-packages"
if [ ${#platform[@]} -eq 0 ]; then  # into the venv, by its own interpreter
    install=(--python "$DEST/bin/python" install --quiet --no-index --no-deps --no-compile)
else  # another architecture's wheels: unpacked into its site-packages
    install=(install --quiet --no-index --no-deps --no-compile "${platform[@]}"
             --only-binary=:all: --target "$site" --upgrade)
fi
pip_install() {
    # PIP_CONFIG_FILE=/dev/null: only the wheelhouse counts, whatever this machine's pip says
    PIP_CONFIG_FILE=/dev/null PIP_FIND_LINKS="" "${pip_tool[@]}" "${install[@]}" "$@"
    if [ -d "$site/bin" ]; then  # --target puts console scripts there, for the tool's Python
        for script in "$site"/bin/*; do
            sed "1s|^#!.*|#!$FINAL/bin/python|" "$script" > "$DEST/bin/${script##*/}"
            chmod 0755 "$DEST/bin/${script##*/}"
        done
        rm -rf "${site:?}/bin"
    fi
}
pip_install --require-hashes --only-binary=:all: --find-links "$WHEELHOUSE" -r "$LOCK"
pip_install "$wheels"/posterm-*.whl

# Relocate: scripts' shebangs, activate scripts and pyvenv.cfg name DEST; make them FINAL.
# (The interpreter links point at TARGET_PYTHON, which is the same path on the target.)
grep -rlIF "$DEST" "$DEST/bin" "$DEST/pyvenv.cfg" | xargs -r sed -i "s|$DEST|$FINAL|g"
# pip's record of where the posterm wheel came from (a path on the build machine)
rm -f "$DEST"/lib/python3*/site-packages/posterm-*.dist-info/direct_url.json
# Byte-code, compiled for the paths it will have (the service cannot write __pycache__
# under ProtectSystem=strict); checked-hash stays valid whatever mtimes the archive keeps.
"$TARGET_PYTHON" -m compileall -q -j 0 --invalidation-mode checked-hash \
    -s "$DEST" -p "$FINAL" "$DEST/lib" >/dev/null
if grep -rlIF "$DEST" "$DEST" | grep -q .; then
    echo "build-venv: $DEST is still named in:" >&2
    grep -rlIF "$DEST" "$DEST" >&2
    exit 1
fi
