"""Refund notifications across real process deaths. postermd SIGKILLed at each step of a
refund that carries the customer's e-mail address: the customer hears once, of what the PT
really did, and the address leaves the journal once the host has it. posterm-host SIGKILLed
after the mail server took the message but before it was recorded as sent: the restarted
host sends it again at once, with the same Message-ID (at least once, as documented)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.host.test_host import unacked
from tests.host.test_scale import HostProc
from tests.support import money_rules
from tests.support.broker import Broker, wait_for
from tests.support.rig import Rig, make_rig
from tests.support.smtp import SmtpServer
from tests.terminal.test_crash_flows import REFUND_KEPT

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

ADDRESS = "kunde.mueller@example.org"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def _rig_and_host(tmp_path: Path, broker: Broker, smtp: SmtpServer) -> tuple[Rig, HostProc]:
    host = HostProc(tmp_path, broker, f"sqlite://{tmp_path / 'host.db'}")
    assert host.cli("keygen")[0] == 0
    host.config.write_text(
        host.config.read_text()
        + (
            f'[notify]\nmerchant_name = "Test Shop"\nsmtp_url = "{smtp.url}"\n'
            f'smtp_security = "none"\nfrom = "refunds@shop.example"\n'
            f"first_retry_s = 0.2\nmax_retry_s = 0.5\n"
        )
    )
    extra = (
        f'\n[mqtt]\nurl = "{broker.url}"\ntelemetry_s = 1\nkeepalive_s = 5\n'
        f'host_public_key = "{host.key.with_suffix(".pub")}"\n'
    )
    return make_rig(tmp_path, extra_config=extra), host


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return list(conn.execute(sql))
    finally:
        conn.close()


def _on_disk(path: Path) -> bool:
    """The address anywhere in a database file or its WAL (freed pages included)."""
    return any(
        p.exists() and ADDRESS.encode() in p.read_bytes()
        for p in (path, path.with_name(path.name + "-wal"))
    )


def _text(mail: EmailMessage) -> str:
    return str(mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]


def _told_once(rig: Rig, host: HostProc, smtp: SmtpServer) -> dict[str, Any]:
    """The money rules hold, and the customer got exactly one e-mail, of what the PT
    really did with the refund (returned)."""
    found = money_rules.check(rig)
    (refund,) = [t for t in found["txns"] if t["kind"] == "refund"]
    wait_for(
        lambda: _rows(host.db, "SELECT state FROM notifications") == [("sent",)],
        "one notification sent and marked so",
        timeout=60,
    )
    wait_for(lambda: unacked(rig) == 0, "every event at the host", timeout=60)
    (mail,) = smtp.mailbox.messages
    text = _text(mail)
    assert refund["txn_id"] in text and "12.00 EUR" in text
    if refund["state"] == "approved":
        assert "has refunded" in text
    else:
        assert refund["state"] == "not_charged"
        assert "could not complete" in text and "No money was moved" in text
    assert smtp.mailbox.recipients == [[ADDRESS]]
    return refund


@pytest.mark.parametrize("step", list(REFUND_KEPT))
def test_a_refund_with_an_address_killed_at_each_step_tells_the_customer_once(
    tmp_path: Path, broker: Broker, smtp: SmtpServer, step: str
) -> None:
    """GIVEN postermd, Mosquitto and posterm-host with [notify] WHEN postermd is SIGKILLed
    at `step` of a refund with --notify-email and started again THEN the customer gets
    exactly one e-mail, saying what the PT really did, and the address is gone from the
    journal and the host's store, their files and WALs."""
    rig, host = _rig_and_host(tmp_path, broker, smtp)
    host.start()
    rig.start()
    try:
        code, sale = rig.cli("sale", "30.00")
        assert code == 0
        rig.stop()
        rig.start(crash_at=step)
        code, _ = rig.cli(
            "refund",
            sale["txn_id"],
            "12.00",
            "--reason",
            "goods_returned",
            "--notify-email",
            ADDRESS,
        )
        assert code != 0 and rig.wait_exit() == -9
        rig.start()
        rig.wait_state("ready")
        refund = _told_once(rig, host, smtp)
        assert refund["state"] == ("approved" if REFUND_KEPT[step] else "not_charged")
        wait_for(lambda: not _on_disk(rig.journal), "the address gone from the journal", timeout=60)
        wait_for(lambda: not _on_disk(host.db), "the address gone from the host's WAL", timeout=60)
        assert _rows(host.db, "SELECT COUNT(*) FROM contacts") == [(0,)]
        assert _rows(host.db, "SELECT contact FROM notifications") == [(None,)]
    finally:
        rig.close()
        host.stop()


def test_a_host_killed_after_the_mail_server_took_the_message_sends_it_again_at_once(
    tmp_path: Path, broker: Broker, smtp: SmtpServer
) -> None:
    """GIVEN posterm-host dying right after the mail server accepted a refund's e-mail,
    before it recorded it sent (POSTERM_HOST_CRASH_AT=notify.sent) WHEN it is started again
    THEN it sends the message again at once (not after its 120 s claim runs out), with the
    same Message-ID so the customer's mail client can tell, and records it sent."""
    rig, host = _rig_and_host(tmp_path, broker, smtp)
    host.start(env={"POSTERM_HOST_CRASH_AT": "notify.sent"})
    rig.start()
    try:
        code, sale = rig.cli("sale", "30.00")
        code, done = rig.cli(
            "refund", sale["txn_id"], "7.50", "--reason", "wrong_amount", "--notify-email", ADDRESS
        )
        assert code == 0 and done["state"] == "approved", done
        assert host.proc is not None and host.proc.wait(60) == -9
        assert host.logged("crash point notify.sent")
        assert len(smtp.mailbox.messages) == 1
        assert _rows(host.db, "SELECT state FROM notifications") == [("queued",)]
        host.start()
        wait_for(
            lambda: _rows(host.db, "SELECT state FROM notifications") == [("sent",)],
            "the notification sent again and marked so",
            timeout=30,
        )
        first, again = smtp.mailbox.messages
        assert first["Message-ID"] == again["Message-ID"] and _text(first) == _text(again)
        assert host.logged("sent again")
        assert _rows(host.db, "SELECT COUNT(*) FROM contacts") == [(0,)]
    finally:
        rig.close()
        host.stop()


def _refund_with_address(rig: Rig) -> None:
    code, sale = rig.cli("sale", "30.00")
    assert code == 0
    rig.cli(
        "refund", sale["txn_id"], "12.00", "--reason", "goods_returned", "--notify-email", ADDRESS
    )


def test_postermd_killed_between_forgetting_the_address_and_truncating_the_wal(
    tmp_path: Path, broker: Broker, smtp: SmtpServer
) -> None:
    """GIVEN postermd SIGKILLed right after it took the address out of the acknowledged
    `refund.requested` (POSTERM_CRASH_AT=journal.forgot), its old pages still in the
    journal's WAL WHEN it is started again THEN the restarted postermd truncates the WAL
    (nothing is left to forget, so no acknowledgement would): the address is gone."""
    rig, host = _rig_and_host(tmp_path, broker, smtp)
    host.start()
    rig.start(crash_at="journal.forgot")
    try:
        _refund_with_address(rig)
        assert rig.wait_exit() == -9
        assert _on_disk(rig.journal), "the kill left the address in the WAL"
        rig.start()
        rig.wait_state("ready")
        _told_once(rig, host, smtp)
        wait_for(lambda: not _on_disk(rig.journal), "the address gone from the journal", timeout=60)
    finally:
        rig.close()
        host.stop()


def test_a_host_killed_between_forgetting_the_address_and_truncating_the_wal(
    tmp_path: Path, broker: Broker, smtp: SmtpServer
) -> None:
    """GIVEN posterm-host SIGKILLed right after it recorded the e-mail sent and deleted the
    contact (POSTERM_HOST_CRASH_AT=notify.recorded), its old pages still in the WAL WHEN
    it is started again THEN it truncates the WAL at once: the address is gone, and the
    customer was told once."""
    rig, host = _rig_and_host(tmp_path, broker, smtp)
    host.start(env={"POSTERM_HOST_CRASH_AT": "notify.recorded"})
    rig.start()
    try:
        _refund_with_address(rig)
        assert host.proc is not None and host.proc.wait(60) == -9
        assert host.logged("crash point notify.recorded")
        assert _on_disk(host.db), "the kill left the address in the WAL"
        rig.stop()  # nothing to ingest: no new writes overwrite the WAL's old frames
        host.start()
        wait_for(lambda: not _on_disk(host.db), "the address gone from the host's WAL", timeout=60)
        rig.start()
        _told_once(rig, host, smtp)
        assert _rows(host.db, "SELECT COUNT(*) FROM contacts") == [(0,)]
    finally:
        rig.close()
        host.stop()
