"""A graceful stop (systemd's SIGTERM) at every named step of a sale: the sale in progress
finishes — journaled, its 04 0F acknowledged, its receipt cut — nothing new starts, and
postermd exits 0; the next start finds nothing to settle. A receipt the printer cannot
finish stays pending for the next start; a payment that outlasts `stop_timeout_s` is left
to the journal and settled with the PT at the next start."""

from __future__ import annotations

import re
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support import money_rules
from tests.support.rig import Rig, make_rig

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

STEPS = [
    "sale.journaled",  # before the first byte to the PT
    "sale.before_commit",  # 04 0F arrived, not yet journaled
    "sale.after_commit",  # journaled, 04 0F not yet acknowledged
    "sale.completed",  # acknowledged and completed, no receipt yet
    "sale.receipt_journaled",
    "receipt.printing",
    "receipt.mid_print",
    "receipt.printed",  # cut, not yet journaled as printed
]


def wait_log(rig: Rig, pattern: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if re.search(pattern, rig.logs[-1].read_text()):
            return
        time.sleep(0.05)
    raise AssertionError(f"never logged {pattern!r}: {rig.logs[-1].read_text()}")


def in_background(rig: Rig, *args: str) -> tuple[threading.Thread, list[Any]]:
    answer: list[Any] = []
    thread = threading.Thread(target=lambda: answer.append(rig.cli(*args)))
    thread.start()
    return thread, answer


def settles_after_restart(rig: Rig, sale: dict[str, Any], mark: str | None) -> None:
    """Restart: ready at once, the ledger, journal and receipts agree, one customer receipt
    per debit (`mark`: the banner it carries, None: the original)."""
    rig.start()
    rig.wait_state("ready")
    found = money_rules.check(rig)
    (txn,) = found["txns"]
    assert txn["state"] == "approved"
    assert [e["state"] for e in found["ledger"]] == ["booked"]
    (receipt,) = money_rules.receipts_for(rig, sale["txn_id"])
    banners = re.findall(r"\*\* (\w+) \*\*", receipt)
    assert banners == ([mark] * 2 if mark else []), receipt  # the banner: top and bottom
    code, again = rig.cli("sale", "23.40", "--key", "k-1")
    assert code == 0 and again["txn_id"] == sale["txn_id"]
    assert rig.cli("sale", "5.00")[0] == 0
    money_rules.check(rig)


@pytest.mark.parametrize("step", STEPS)
def test_sigterm_at_each_step_of_a_sale_finishes_it(tmp_path: Path, step: str) -> None:
    """GIVEN systemd's SIGTERM arriving at `step` THEN the sale ends approved with its one
    original receipt, the client gets its answer, a request behind it is refused with
    `shutting_down`, and postermd exits 0."""
    slow = ("--bytes-per-second", "1500") if step == "receipt.mid_print" else ()
    rig = make_rig(tmp_path, printer_args=slow)
    try:
        rig.start(env={"POSTERM_TERM_AT": step})
        code, sale = rig.cli("sale", "23.40", "--key", "k-1")
        assert code == 0 and sale["state"] == "approved", sale
        assert sale["receipt_state"] == "printed"
        assert rig.wait_exit() == 0
        log = rig.logs[-1].read_text()
        assert f"term point {step}" in log and "postermd: stopped" in log
        assert "unfinished" not in log
        settles_after_restart(rig, sale, mark=None)
    finally:
        rig.close()


def test_sigterm_while_the_customer_is_at_the_pin_pad(tmp_path: Path) -> None:
    """GIVEN a sale waiting for the customer's PIN WHEN SIGTERM comes THEN postermd waits
    for it (nothing new starts meanwhile) and exits 0 once its receipt is cut."""
    rig = make_rig(tmp_path)
    try:
        rig.start()
        rig.pt.fault("hold_at_pin")
        thread, answer = in_background(rig, "sale", "23.40", "--key", "k-1")
        rig.wait_state("busy")
        assert rig.daemon is not None
        rig.daemon.send_signal(signal.SIGTERM)
        wait_log(rig, r"postermd: stopping; mode busy, update lock held \(sale\)")
        code, refused = rig.cli("sale", "1.00")
        assert code == 1 and refused["code"] == "shutting_down", refused
        assert rig.daemon.poll() is None  # still finishing the sale
        rig.pt.fault("hold_at_pin", on=False)
        thread.join(60)
        code, sale = answer[0]
        assert code == 0 and sale["state"] == "approved" and sale["receipt_state"] == "printed"
        assert rig.wait_exit() == 0
        settles_after_restart(rig, sale, mark=None)
    finally:
        rig.close()


def test_sigterm_with_the_paper_out_leaves_the_receipt_pending(tmp_path: Path) -> None:
    """GIVEN the paper runs out mid-receipt AND SIGTERM comes during that sale THEN the
    sale is approved, its receipt pending, postermd exits 0; the next start prints it,
    RECOVERED, once the roll is refilled."""
    rig = make_rig(tmp_path, printer_args=("--paper-out-after-lines", "5"))
    try:
        rig.start(env={"POSTERM_TERM_AT": "sale.completed"})
        code, sale = rig.cli("sale", "23.40", "--key", "k-1")
        assert code == 0 and sale["state"] == "approved" and sale["receipt_state"] == "pending"
        assert rig.wait_exit() == 0
        rig.printer.ctl("refill")
        settles_after_restart(rig, sale, mark="RECOVERED")
    finally:
        rig.close()


def test_a_payment_longer_than_the_stop_timeout_is_settled_at_the_next_start(
    tmp_path: Path,
) -> None:
    """GIVEN a customer who never finishes at the PIN pad WHEN SIGTERM comes THEN postermd
    exits 0 after `stop_timeout_s` with the sale journaled in doubt (never unjournaled);
    the PT never gets its acknowledgement; the next start finds it not charged."""
    rig = make_rig(tmp_path, stop_timeout_s=5)
    try:
        rig.start()
        rig.pt.fault("hold_at_pin")
        thread, answer = in_background(rig, "sale", "23.40", "--key", "k-1")
        rig.wait_state("busy")
        assert rig.daemon is not None
        rig.daemon.send_signal(signal.SIGTERM)
        assert rig.wait_exit() == 0
        assert "an operation left to the next start" in rig.logs[-1].read_text()
        thread.join(60)
        assert answer[0][0] != 0  # the client never heard of an approval
        (txn,) = rig.txns()
        assert txn["state"] == "in_doubt"
        rig.pt.fault("hold_at_pin", on=False)  # the PT goes on; nobody acknowledges
        rig.start()
        rig.wait_state("ready")
        found = money_rules.check(rig)
        (txn,) = found["txns"]
        assert txn["state"] == "not_charged"
        # the PT broke the payment off when postermd left, or reversed it unacknowledged
        assert [e["state"] for e in found["ledger"]] in ([], ["auto_reversed"])
        assert rig.printer.printed() == []
    finally:
        rig.close()


@pytest.mark.parametrize(
    ("step", "operation"),
    [
        ("refund.after_commit", ("refund", "{txn}", "5.00")),
        ("void.after_commit", ("void", "{txn}")),
    ],
)
def test_sigterm_in_a_refund_or_void_finishes_it(
    tmp_path: Path, step: str, operation: tuple[str, ...]
) -> None:
    """GIVEN SIGTERM between the journaled approval of a refund (void) and the PT's
    acknowledged 04 0F THEN it completes with its voucher, and postermd exits 0."""
    rig = make_rig(tmp_path)
    try:
        rig.start(env={"POSTERM_TERM_AT": step})
        code, sale = rig.cli("sale", "23.40")
        assert code == 0
        args = [a.format(txn=sale["txn_id"]) for a in operation]
        code, done = rig.cli(*args)
        assert code == 0 and done["state"] == "approved" and done["receipt_state"] == "printed"
        assert rig.wait_exit() == 0
        rig.start()
        rig.wait_state("ready")
        found = money_rules.check(rig)
        kinds = sorted((e["kind"], e["state"]) for e in found["ledger"])
        if operation[0] == "refund":
            assert kinds == [("payment", "booked"), ("refund", "booked")]
        else:
            assert kinds == [("payment", "reversed"), ("reversal", "booked")]
        assert len(money_rules.receipts_for(rig, done["txn_id"])) == 1
    finally:
        rig.close()
