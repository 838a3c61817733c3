"""postermd prints without python-escpos (posterm renders its own ESC/POS and opens the
devices itself), so neither it nor the Pillow, qrcode, python-barcode and YAML it would
bring sit in an idle terminal's memory (nor tenacity: the daemon's back-off is a
formula, protocol/backoff.py), and a start leaves nothing in /tmp (python-escpos
put a fresh directory there at every import for its capabilities pickle)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.sim import BIN, PrinterSim

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

UNUSED = ("escpos", "PIL", "qrcode", "barcode", "yaml", "tenacity")
PROBE = f"""
import sys
import posterm.daemon.main
import posterm.daemon.control.cli
print(sorted(m for m in sys.modules if m.split(".")[0] in {UNUSED!r}))
"""


def test_the_daemon_and_cli_import_no_python_escpos_and_leave_nothing_in_tmp(
    tmp_path: Path,
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "CACHE_DIRECTORY"}
    env |= {"HOME": str(tmp_path / "home"), "TMPDIR": str(scratch)}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == "[]"
    assert list(scratch.iterdir()) == []


def test_a_print_through_python_escpos_leaves_nothing_in_tmp(
    tmp_path: Path, psim: PrinterSim
) -> None:
    """GIVEN the CLI printing a receipt (python-escpos loaded for it, pointed at a small
    private copy of its database) WHEN it has exited THEN the receipt is printed and
    TMPDIR is as empty as before (python-escpos alone leaves a directory per import)."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESCPOS_")}
    env |= {"HOME": str(tmp_path / "home"), "TMPDIR": str(scratch)}
    done = subprocess.run(
        [str(BIN / "posterm"), "printer", "--url", psim.url, "test"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "TEST PRINT" in psim.printed()[-1]
    assert list(scratch.iterdir()) == []
