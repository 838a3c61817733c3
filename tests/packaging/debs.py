"""The Debian packages under test: what each must be, built once per test run
(`make deb`, shared by the xdist workers), and installed into a dpkg root."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from tests.packaging.support import (
    ROOT,
    build_lock,
    dpkg,
    need,
    run,
    scratch,
)

TOOLS = (
    "dpkg-deb",
    "dpkg",
    "systemd-sysusers",
    "systemd-tmpfiles",
    "systemd-analyze",
    "deb-systemd-helper",
)
PACKAGES = ("posterm", "posterm-host")
CONFFILES = {
    "posterm": {"/etc/posterm/posterm.toml", "/etc/udev/rules.d/99-posterm.rules"},
    "posterm-host": {"/etc/posterm/posterm-host.toml"},
}
UNIT = {"posterm": "posterm.service", "posterm-host": "posterm-host.service"}
# units a package ships beside its own, pulled in by it (posterm-host.service: Wants=)
PULLED_IN = {"posterm": (), "posterm-host": ("posterm-host-sender.service",)}


def build(factory: pytest.TempPathFactory, arch: str = "") -> dict[str, Path]:
    """Both packages, built by the first worker to get here (the others wait and reuse
    them), by package name."""
    need(*TOOLS)
    with build_lock(factory, f"deb{arch}") as shared, scratch("posterm-deb-") as work:
        out = shared / f"deb-out{arch}"
        built = {p.name.split("_")[0]: p for p in out.glob("*.deb")}
        if set(built) == set(PACKAGES):
            return built
        env = {
            **os.environ,
            "WORKDIR": str(work / "deb-work"),
            "TOOL_PYTHON": sys.executable,
            "DEB_LEVEL": "1",
        }
        if arch:
            env["DEB_ARCH"] = arch
        started = time.monotonic()
        proc = run(ROOT / "packaging" / "build-deb.sh", out, env=env, timeout=900)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        print(f"debs {arch} built in {time.monotonic() - started:.1f} s")
        debs = [Path(line) for line in proc.stdout.split() if line.endswith(".deb")]
        return {p.name.split("_")[0]: p for p in debs}


def installed(deb: Path, root: Path) -> Path:
    proc = dpkg(root, "--install", deb)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root


def ids(root: Path, table: str) -> dict[str, list[str]]:
    return {
        f[0]: f
        for f in (line.split(":") for line in (root / "etc" / table).read_text().splitlines())
    }
