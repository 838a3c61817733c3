"""Refund notifications, part by part: the messages in three languages, e-mail through a
real SMTP server (aiosmtpd), SMS through a local HTTP gateway, and the `[notify]` config."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from posterm.host.notify import queue
from posterm.host.notify.channels import ChannelError, SmsGateway, Smtp
from posterm.host.notify.config import NotifyConfigError, parse
from posterm.host.notify.promote import promote
from posterm.host.notify.sender import Notifier
from posterm.host.notify.templates import FactsError, Refund, render
from posterm.host.store import Store
from posterm.protocol.mqtt.events import envelope, now_rfc3339
from tests.support.sms import Gateway, sms_gateway
from tests.support.smtp import SmtpServer

REFUND = Refund(
    outcome="completed",
    merchant="Café Beispiel",
    amount="12.50",
    currency="EUR",
    at=datetime(2026, 11, 29, 14, 5, tzinfo=UTC),
    reason="goods_returned",
    card="476173******0119",
    reference="T20261129-0007",
)
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ["has refunded 12.50 EUR", "goods returned", "3 to 10 banking days"]),
        ("de", ["hat 12.50 EUR", "Ware zurückgegeben", "3 bis 10 Bankarbeitstagen"]),
        ("zh", ["已将 12.50 EUR 退还", "退货", "3 至 10 个银行工作日"]),
    ],
)
def test_the_message_in_each_language(lang: str, words: list[str]) -> None:
    message = render(REFUND, lang, BERLIN)
    for part in (message.text, message.html):
        for word in words:
            assert word in part
        assert "476173******0119" in part and "T20261129-0007" in part
        assert "2026-11-29 15:05 CET" in part  # the merchant's time zone
    assert "Café Beispiel" in message.subject and "T20261129-0007" in message.sms


def test_failed_and_rejected_say_no_money_moved_and_no_statement_advice() -> None:
    for outcome in ("failed", "rejected"):
        message = render(Refund(**{**REFUND.__dict__, "outcome": outcome}), "en", BERLIN)
        assert "banking days" not in message.text
    assert (
        "No money was moved"
        in render(Refund(**{**REFUND.__dict__, "outcome": "failed"}), "en", BERLIN).text
    )


def test_html_escapes_what_it_shows() -> None:
    message = render(Refund(**{**REFUND.__dict__, "merchant": "<b>Shop</b>"}), "en", BERLIN)
    assert "<b>Shop</b>" not in message.html and "&lt;b&gt;Shop&lt;/b&gt;" in message.html


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(refuse=1).start()
    yield server
    server.stop()


def test_email_through_a_real_smtp_server(smtp: SmtpServer) -> None:
    channel = Smtp(smtp.url, "refunds@shop.example", security="none")  # no STARTTLS
    message = render(REFUND, "de", BERLIN)
    with pytest.raises(ChannelError) as refused:
        channel.send("kunde@example.org", message, "n-1")
    assert refused.value.temporary  # 451: try again
    channel.send("kunde@example.org", message, "n-1")
    (mail,) = smtp.mailbox.messages
    assert smtp.mailbox.recipients == [["kunde@example.org"]]
    assert mail["Subject"] == message.subject and "n-1" in mail["Message-ID"]
    kinds = [part.get_content_type() for part in mail.walk()]
    assert "text/plain" in kinds and "text/html" in kinds


def test_an_smtp_server_that_is_not_there_is_a_temporary_failure() -> None:
    from tests.support.broker import free_port  # noqa: PLC0415

    with pytest.raises(ChannelError) as err:
        Smtp(f"smtp://127.0.0.1:{free_port()}", "r@shop.example", timeout_s=2).send(
            "k@example.org", render(REFUND, "en", BERLIN), "n-2"
        )
    assert err.value.temporary


@pytest.fixture
def gateway() -> Iterator[str]:
    with sms_gateway() as url:
        yield url


def test_sms_through_an_http_gateway(gateway: str, tmp_path: Path) -> None:
    auth = tmp_path / "sms-auth"
    auth.write_text("Authorization: Bearer s3cret\n")
    channel = SmsGateway(
        gateway, {"to": "$to", "text": "$text", "ref": "$id", "from": "Shop"}, auth
    )
    Gateway.answers = [503, 400]
    message = render(REFUND, "en", BERLIN)
    with pytest.raises(ChannelError) as busy:
        channel.send("+4915112345678", message, "n-3")
    assert busy.value.temporary
    with pytest.raises(ChannelError) as bad:
        channel.send("+4915112345678", message, "n-3")
    assert not bad.value.temporary  # a 4xx will not get better
    channel.send("+4915112345678", message, "n-3")
    headers, body = Gateway.got[-1]
    assert body == {"to": "+4915112345678", "text": message.sms, "ref": "n-3", "from": "Shop"}
    assert headers["Authorization"] == "Bearer s3cret" and headers["Idempotency-Key"] == "n-3"


def test_notify_config(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("pw")
    good = {
        "merchant_name": "Shop",
        "smtp_url": "smtp://mail:587",
        "from": "r@shop.example",
        "lang": "de",
        "timezone": "Europe/Berlin",
    }
    config = parse(good)
    assert config.smtp is not None and config.lang == "de" and config.sms is None
    assert config.delay(1) == 30 and config.delay(20) == 3600
    for bad, key in (
        ({**good, "colour": 1}, "notify.colour"),
        ({**good, "smtp_url": "http://mail"}, "notify.smtp_url"),
        ({**good, "from": "nobody"}, "notify.from"),
        ({**good, "lang": "fr"}, "notify.lang"),
        ({**good, "timezone": "Mars/Olympus"}, "notify.timezone"),
        ({**good, "keep_days": 0}, "notify.keep_days"),
        ({**good, "smtp_user": "u"}, "notify.smtp_user"),
        (
            {**good, "smtp_user": "u", "smtp_password_file": "/nonexistent"},
            "notify.smtp_password_file",
        ),
        ({"merchant_name": "Shop"}, "notify.smtp_url"),
        (
            {"merchant_name": "Shop", "sms": {"url": "https://gw/x", "body": {"a": "$text"}}},
            "notify.sms.body",
        ),
        ({"merchant_name": "Shop", "sms": {"url": "ftp://gw", "body": {}}}, "notify.sms.url"),
    ):
        with pytest.raises(NotifyConfigError) as err:
            parse(bad)
        assert err.value.key == key, (bad, err.value)


@pytest.mark.parametrize(
    ("after", "outcome"),
    [
        # told completed at its commit, then recovery found the PT did not keep it
        ([("refund.failed", {"state": "not_charged", "outcome": "not_charged"})], "failed"),
        # its receipt: the terminal issues it only after the PT's completion
        ([("receipt.printed", {"copy": "customer"})], "completed"),
        # recovery found it kept
        ([("refund.completed", {"state": "approved", "outcome": "kept"})], "completed"),
    ],
)
def test_the_customer_hears_the_refund_s_final_outcome_only(
    tmp_path: Path, after: list[tuple[str, dict[str, str]]], outcome: str
) -> None:
    """GIVEN a refund with a contact told `refund.completed` at its commit (state
    approved_unconfirmed: the PT may still not keep it) THEN nothing is queued yet; AND
    WHEN the event that makes the outcome final arrives THEN one message of that outcome."""
    store = Store(f"sqlite://{tmp_path / 'host.db'}")
    refund = {"txn_id": "R1", "amount": "12.00", "currency": "EUR", "reason": "goods_returned"}
    request = envelope("pos-a", 1, "refund.requested", {**refund, "state": "in_doubt"})
    contacts = {str(request["event_id"]): {"email": "kunde@example.org"}}

    def arrive(env: dict[str, Any]) -> int:
        """Ingest one event; how many notifications the sender then queues."""
        store.ingest([env])
        with store.db.tx() as tx:
            queue.on_new(tx, [env], contacts, now_rfc3339())
        return promote(store, now_rfc3339())

    try:
        assert arrive(request) == 0
        assert (
            arrive(
                envelope(
                    "pos-a", 2, "refund.completed", {**refund, "state": "approved_unconfirmed"}
                )
            )
            == 0
        )
        seq = 3
        for kind, data in after:
            assert arrive(envelope("pos-a", seq, kind, {"txn_id": "R1", **data})) == 1
        (row,) = store.db.rows("SELECT facts, contact FROM notifications")
        facts = json.loads(row["facts"])
        assert (facts["outcome"], facts["amount"]) == (outcome, "12.00")
        assert store.db.rows("SELECT COUNT(*) AS n FROM contacts")[0]["n"] == 0
    finally:
        store.close()


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("amount", "12.5", "amount"),  # EUR has two decimals
        ("amount", "12.50 EUR <a href='http://evil.example'>claim</a>", "amount"),
        ("amount", "-12.50", "amount"),
        ("amount", "1e3", "amount"),
        ("amount", "\u0661\u0662.\u0665\u0660", "amount"),  # Arabic-Indic digits
        ("currency", "eur", "currency"),
        ("currency", "EURO", "currency"),
        ("currency", "XAU", "currency"),  # three capitals, not one this host knows
        ("card", "4761731234560119", "card"),  # a full card number
        ("card", "4761734*****0119", "card"),  # seven first digits
        ("card", "476173*****10119", "card"),  # five last digits
        ("card", "476173******0119 call +49 555", "card"),
        ("card", "*" * 20, "card"),
        ("reason", "call +49 555 0100 for your bonus", "reason"),
        ("reference", "R1 https://evil.example", "reference"),
    ],
)
def test_a_terminal_s_text_that_does_not_fit_never_makes_a_message(
    field: str, value: str, why: str
) -> None:
    """GIVEN a refund's facts, one of them a terminal's text that does not fit its type WHEN
    the message would be made THEN it is refused, naming the fact but not its value."""
    with pytest.raises(FactsError) as err:
        Refund(**{**REFUND.__dict__, field: value})
    assert why in str(err.value) and value not in str(err.value)


def test_facts_that_fit_make_a_message() -> None:
    """GIVEN a yen amount (no decimals), a card shown only by its last four, no card WHEN the
    message is made THEN it shows them as they are."""
    yen = Refund(
        **{**REFUND.__dict__, "amount": "1250", "currency": "JPY", "card": "************0119"}
    )
    assert "1250 JPY" in render(yen, "en", BERLIN).text
    assert "—" in render(Refund(**{**REFUND.__dict__, "card": ""}), "en", BERLIN).text


@pytest.mark.slow
def test_a_refund_whose_facts_do_not_fit_is_marked_failed_and_not_sent(tmp_path: Path) -> None:
    """GIVEN two completed refunds with a contact each, pos-b's with a full card number and
    an amount carrying a link WHEN the sender runs THEN pos-a's customer gets one e-mail;
    pos-b's refund is marked failed with the reason and nothing of it is sent."""
    server = SmtpServer().start()
    store = Store(f"sqlite://{tmp_path / 'host.db'}")
    config = parse(
        {
            "merchant_name": "Shop",
            "smtp_url": server.url,
            "from": "r@shop.example",
            "smtp_security": "none",
        }
    )  # the test server has no STARTTLS
    facts = {
        "pos-a": ("12.50", "476173******0119"),
        "pos-b": ("12.50 <a href='http://evil.example'>bonus</a>", "4761731234560119"),
    }
    try:
        for tid, (amount, pan) in facts.items():
            refund = {
                "txn_id": "R1",
                "amount": amount,
                "currency": "EUR",
                "reason": "goods_returned",
            }
            request = envelope(tid, 1, "refund.requested", {**refund, "state": "in_doubt"})
            done = envelope(
                tid, 2, "refund.completed", {**refund, "state": "approved", "masked_pan": pan}
            )
            contacts = {str(request["event_id"]): {"email": f"{tid}@example.org"}}
            store.ingest(
                [request, done],
                on_new=lambda tx, envs, c=contacts: queue.on_new(  # type: ignore[misc]
                    tx, envs, c, now_rfc3339()
                ),
            )
        assert Notifier(store, config).run_due() == 2
        rows = {r["terminal"]: r for r in store.db.rows("SELECT * FROM notifications")}
        assert rows["pos-a"]["state"] == "sent"
        assert rows["pos-b"]["state"] == "failed"
        assert rows["pos-b"]["last_error"] == (
            "not sent: the amount is not a decimal with 2 decimals for EUR"
        )
        assert server.mailbox.recipients == [["pos-a@example.org"]]
        assert "evil.example" not in server.mailbox.messages[0].as_string()
    finally:
        store.close()
        server.stop()
