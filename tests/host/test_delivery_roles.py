"""`posterm-host run --role ingest` and `run --role sender` as two processes on one store
(SQLite file, PostgreSQL): the events a terminal sends are stored and acked by the ingest
process, and their webhook and refund e-mail are delivered by the sender process (a local
HTTP receiver, a real SMTP server)."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from posterm.host.store import Store
from posterm.protocol.mqtt import topics
from posterm.protocol.mqtt.events import envelope
from tests.host.test_webhooks import SECRET, Receiver
from tests.support.broker import Broker, wait_for
from tests.support.sim import BIN
from tests.support.smtp import SmtpServer

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

TID = "pos-roles"
MONEY = {"currency": "EUR", "masked_pan": "476173******0119", "card_name": "VISA"}
ADDRESS = "kunde@example.org"


class Terminal:
    """Publishes events as a terminal does and records the host's acks."""

    def __init__(self, broker: Broker) -> None:
        self.acked: set[str] = set()
        self.host_online = False
        self.lock = threading.Lock()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2, client_id=TID, protocol=mqtt.MQTTv311
        )
        self.client.on_connect = lambda c, *_: c.subscribe(
            [(topics.terminal(TID, "ack"), 1), (topics.host("hq", "status"), 1)]
        )
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", broker.port, keepalive=10)
        self.client.loop_start()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        data = json.loads(message.payload)
        with self.lock:
            if message.topic.endswith("/ack"):
                self.acked.update(data["event_ids"])
            else:  # the host's retained status: it has subscribed
                self.host_online = bool(data["online"])

    def send(self, events: list[dict[str, Any]]) -> None:
        for env in events:
            self.client.publish(topics.terminal(TID, "events"), json.dumps(env), qos=1)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def terminal(broker: Broker) -> Iterator[Terminal]:
    t = Terminal(broker)
    yield t
    t.close()


def _config(tmp: Path, mqtt_url: str, store_url: str, hook: Receiver, smtp: SmtpServer) -> Path:
    secret = tmp / "hook.secret"
    secret.write_bytes(SECRET)
    config = tmp / "host.toml"
    config.write_text(
        f'[host]\nid = "hq"\n[mqtt]\nurl = "{mqtt_url}"\n[store]\nurl = "{store_url}"\n'
        f'[keys]\nprivate_key = "{tmp / "host.key"}"\n'
        f'[[webhooks]]\nurl = "{hook.url}"\nsecret_file = "{secret}"\n'
        f'events = ["sale.approved"]\n'
        f'[notify]\nmerchant_name = "Shop"\ntimezone = "Europe/Berlin"\n'
        f'smtp_url = "{smtp.url}"\nsmtp_security = "none"\nfrom = "refunds@shop.example"\n'
    )
    return config


def run_host(tmp: Path, config: Path, *args: str) -> subprocess.Popen[str]:
    """`posterm-host run ARGS` in the background, its log appended to (a restart too)."""
    log = (tmp / f"host{'-'.join(args)}.log").open("a")
    return subprocess.Popen(
        [str(BIN / "posterm-host"), "--config", str(config), "run", *args],
        stdout=log,
        stderr=log,
        text=True,
    )


def stop_host(proc: subprocess.Popen[str]) -> int:
    if proc.poll() is None:
        proc.terminate()
    return proc.wait(10)


def _claims(store_url: str) -> dict[str, list[tuple[str, str]]]:
    """Each table's rows: (state, the claim's process name)."""
    store = Store(store_url)
    try:
        return {
            table: [
                (r["state"], str(r["claim"]).split(":")[0])
                for r in store.db.rows(f"SELECT state, claim FROM {table}")
            ]
            for table in ("webhook_deliveries", "notifications")
        }
    finally:
        store.close()


def _marked_contacts(store_url: str) -> int:
    """How many kept contacts the ingest marked for the sender to look at."""
    store = Store(store_url)
    try:
        return int(store.db.rows("SELECT COUNT(*) AS n FROM contacts WHERE news > 0")[0]["n"])
    finally:
        store.close()


def test_an_event_ingested_by_one_process_is_delivered_by_the_other(
    tmp_path: Path, broker: Broker, terminal: Terminal, store_url: str
) -> None:
    """GIVEN `run --role ingest` alone on a store, with a webhook and [notify]
    WHEN a terminal sends a sale and a refund with the customer's address
    THEN the ingest process stores and acks them, queues a webhook and keeps the refund's
    contact marked for the sender, sending nothing; AND WHEN `run --role sender
    --instance sender` starts on the same store THEN it queues the e-mail and delivers
    both (each row's claim is the sender process's), the ingest process never connected
    to the receiver or the mail server; both stop on SIGTERM with 0."""
    hook, smtp = Receiver(fail=0), SmtpServer().start()
    config = _config(tmp_path, broker.url, store_url, hook, smtp)
    ingest = run_host(tmp_path, config, "--role", "ingest")
    sender = None
    try:
        refund = {"txn_id": "R1", "kind": "refund", "amount": "12.00", "currency": "EUR"}
        events = [
            envelope(
                TID,
                1,
                "sale.approved",
                {"txn_id": "S1", "kind": "sale", "state": "approved", "amount": "12.00", **MONEY},
            ),
            envelope(
                TID,
                2,
                "refund.requested",
                {
                    **refund,
                    "reason": "goods_returned",
                    "state": "in_doubt",
                    "notify": {"email": ADDRESS, "lang": "en"},
                },
            ),
            envelope(TID, 3, "refund.completed", {**refund, "state": "approved", **MONEY}),
        ]
        wait_for(lambda: terminal.host_online, "the ingest process online")
        terminal.send(events)
        wait_for(lambda: terminal.acked >= {e["event_id"] for e in events}, "the events acked")
        assert _claims(store_url) == {  # the refund's contact kept, its row the sender's
            "webhook_deliveries": [("pending", "None")],
            "notifications": [],
        }
        assert _marked_contacts(store_url) == 1
        sender = run_host(tmp_path, config, "--role", "sender", "--instance", "sender")
        wait_for(lambda: hook.accepted and smtp.mailbox.messages, "the webhook and the mail")
        wait_for(
            lambda: (
                _claims(store_url)
                == {
                    "webhook_deliveries": [("sent", "hq-sender")],
                    "notifications": [("sent", "hq-sender")],
                }
            ),
            "both recorded sent by the sender process",
        )
        (posted,) = hook.accepted
        assert json.loads(posted["body"])["data"]["event_id"] == events[0]["event_id"]
        assert smtp.mailbox.recipients == [[ADDRESS]]
        assert stop_host(sender) == 0 and stop_host(ingest) == 0
    finally:
        for proc in (ingest, sender):
            if proc is not None:
                stop_host(proc)
        hook.close()
        smtp.stop()


def test_the_sender_role_refuses_the_ingest_options(tmp_path: Path) -> None:
    """GIVEN a host config WHEN `run --role sender --http` THEN exit 2 with the reason,
    nothing started; an unknown role is refused too."""
    hook, smtp = Receiver(fail=0), SmtpServer()
    config = _config(tmp_path, "mqtt://127.0.0.1:1", f"sqlite://{tmp_path / 'host.db'}", hook, smtp)
    hook.close()
    for args, why in (
        (["--role", "sender", "--http", "127.0.0.1:1"], "--http and --metrics"),
        (["--role", "both"], "invalid choice"),
    ):
        proc = subprocess.run(
            [str(BIN / "posterm-host"), "--config", str(config), "run", *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 64 and why in proc.stderr, proc.stderr  # EX_USAGE
    assert not (tmp_path / "host.db").exists()
