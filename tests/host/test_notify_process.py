"""Refund notifications are sent by the delivery sender in a process of its own (`run
--role sender`); the ingest process only queues a row with the events. Killed mid-burst,
the sender loses nothing: the ingest goes on acking events, and once the sender runs again
every customer is told, each once but for the messages the killed process had handed to
the mail server without recording them (sent again with the same Message-ID). A mail
server that never answers holds up no event."""

from __future__ import annotations

import asyncio
import os
import socket
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from posterm.host.store import Store
from posterm.protocol.mqtt.events import envelope
from tests.host.test_delivery_roles import TID, Terminal, run_host, stop_host
from tests.host.test_delivery_roles import terminal as terminal  # noqa: PLC0414 (fixture)
from tests.support.broker import Broker, wait_for
from tests.support.smtp import Mailbox, SmtpServer

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)


class SlowMailbox(Mailbox):
    """Takes each message after a pause, so a burst is still being sent when the test
    kills the sender."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.03)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.mailbox = server.controller.handler = SlowMailbox()
    server.start()
    yield server
    server.stop()


def _config(tmp: Path, mqtt_url: str, store_url: str, smtp_url: str) -> Path:
    config = tmp / "host.toml"
    config.write_text(
        f'[host]\nid = "hq"\n[mqtt]\nurl = "{mqtt_url}"\n[store]\nurl = "{store_url}"\n'
        f'[notify]\nmerchant_name = "Shop"\nsmtp_url = "{smtp_url}"\nsmtp_security = "none"\n'
        f'from = "refunds@shop.example"\nfirst_retry_s = 0.2\nmax_retry_s = 0.5\n'
    )
    return config


def _refunds(first: int, count: int) -> list[dict[str, Any]]:
    """`count` refunds, each with the customer's address, request then completion."""
    events = []
    for i in range(first, first + count):
        money = {"txn_id": f"R{i}", "kind": "refund", "amount": "5.00", "currency": "EUR"}
        request = {**money, "reason": "goods_returned", "state": "in_doubt"}
        request["notify"] = {"email": f"kunde{i}@example.org", "lang": "en"}
        events += [
            envelope(TID, 2 * i + 1, "refund.requested", request),
            envelope(TID, 2 * i + 2, "refund.completed", {**money, "state": "approved"}),
        ]
    return events


def _rows(store_url: str, sql: str) -> list[dict[str, Any]]:
    store = Store(store_url)
    try:
        return store.db.rows(sql)
    finally:
        store.close()


def _ids(events: list[dict[str, Any]]) -> set[str]:
    return {str(e["event_id"]) for e in events}


def test_the_sender_killed_mid_burst_loses_nothing_and_ingest_goes_on(
    tmp_path: Path, broker: Broker, terminal: Terminal, smtp: SmtpServer, store_url: str
) -> None:
    """GIVEN `run --role ingest` and `run --role sender` on one store WHEN a burst of 60
    refunds with addresses arrives and the sender is SIGKILLed while sending it THEN the
    ingest process acks a second burst of 30 while no sender runs (nothing more is mailed);
    AND WHEN the sender starts again THEN all 90 notifications are recorded sent, every one
    reached the mail server (by its Message-ID), and a message went twice only if the killed
    process had claimed it (handed over, not yet recorded: at least once, as documented)."""
    config = _config(tmp_path, broker.url, store_url, smtp.url)
    ingest = run_host(tmp_path, config, "--role", "ingest")
    sender = run_host(tmp_path, config, "--role", "sender", "--instance", "sender")
    try:
        wait_for(lambda: terminal.host_online, "the ingest process online")
        first = _refunds(0, 60)
        terminal.send(first)
        wait_for(lambda: len(smtp.mailbox.messages) >= 5, "the sender sending the burst")
        sender.kill()
        assert sender.wait(10) == -9
        assert len(smtp.mailbox.messages) < 60, "the burst was sent before the kill"
        wait_for(lambda: terminal.acked >= _ids(first), "the first burst acked")
        in_flight = {
            str(r["notification_id"])
            for r in _rows(
                store_url,
                "SELECT notification_id, claim FROM notifications WHERE state = 'queued'",
            )
            if str(r["claim"]).startswith("hq-sender:")
        }
        mailed = len(smtp.mailbox.messages)
        second = _refunds(60, 30)
        terminal.send(second)
        wait_for(lambda: terminal.acked >= _ids(second), "the second burst acked, no sender")
        assert len(smtp.mailbox.messages) == mailed
        sender = run_host(tmp_path, config, "--role", "sender", "--instance", "sender")
        wait_for(
            lambda: (
                _rows(store_url, "SELECT COUNT(*) AS n FROM notifications WHERE state = 'sent'")
                == [{"n": 90}]
            ),
            "every notification recorded sent",
            timeout=60,
        )
        ids = {
            str(r["notification_id"])
            for r in _rows(store_url, "SELECT notification_id FROM notifications")
        }
        got = Counter(str(m["Message-ID"]).strip("<>").split("@")[0] for m in smtp.mailbox.messages)
        assert set(got) == ids
        assert {i for i, n in got.items() if n > 1} <= in_flight
        assert {r[0] for r in smtp.mailbox.recipients} == {
            f"kunde{i}@example.org" for i in range(90)
        }
    finally:
        stop_host(sender)
        stop_host(ingest)


@pytest.fixture
def silent_smtp() -> Iterator[str]:
    """A mail server that takes the connection and never says a word: its URL."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"smtp://127.0.0.1:{listener.getsockname()[1]}"


def test_a_mail_server_that_never_answers_holds_up_no_event(
    tmp_path: Path, broker: Broker, terminal: Terminal, silent_smtp: str
) -> None:
    """GIVEN the sender process stuck on a mail server that accepts the connection and
    never answers WHEN a burst of 100 refunds with addresses arrives THEN the ingest process
    acks every event and keeps every customer's contact (its notification queued, or the
    contact marked for the sender), none sent."""
    store_url = f"sqlite://{tmp_path / 'host.db'}"
    config = _config(tmp_path, broker.url, store_url, silent_smtp)
    ingest = run_host(tmp_path, config, "--role", "ingest")
    sender = run_host(tmp_path, config, "--role", "sender", "--instance", "sender")
    try:
        wait_for(lambda: terminal.host_online, "the ingest process online")
        events = _refunds(0, 100)
        terminal.send(events)
        wait_for(lambda: terminal.acked >= _ids(events), "every event acked", timeout=15)
        # each refund's contact kept: marked for the sender, or already its queued row
        kept = _rows(store_url, "SELECT COUNT(*) AS n FROM contacts")[0]["n"]
        states = _rows(store_url, "SELECT state, COUNT(*) AS n FROM notifications GROUP BY state")
        assert kept + sum(r["n"] for r in states) == 100
        assert {r["state"] for r in states} <= {"queued"}
        assert sender.poll() is None
    finally:
        sender.kill()  # blocked reading the silent server (up to its timeout_s)
        sender.wait(10)
        stop_host(ingest)


def _nice(pid: int) -> int:
    """A process's nice value (/proc/PID/stat, field 19)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[16])


def test_the_sender_process_yields_the_cpu_to_ingest(
    tmp_path: Path, broker: Broker, smtp: SmtpServer
) -> None:
    """GIVEN `run --role ingest` and `run --role sender` started alike WHEN both run THEN
    the sender runs at nice SENDER_NICE (10) or lower priority, the ingest's unchanged."""
    config = _config(tmp_path, broker.url, f"sqlite://{tmp_path / 'host.db'}", smtp.url)
    ingest = run_host(tmp_path, config, "--role", "ingest")
    sender = run_host(tmp_path, config, "--role", "sender", "--instance", "sender")
    try:
        log = tmp_path / "host--role-sender---instance-sender.log"
        wait_for(lambda: log.exists() and "sending from" in log.read_text(), "the sender up")
        assert _nice(sender.pid) == max(10, os.getpriority(os.PRIO_PROCESS, 0))
        assert _nice(ingest.pid) == os.getpriority(os.PRIO_PROCESS, 0)
    finally:
        stop_host(sender)
        stop_host(ingest)
