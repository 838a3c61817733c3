"""The update-inhibit lock: postermd holds `[system] update_lock` (an exclusive flock) for
the whole of a payment and its receipt, so an updater's `flock -n` fails while money moves;
an updater that holds it keeps postermd from starting anything new."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support import money_rules
from tests.support.rig import Rig, make_rig

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)


def updater_can_lock(path: Path) -> bool:
    """What an updater's `flock -n FILE` finds, from another process."""
    if shutil.which("flock"):
        done = subprocess.run(["flock", "-n", str(path), "true"], check=False, timeout=10)
        return done.returncode == 0
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


@contextmanager
def updater_holds(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield
    finally:
        os.close(fd)


def sale_in_background(rig: Rig, amount: str) -> tuple[threading.Thread, list[Any]]:
    answer: list[Any] = []
    thread = threading.Thread(target=lambda: answer.append(rig.cli("sale", amount)))
    thread.start()
    return thread, answer


def test_lock_is_held_from_the_journal_write_to_the_cut(tmp_path: Path) -> None:
    """GIVEN a customer standing at the PIN pad WHEN an updater tries `flock -n` THEN it
    fails; once the receipt is cut the lock is free again."""
    rig = make_rig(tmp_path)
    try:
        rig.start()
        assert rig.update_lock.exists() and updater_can_lock(rig.update_lock)
        ready = rig.wait_state("ready")
        assert ready["update_lock"] == "free"
        assert set(ready["health"]) == {"clock", "disk", "throttled", "cpu_temp_c"}
        assert ready["health"]["disk"]["free_bytes"] > 0
        rig.pt.fault("hold_at_pin")
        thread, answer = sale_in_background(rig, "12.00")
        status = rig.wait_state("busy")
        assert status["update_lock"] == "held (sale)"
        assert not updater_can_lock(rig.update_lock)
        (txn,) = rig.txns()  # journaled in doubt before the PT saw a byte, under the lock
        assert txn["state"] == "in_doubt"
        rig.pt.fault("hold_at_pin", on=False)
        thread.join(60)
        code, sale = answer[0]
        assert code == 0 and sale["state"] == "approved" and sale["receipt_state"] == "printed"
        assert updater_can_lock(rig.update_lock)
        assert rig.wait_state("ready")["update_lock"] == "free"
        assert len(money_rules.receipts_for(rig, sale["txn_id"])) == 1
    finally:
        rig.close()


def test_no_operation_starts_while_an_updater_holds_the_lock(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    try:
        rig.start()
        rig.wait_state("ready")
        with updater_holds(rig.update_lock):
            code, refused = rig.cli("sale", "7.00")
            assert code == 1 and refused["code"] == "updating", refused
            assert "update" in refused["error"]
        assert rig.txns() == [] and rig.ledger() == []
        code, sale = rig.cli("sale", "7.00")
        assert code == 0 and sale["state"] == "approved"
        money_rules.check(rig)
    finally:
        rig.close()


def test_start_up_recovery_waits_for_the_updater(tmp_path: Path) -> None:
    """GIVEN an updater holding the lock WHEN postermd starts THEN it answers `status`
    but recovers (talks to the PT, prints) only once the updater let go."""
    rig = make_rig(tmp_path)
    try:
        rig.update_lock.touch()
        with updater_holds(rig.update_lock):
            rig.start()
            status = rig.wait_status(lambda s: "start-up waits" in s["reason"], "waiting")
            assert status["state"] == "recovering" and not status["selling"]
        rig.wait_state("ready")
        code, sale = rig.cli("sale", "3.00")
        assert code == 0 and sale["state"] == "approved"
    finally:
        rig.close()
