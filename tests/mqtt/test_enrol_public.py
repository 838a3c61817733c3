"""Enrolment with the refund status page (issues 21 and 24) end to end: a real
`posterm-host run --http` whose `[public]` is set up (`posterm-host public init`), over TLS
to Mosquitto, and a fresh terminal config dir given to `posterm enroll`: the `[refund_link]`
it writes works. postermd starts with it, a refund's customer voucher carries a QR code
(read from the printed PNG) whose link verifies under the host's master key, and the
host's public listener serves that link's page once the refund's events arrived."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from posterm.daemon.config import load_config
from posterm.protocol import refundlink
from tests.mqtt.conftest import TERMINALS
from tests.mqtt.test_enrol_tls import running_fleet_host
from tests.support.broker import free_port, wait_for
from tests.support.rig import make_rig
from tests.terminal.test_refund_qr import vouchers

pytestmark = pytest.mark.slow  # Mosquitto, posterm-host, postermd, the simulators


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def test_an_enrolled_terminal_s_voucher_links_to_the_host_s_status_page(tmp_path: Path) -> None:
    """GIVEN a back office with [public] (its url and listen on one free port, the master
    key made by `posterm-host public init`) and a Pi's config dir holding only its PT and
    printer WHEN `enroll new --terminal pos-a` and `posterm enroll URL CODE --config-dir DIR`
    run THEN DIR's config has [refund_link] with the host's [public] url; AND WHEN postermd
    starts with it and refunds 20.00 of a 50.00 sale THEN the customer voucher's QR code
    (decoded from its PNG) is `{url}/r/TOKEN`, TOKEN verifies under the host's master key
    for pos-a and that refund; AND once the refund's events are at the host, the public
    listener answers that link with 200 and the refund's page (merchant, amount)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    master_file = tmp_path / "public" / "refund-link.key"
    public = (
        f'[public]\nurl = "{base}"\nlisten = "127.0.0.1:{port}"\nkey_file = "{master_file}"\n'
        'merchant_name = "Café Beispiel"\nmerchant_contact = "+49 30 1234567"\n'
    )
    tid = TERMINALS[0]  # a terminal make-dynsec.py's rules let in
    with running_fleet_host(tmp_path, public, before=(("public", "init"),)) as host:
        (tmp_path / "pi").mkdir()
        rig = make_rig(tmp_path / "pi", link="tcp", png=True)  # pi/posterm.toml; QR in PNG
        try:
            host.enroll(tid, tmp_path / "pi")
            written = load_config(rig.config)
            assert written.terminal.id == tid
            assert written.refund_link is not None and written.refund_link.url == base

            rig.start()
            code, sale = rig.cli("sale", "50.00")
            assert code == 0, sale
            code, refund = rig.cli("refund", sale["txn_id"], "20.00", "--reason", "goods_returned")
            assert code == 0 and refund["state"] == "approved", refund
            ((_, link),) = vouchers(rig)
            assert link.startswith(f"{base}/r/"), link
            claim = refundlink.verify(
                master_file.read_bytes(), link.removeprefix(f"{base}/r/"), time.time()
            )
            assert (claim.terminal_id, claim.txn_id) == (tid, refund["txn_id"])

            def arrived() -> bool:
                out = host.cli("events", "--terminal", tid, "--json")
                told = json.loads(out.stdout or "[]")
                return any(
                    e["type"] == "refund.completed" and e["data"]["txn_id"] == refund["txn_id"]
                    for e in told
                )

            wait_for(arrived, "the refund's events at the host")
            status, page = _get(link)
            assert status == 200, page
            assert "Café Beispiel" in page and "20.00" in page
        finally:
            rig.close()
