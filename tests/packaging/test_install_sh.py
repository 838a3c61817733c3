"""systemd/install.sh from a checkout into a staged root (--root): twice (the second run
changes nothing an administrator edited), then --uninstall."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

from tests.packaging.support import ROOT, need, run, scratch, verify_units

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

INSTALL = ROOT / "systemd" / "install.sh"
PLACED = [
    "etc/systemd/system/posterm.service",
    "etc/systemd/system/posterm-host.service",
    "etc/sysusers.d/posterm.conf",
    "etc/sysusers.d/posterm-host.conf",
    "etc/tmpfiles.d/posterm.conf",
    "etc/tmpfiles.d/posterm-host.conf",
    "etc/udev/rules.d/99-posterm.rules",
    "opt/posterm/README.md",
    "opt/posterm/venv/bin/postermd",
    "opt/posterm-host/venv/bin/posterm-host",
    "usr/local/bin/posterm",
    "usr/local/bin/posterm-host",
]


VENVS = ("opt/posterm/venv/", "opt/posterm-host/venv/")


def _install(root: Path, *extra: str) -> str:
    env = {**os.environ, "TOOL_PYTHON": sys.executable}
    proc = run(INSTALL, "--root", root, *extra, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def _digest(root: Path) -> dict[str, str]:
    """Every file outside the venv (whose byte-code is rebuilt) by content and mode."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(VENVS) or not path.is_file() or rel.startswith("etc/."):
            continue
        data = path.read_bytes()
        out[rel] = f"{hashlib.sha256(data).hexdigest()} {oct(path.stat().st_mode)}"
    return out


def test_install_twice_then_uninstall() -> None:
    """GIVEN an empty root WHEN install.sh --root runs THEN the app, units, users and
    directories are there and postermd is enabled; WHEN it runs again after the
    administrator edited the config and the udev rules THEN nothing else changed and the
    edits are kept; WHEN --uninstall runs THEN what it placed is gone, the configs and the
    journal stay."""
    need("systemd-sysusers", "systemd-tmpfiles", "systemctl", "systemd-analyze")
    with scratch("posterm-install-") as root:
        out = _install(root)
        assert "posterm installed" in out
        for rel in PLACED:
            assert os.path.lexists(root / rel), rel
        assert (root / "etc/systemd/system/multi-user.target.wants/posterm.service").is_symlink()
        passwd = (root / "etc/passwd").read_text()
        assert "\nposterm:" in f"\n{passwd}" and "\nposterm-host:" in passwd
        venv = root / "opt/posterm/venv"
        proc = run(venv / "bin/python", venv / "bin/postermd", "--help")
        assert proc.returncode == 0 and "--config" in proc.stdout, proc.stderr
        host = root / "opt/posterm-host/venv"
        proc = run(host / "bin/python", host / "bin/posterm-host", "--help")
        assert proc.returncode == 0, proc.stderr
        unit_check = verify_units(root, Path("/etc/systemd/system"))
        assert (unit_check.returncode, unit_check.stdout + unit_check.stderr) == (0, "")

        config = root / "etc/posterm/posterm.toml"
        config.write_text(config.read_text().replace("CHANGE-ME", "pos-0042"))
        rules = root / "etc/udev/rules.d/99-posterm.rules"
        rules.write_text(rules.read_text().replace("REPLACE-PT-SERIAL", "A10PT001"))
        before = _digest(root)
        out = _install(root)
        assert "/opt/posterm/venv is up to date" in out
        assert "/opt/posterm-host/venv is up to date" in out
        after = _digest(root)
        assert after.pop("etc/udev/rules.d/99-posterm.rules.dist")  # the current rules, beside
        assert after == before
        assert passwd == (root / "etc/passwd").read_text()

        out = _install(root, "--uninstall")
        for rel in PLACED:
            assert not os.path.lexists(root / rel), rel
        assert not (root / "opt/posterm").exists()
        assert not (root / "opt/posterm-host").exists()
        assert not list((root / "etc/systemd/system").rglob("posterm*"))
        assert "pos-0042" in config.read_text() and (root / "var/lib/posterm").is_dir()
        assert _install(root, "--uninstall")  # again: nothing left to do, no error
