"""postermd under the rule of posterm.service's MemoryDenyWriteExecute=yes (no memory both
writable and executable, which a JIT or a libffi closure without static trampolines
would need): the kernel's own form of it, PR_SET_MDWE (Linux 6.3+), is set before postermd
starts, and a sale goes through over the serial PT and the TCP printer."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.needs import unavailable
from tests.support.rig import Rig, make_rig

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

WRAPPER = """
import ctypes, os, runpy, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
    sys.exit("PR_SET_MDWE: " + os.strerror(ctypes.get_errno()))
sys.argv = ["postermd", *sys.argv[1:]]
runpy.run_module("posterm.daemon.main", run_name="__main__", alter_sys=True)
"""

PROBE = """
import ctypes, mmap, sys
libc = ctypes.CDLL(None, use_errno=True)
assert libc.prctl(65, 1, 0, 0, 0) == 0, "PR_SET_MDWE refused"
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
except PermissionError:
    sys.exit(0)
sys.exit("a writable and executable mapping was allowed")
"""


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = make_rig(tmp_path)
    yield r
    r.close()


def test_postermd_sells_with_no_writable_executable_memory(rig: Rig) -> None:
    probe = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=False, timeout=30
    )
    if probe.returncode != 0:
        unavailable(f"the kernel does not enforce PR_SET_MDWE: {probe.stderr.strip()}")
    log = rig.tmp / "postermd-mdwe.log"
    rig.logs.append(log)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFY_", "WATCHDOG_"))}
    rig.daemon = subprocess.Popen(
        [sys.executable, "-c", WRAPPER, "--config", str(rig.config)],
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
        env=env,
        text=True,
    )
    rig.wait_up()
    code, sale = rig.cli("sale", "12.50")
    assert code == 0 and sale["state"] == "approved", sale
    assert sale["receipt_state"] == "printed"
    assert "PR_SET_MDWE" not in log.read_text()
