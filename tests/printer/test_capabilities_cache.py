"""python-escpos's parsed capabilities go to one lasting cache directory, not to a new
/tmp directory at every start of postermd (it used to leave one behind each time)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from posterm.drivers.printer.capabilities_cache import cache_dir


def test_systemd_cache_directory_first_then_xdg_then_home() -> None:
    assert cache_dir({"CACHE_DIRECTORY": "/var/cache/posterm"}) == Path("/var/cache/posterm")
    assert cache_dir({"XDG_CACHE_HOME": "/x"}) == Path("/x/posterm")


def test_a_start_reuses_the_cache_and_leaves_nothing_in_tmp(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "ESCPOS_CAPABILITIES_PICKLE_DIR"}
    env |= {"HOME": str(tmp_path / "home"), "TMPDIR": str(scratch)}
    env.pop("XDG_CACHE_HOME", None)
    env.pop("CACHE_DIRECTORY", None)
    for _ in range(2):
        subprocess.run([sys.executable, "-c", "import posterm.daemon.main"], env=env, check=True)
    assert list(scratch.iterdir()) == []
    cached = list((tmp_path / "home" / ".cache" / "posterm").glob("*.capabilities.pickle"))
    assert len(cached) == 1
