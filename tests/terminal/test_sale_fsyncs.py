"""What a sale costs in fsyncs: postermd traced for fsync/fdatasync over ten sales. The
money writes are durable (the write-ahead row, the approval before the 04 0F's ack, the
receipt's pending row, its printed mark); mode records and the completion are synced by
the next of them (daemon/journal/store.py `durable=False`)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.rig import make_rig
from tests.support.sim import BIN

pytestmark = pytest.mark.slow  # starts the simulators, postermd and strace

STRACE = ("strace", "-f", "-ttt", "-e", "trace=fsync,fdatasync", "-o")
SALES = 10
DURABLE_PER_SALE = 4  # write-ahead, approval, receipt pending, receipt printed


def test_a_sale_fsyncs_only_its_durable_money_writes(tmp_path: Path) -> None:
    """GIVEN postermd traced for fsync/fdatasync, with the simulators
    WHEN ten sales are made, each approved and its receipt printed
    THEN the journal syncs at most four times a sale (was seven: the mode records BUSY
    and READY and the completion each had their own fsync)."""
    rig = make_rig(tmp_path, link="tcp")
    trace = tmp_path / "trace"
    strace = subprocess.Popen(
        [*STRACE, str(trace), str(BIN / "postermd"), "--config", str(rig.config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        rig.wait_up()
        rig.wait_state("ready")
        assert rig.request(cmd="sale", amount="1.00")["ok"]  # warm: registration done
        start = time.time()
        for _ in range(SALES):
            reply = rig.request(cmd="sale", amount="2.50")
            assert reply["ok"] and reply["result"]["state"] == "approved", reply
        end = time.time()
        assert len(rig.printer.printed()) == SALES + 1
    finally:
        # postermd is strace's child: stopped (SIGTERM), strace ends with it
        children = Path(f"/proc/{strace.pid}/task/{strace.pid}/children")
        for pid in children.read_text().split() if children.exists() else ():
            os.kill(int(pid), signal.SIGTERM)
        try:
            strace.wait(30)
        except subprocess.TimeoutExpired:
            strace.kill()
        rig.close()
    stamps = [
        float(line.split()[1])
        for line in trace.read_text().splitlines()
        if "fsync(" in line or "fdatasync(" in line
    ]
    during = [t for t in stamps if start <= t <= end]
    assert SALES <= len(during) <= SALES * DURABLE_PER_SALE, len(during)
