"""The boot slip: one slip at start-up with the terminal's id, version, IP address, host
link and state, and a QR code of its page at the back office — printed by the real
postermd into the printer simulator, which decodes the GS ( k QR code."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.support import money_rules
from tests.support.rig import Rig, make_rig

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

# a broker nobody listens on: the host link fails at once, the terminal sells alone
MQTT = """
[mqtt]
url = "mqtt://127.0.0.1:1"
page_url = "https://backoffice.shop.test/terminals/{terminal}"
"""


def wait_pages(rig: Rig, count: int, timeout: float = 60) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pages = rig.printer.printed()
        if len(pages) >= count:
            return pages
        time.sleep(0.05)
    raise AssertionError(f"{count} page(s) never printed: {rig.printer.printed()}")


def test_boot_slip_with_the_host_page_as_qr_code(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, boot_slip=True, extra_config=MQTT, png=True)
    try:
        rig.start()
        (page,) = wait_pages(rig, 1)
        assert "TERMINAL STARTED" in page and "Terminal: pos-test" in page
        assert "Version:  " in page and "Address:  " in page
        assert "Host:     disconnected 127.0.0.1:1" in page
        assert "State:    ready (ready)" in page
        assert "[QR: https://backoffice.shop.test/terminals/pos-test]" in page
        index = (rig.printer.out / "index.jsonl").read_text().splitlines()
        (entry,) = [json.loads(line) for line in index]
        assert (rig.printer.out / entry["png"]).stat().st_size > 0
        assert not entry["truncated"]
        # the slip is no receipt: the money rules count only the sale's
        code, sale = rig.cli("sale", "4.20")
        assert code == 0 and len(money_rules.receipts_for(rig, sale["txn_id"])) == 1
        money_rules.check(rig)
    finally:
        rig.close()


def test_boot_slip_of_a_terminal_without_host(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, boot_slip=True, png=True)
    try:
        rig.start()
        (page,) = wait_pages(rig, 1)
        assert "Host:     none (runs alone)" in page and "[QR:" not in page
    finally:
        rig.close()
