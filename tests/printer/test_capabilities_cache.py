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


def test_processes_starting_together_and_a_broken_pickle_are_fine(tmp_path: Path) -> None:
    """GIVEN a half-written shared pickle (as python-escpos's in-place write leaves it to a
    reader) and four processes starting at once THEN each imports, and one whole pickle
    stays."""
    cache = tmp_path / "cache"
    cache.mkdir()
    version = sys.version.split()[0]
    (cache / f"{version}.capabilities.pickle").write_bytes(b"\x80\x04\x95")  # cut short
    env = {k: v for k, v in os.environ.items() if k != "ESCPOS_CAPABILITIES_PICKLE_DIR"}
    env |= {"CACHE_DIRECTORY": str(cache), "TMPDIR": str(tmp_path)}
    procs = [subprocess.Popen([sys.executable, "-c", "import posterm.daemon.main"], env=env,
                              stderr=subprocess.PIPE) for _ in range(4)]  # fmt: skip
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    assert [p.name for p in cache.iterdir()] == [f"{version}.capabilities.pickle"]
    assert (cache / f"{version}.capabilities.pickle").stat().st_size > 1000
