"""Refund notifications end to end: the real postermd and PT simulator, Mosquitto, a real
`posterm-host run` with `[notify]`, a real SMTP server (aiosmtpd) and a local HTTP SMS
gateway. One e-mail per refund outcome, with the amount, reason and masked card and
nothing else personal; exactly one even when the server refuses twice; the contact gone
from the host's store once delivered."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.host.test_host import Host, host, rig, unacked  # noqa: F401 (fixtures)
from tests.support.broker import wait_for
from tests.support.rig import Rig
from tests.support.sms import Gateway, sms_gateway
from tests.support.smtp import SmtpServer

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

ADDRESS = "kunde.mueller@example.org"
PHONE = "+4915112345678"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(refuse=2).start()
    yield server
    server.stop()


@pytest.fixture
def gateway() -> Iterator[str]:
    with sms_gateway() as url:
        yield url


def _with_notify(host: Host, smtp: SmtpServer, gateway: str) -> None:
    host.stop()
    host.config.write_text(
        host.config.read_text()
        + (
            f'\n[notify]\nmerchant_name = "Café Beispiel"\ntimezone = "Europe/Berlin"\n'
            f'smtp_url = "{smtp.url}"\nsmtp_security = "none"\nfrom = "refunds@cafe.example"\n'
            f"first_retry_s = 0.2\n"
            f'max_retry_s = 0.5\n[notify.sms]\nurl = "{gateway}"\n'
            f'body = {{ to = "$to", text = "$text", ref = "$id" }}\n'
        )
    )
    host.start()


def _host_rows(host: Host, sql: str) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(host.db)
    try:
        return list(db.execute(sql))
    finally:
        db.close()


def test_completed_and_failed_refunds_tell_the_customer_once(
    rig: Rig,
    host: Host,
    smtp: SmtpServer,
    gateway: str,
) -> None:
    _with_notify(host, smtp, gateway)
    code, sale = rig.cli("sale", "30.00")
    assert code == 0
    code, done = rig.cli(
        "refund",
        sale["txn_id"],
        "12.00",
        "--reason",
        "goods_returned",
        "--notify-email",
        ADDRESS,
        "--notify-lang",
        "de",
    )
    assert code == 0 and done["state"] == "approved", done
    rig.pt.fault("refuse_refunds")
    code, failed = rig.cli(
        "refund", sale["txn_id"], "3.00", "--reason", "wrong_amount", "--notify-phone", PHONE
    )
    assert code != 0, failed
    (failed_id,) = [e["data"]["txn_id"] for e in rig.events() if e["type"] == "refund.failed"]
    wait_for(
        lambda: _host_rows(host, "SELECT state FROM notifications") == [("sent",)] * 2,
        "the e-mail (after two refusals) and the SMS sent and marked so",
        timeout=60,
    )
    wait_for(lambda: unacked(rig) == 0, "every event at the host")

    (mail,) = smtp.mailbox.messages  # refused twice, then one: exactly one
    assert smtp.mailbox.refused == 2 and smtp.mailbox.recipients == [[ADDRESS]]
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "12.00 EUR" in text and "Ware zurückgegeben" in text and done["txn_id"] in text
    masked = done["masked_pan"]
    assert masked in text and "******" in masked
    for personal in (PHONE, sale["txn_id"]):  # nothing else: not the other contact or the sale
        assert personal not in mail.as_string()
    ((_, sms),) = Gateway.got
    assert sms["to"] == PHONE and "could not complete" in sms["text"] and "3.00 EUR" in sms["text"]

    rows = {
        r[0]: r
        for r in _host_rows(
            host, "SELECT txn_id, state, attempts, contact, channel FROM notifications"
        )
    }
    assert rows[done["txn_id"]][1:4] == ("sent", 3, None)  # two refusals, then sent
    assert rows[failed_id][1] == "sent" and rows[failed_id][3] is None
    assert _host_rows(host, "SELECT COUNT(*) FROM contacts") == [(0,)]
    stored = _host_rows(host, "SELECT envelope FROM events")
    assert all(ADDRESS not in e and PHONE not in e for (e,) in stored)  # never in an event
    code, refunds = host.cli("refunds", "--json")
    states = {r["txn_id"]: r["notification"] for r in refunds}
    assert states[done["txn_id"]]["state"] == "sent" and "contact" not in states[done["txn_id"]]


def test_an_unreachable_mail_server_ends_failed_with_the_reason(
    rig: Rig,
    host: Host,
    gateway: str,
    tmp_path: Path,
) -> None:
    class Nowhere:
        url = "smtp://127.0.0.1:9"  # discard port: nobody listens

    _with_notify(host, Nowhere(), gateway)  # type: ignore[arg-type]
    host.config.write_text(
        host.config.read_text().replace(
            "max_retry_s = 0.5\n", "max_retry_s = 0.5\nmax_attempts = 2\n"
        )
    )
    host.stop()
    host.start()
    code, sale = rig.cli("sale", "20.00")
    code, done = rig.cli(
        "refund", sale["txn_id"], "5.00", "--reason", "wrong_amount", "--notify-email", ADDRESS
    )
    assert code == 0
    wait_for(
        lambda: _host_rows(host, "SELECT state FROM notifications") == [("failed",)],
        "the notification given up after its attempts",
        timeout=60,
    )
    code, refunds = host.cli("refunds", "--json")
    (row,) = [r for r in refunds if r["txn_id"] == done["txn_id"]]
    assert row["notification"]["state"] == "failed" and "SMTP" in row["notification"]["last_error"]
