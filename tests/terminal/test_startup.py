"""postermd's start-up as a process: a bad config or a start-up failure is a clear exit
with the key or the device named, never a traceback. (The config itself, key by key:
tests/daemon/test_config.py.)"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.daemon.test_config import MINIMAL
from tests.daemon.test_config import write as _write
from tests.support.sim import BIN

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)


def test_postermd_refuses_a_bad_config_naming_key_and_file(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + "[printer2]\n")
    proc = subprocess.run(
        [str(BIN / "postermd"), "--config", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 2 and str(path) in proc.stderr and "printer2" in proc.stderr


def test_postermd_start_failure_is_a_clear_exit_not_a_traceback(tmp_path: Path) -> None:
    """A control socket path taken by a plain file: postermd says so and exits 1; the
    file is left alone and the journal it opened is closed cleanly (reopenable)."""
    taken = tmp_path / "control.sock"
    taken.write_text("not a socket")
    journal = tmp_path / "journal.db"
    text = MINIMAL + f'[journal]\npath = "{journal}"\n[control]\nsocket = "{taken}"\n'
    path = _write(tmp_path, text)
    proc = subprocess.run(
        [str(BIN / "postermd"), "--config", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    assert "control socket" in proc.stderr and "Traceback" not in proc.stderr
    assert taken.read_text() == "not a socket"
    assert journal.exists() and not Path(f"{journal}-wal").exists()
