"""The refund voucher's QR code, read off the paper (issue 24): the real postermd with
`[refund_link]`, the PT and printer simulators; the customer's voucher comes out as a PNG,
a QR reader (zxing-cpp) decodes it, and the link it holds verifies under the back
office's master key for this terminal and this refund. A reprint carries the same link;
a refund killed at each step still ends in exactly one customer voucher with it."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from posterm.protocol import refundlink
from tests.support import money_rules
from tests.support.rig import Rig, make_rig
from tests.terminal.test_crash_flows import REFUND_KEPT

pytestmark = pytest.mark.slow  # postermd and the simulators are processes

MASTER = bytes.fromhex("5e" * 32)  # the back office's master key
TID = "pos-test"  # the rig's terminal id
BASE = "https://refunds.shop.test"
DAY_S = 86400


def link_rig(tmp_path: Path) -> Rig:
    """A rig whose postermd holds this terminal's link key (0640) and [refund_link]."""
    key = tmp_path / "refund-link.key"
    key.write_text(refundlink.terminal_key(MASTER, TID).hex() + "\n", encoding="ascii")
    os.chmod(key, 0o640)
    link = f'\n[refund_link]\nurl = "{BASE}"\nkey_file = "{key}"\n'
    return make_rig(tmp_path, extra_config=link, png=True)  # the vouchers' QR: in the PNG


def vouchers(rig: Rig) -> list[tuple[str, str]]:
    """(text, decoded QR code) of every complete customer refund voucher on the paper, in
    order: its QR code read from the PNG, not from the simulator's text."""
    index = rig.printer.out / "index.jsonl"
    out = []
    for line in index.read_text().splitlines() if index.exists() else ():
        entry = json.loads(line)
        text = (rig.printer.out / entry["txt"]).read_text(encoding="utf-8")
        if "REFUND" not in text or "CUSTOMER COPY" not in text or "[QR: " not in text:
            continue
        found = zxingcpp.read_barcodes(Image.open(rig.printer.out / entry["png"]))
        codes = [c.text for c in found if c.format == zxingcpp.BarcodeFormat.QRCode]
        assert len(codes) == 1, f"{entry['png']}: {codes}"
        out.append((text, codes[0]))
    return out


def claim_of(link: str, now: float) -> refundlink.Claim:
    assert link.startswith(f"{BASE}/r/"), link
    return refundlink.verify(MASTER, link.removeprefix(f"{BASE}/r/"), now)


def test_the_vouchers_qr_code_leads_to_this_refund_and_a_reprint_to_the_same(
    tmp_path: Path,
) -> None:
    """GIVEN postermd with [refund_link] (the key derived from MASTER for pos-test)
    WHEN a sale of 50.00 and a refund of 20.00 run, then a reprint of the refund
    THEN the voucher PNG holds a QR code of BASE/r/TOKEN that verifies under MASTER,
    names pos-test and the refund, and expires 60 days after it was asked for; the voucher
    says "Follow your refund: scan the code"; the DUPLICATE reprint's QR code is the same
    link; postermd's log never holds the token."""
    rig = link_rig(tmp_path)
    try:
        rig.start()
        code, sale = rig.cli("sale", "50.00")
        assert code == 0
        asked = time.time()
        code, refund = rig.cli("refund", sale["txn_id"], "20.00", "--reason", "goods_returned")
        assert code == 0 and refund["state"] == "approved"
        ((text, link),) = vouchers(rig)
        assert "Follow your refund: scan the code" in " ".join(text.split())
        claim = claim_of(link, time.time())
        assert (claim.terminal_id, claim.txn_id) == (TID, refund["txn_id"])
        assert asked - 2 <= claim.expires - 60 * DAY_S <= time.time()
        code, _ = rig.cli("reprint", refund["txn_id"])
        assert code == 0
        (_, first), (again, second) = vouchers(rig)
        assert "** DUPLICATE **" in again and second == first == link
        token = link.removeprefix(f"{BASE}/r/")
        assert all(token not in log.read_text() for log in rig.logs)
    finally:
        rig.close()


@pytest.mark.parametrize("step", list(REFUND_KEPT))
def test_a_refund_killed_at_each_step_prints_one_voucher_with_the_link(
    tmp_path: Path, step: str
) -> None:
    """GIVEN postermd with [refund_link] and a sale WHEN a refund is SIGKILLed at `step`
    and postermd started again THEN the money rules hold; a refund the PT kept has exactly
    one complete customer voucher (RECOVERED), its QR code a link that verifies for this
    terminal and that refund; a refund the PT did not keep has none."""
    rig = link_rig(tmp_path)
    try:
        rig.start()
        code, sale = rig.cli("sale", "50.00")
        assert code == 0
        rig.stop()
        rig.start(crash_at=step)
        code, _ = rig.cli("refund", sale["txn_id"], "20.00", "--reason", "goods_returned")
        assert code != 0 and rig.wait_exit() == -9
        rig.start()
        rig.wait_state("ready")
        found = money_rules.check(rig)
        refund = found["txns"][-1]
        printed = vouchers(rig)
        if not REFUND_KEPT[step]:
            assert refund["state"] == "not_charged" and printed == []
            return
        assert refund["state"] == "approved"
        ((text, link),) = printed
        assert "** RECOVERED **" in text and "Customer signature" in text
        claim = claim_of(link, time.time())
        assert (claim.terminal_id, claim.txn_id) == (TID, refund["txn_id"])
    finally:
        rig.close()
