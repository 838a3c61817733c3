"""Webhooks: a receiver (a local http.server) that fails twice then accepts gets every
chosen event and alert once, each with a valid signature and a delivery id; a receiver
down for good ends `failed` and listed; `[alerts]` and `[[webhooks]]` config refused
with the key named."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from posterm.host import cli, webhooks
from posterm.host.alerts.engine import Alerter
from posterm.host.alerts.rules import Limits
from posterm.host.config import HostConfigError, load
from posterm.host.store import Store
from posterm.protocol import config as kit
from posterm.protocol.mqtt.events import envelope
from tests.support.broker import free_port, wait_for

SECRET = b"0123456789abcdef-webhook-secret"
PAN = "476173******0119"


class Receiver:
    """Answers 500 to the first `fail` POSTs, then 204; keeps what it accepted."""

    def __init__(self, fail: int) -> None:
        self.fail, self.seen = fail, 0
        self.accepted: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.seen += 1
                    ok = receiver.seen > receiver.fail
                    if ok:
                        receiver.accepted.append({"body": body, **dict(self.headers.items())})
                self.send_response(204 if ok else 500)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail=2)
    yield r
    r.close()


def _verify(headers: dict[str, Any]) -> bool:
    """What a receiver does: HMAC-SHA256 over f"{t}.{body}", compared in constant time."""
    parts = dict(p.split("=", 1) for p in headers["Posterm-Signature"].split(","))
    mac = hmac.new(SECRET, parts["t"].encode() + b"." + headers["body"], hashlib.sha256)
    return (
        hmac.compare_digest(mac.hexdigest(), parts["v1"])
        and abs(time.time() - int(parts["t"])) < 300
    )


def test_a_receiver_failing_twice_gets_every_event_once_signed(
    tmp_path: Path, receiver: Receiver
) -> None:
    store = Store(f"sqlite://{tmp_path / 'host.db'}")
    hook = webhooks.Webhook(
        receiver.url,
        SECRET,
        frozenset({"sale.approved", "alert.*"}),
        first_retry_s=0.01,
        max_retry_s=0.05,
    )
    alerter = Alerter(store, Limits(), webhooks=(hook,))
    sender = webhooks.Sender(store, (hook,))
    sale = {"amount": "7.00", "currency": "EUR", "masked_pan": PAN}
    events = [
        envelope("pos-a", 1, "sale.approved", {"txn_id": "T1", **sale}),
        envelope("pos-a", 2, "receipt.printed", {"txn_id": "T1", "receipt_id": 1}),
        envelope("pos-a", 3, "sale.approved", {"txn_id": "T2", **sale}),
    ]
    alerter.ingest(events[:2])
    alerter.ingest(events[1:])  # a redelivered event is not sent again
    (alert,) = alerter.take()  # the double charge, T1 and T2
    sender.start()
    try:
        wait_for(lambda: len(receiver.accepted) >= 3, "three deliveries accepted")
        wait_for(
            lambda: all(r["state"] == "sent" for r in webhooks.deliveries(store)),
            "every delivery marked sent",
        )
    finally:
        sender.stop()
    assert receiver.seen == 5  # two refused, three accepted
    bodies = [json.loads(r["body"]) for r in receiver.accepted]
    ids = [r["Posterm-Delivery"] for r in receiver.accepted]
    assert len(set(ids)) == 3 and ids == [b["id"] for b in bodies]  # each once
    assert all(_verify(r) for r in receiver.accepted)
    assert all(
        webhooks.verify(SECRET, r["body"], r["Posterm-Signature"], time.time())
        for r in receiver.accepted
    )
    assert not webhooks.verify(
        b"another secret of 16+",
        receiver.accepted[0]["body"],
        receiver.accepted[0]["Posterm-Signature"],
        time.time(),
    )
    by_type: dict[str, list[dict[str, Any]]] = {}
    for body in bodies:
        by_type.setdefault(body["type"], []).append(body["data"])
    assert sorted(e["event_id"] for e in by_type["sale.approved"]) == sorted(
        [events[0]["event_id"], events[2]["event_id"]]
    )
    assert by_type["alert.double_charge"] == [alert]
    rows = webhooks.deliveries(store)
    assert sum(r["attempts"] for r in rows) == 5 and all(r["sent_at"] for r in rows)
    store.close()


def test_a_customers_contact_never_goes_to_a_webhook(tmp_path: Path) -> None:
    store = Store(f"sqlite://{tmp_path / 'host.db'}")
    hook = webhooks.Webhook("https://hooks.example/x", SECRET, frozenset({"refund.requested"}))
    request = envelope(
        "pos-a",
        1,
        "refund.requested",
        {
            "txn_id": "R1",
            "amount": "5.00",
            "currency": "EUR",
            "notify": {"email": "kim@example.org", "phone": "+4915112345678", "lang": "de"},
        },
    )
    Alerter(store, Limits(), webhooks=(hook,)).ingest([request])
    (row,) = store.db.rows("SELECT body FROM webhook_deliveries")
    body = json.loads(row["body"])
    assert body["data"]["data"] == {"txn_id": "R1", "amount": "5.00", "currency": "EUR"}
    assert "kim@" not in row["body"] and "4915112345678" not in row["body"]
    store.close()


def test_a_receiver_down_for_good_ends_failed_and_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "hook.secret"
    secret.write_bytes(SECRET + b"\n")
    db = tmp_path / "host.db"
    config = tmp_path / "host.toml"
    config.write_text(
        f'[host]\nid = "hq"\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\n[store]\nurl = "sqlite://{db}"\n'
        f'[[webhooks]]\nurl = "http://127.0.0.1:{free_port()}/gone"\nsecret_file = "{secret}"\n'
        'events = ["sale.approved"]\nmax_attempts = 3\nfirst_retry_s = 0.01\n'
    )
    host = load(config)
    store = Store(host.store_url)
    Alerter(store, host.alerts, webhooks=host.webhooks).ingest(
        [envelope("pos-a", 1, "sale.approved", {"txn_id": "T1", "amount": "1.00"})]
    )
    sender = webhooks.Sender(store, host.webhooks)
    sender.start()
    try:
        wait_for(lambda: webhooks.deliveries(store, "failed"), "the delivery given up")
    finally:
        sender.stop()
    store.close()
    assert cli.main(["--config", str(config), "webhooks", "--state", "failed", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["attempts"] == 3 and row["kind"] == "sale.approved" and row["last_error"]
    assert row["sent_at"] is None


def test_a_garbled_answer_is_a_failed_attempt_not_a_dead_sender(tmp_path: Path) -> None:
    store = Store(f"sqlite://{tmp_path / 'host.db'}")
    hook = webhooks.Webhook(
        "http://127.0.0.1:9/x",
        SECRET,
        frozenset({"sale.approved"}),
        max_attempts=2,
        first_retry_s=0.01,
    )
    Alerter(store, Limits(), webhooks=(hook,)).ingest(
        [envelope("pos-a", 1, "sale.approved", {"txn_id": "T1"})]
    )

    def garbled(hook: webhooks.Webhook, delivery_id: str, body: bytes) -> None:
        raise http.client.BadStatusLine("NOT HTTP")

    sender = webhooks.Sender(store, (hook,), post=garbled)
    assert sender.run_due() == 1
    (row,) = webhooks.deliveries(store)
    assert (row["state"], row["attempts"]) == ("pending", 1) and "NOT HTTP" in row["last_error"]
    wait_for(sender.run_due, "the retry due")
    assert webhooks.deliveries(store)[0]["state"] == "failed"
    store.close()


def test_the_back_off_doubles_up_to_its_cap() -> None:
    hook = webhooks.Webhook("http://x", SECRET, frozenset(), first_retry_s=5, max_retry_s=60)
    assert [hook.delay(n) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[alerts]\noffline_S = 3\n", "alerts.offline_S"),
        ("[alerts]\noffline_s = 0\n", "alerts.offline_s"),
        ("[alerts]\nrefunds_per_day = 2.5\n", "alerts.refunds_per_day"),
        (
            '[[webhooks]]\nurl = "https://h/x"\nsecret_file = "{secret}"\nevents = ["alert.*"]\n'
            "retries = 3\n",
            "webhooks[0].retries",
        ),
        (
            '[[webhooks]]\nurl = "ftp://h/x"\nsecret_file = "{secret}"\nevents = ["alert.*"]\n',
            "webhooks[0].url",
        ),
        (
            '[[webhooks]]\nurl = "https:///x"\nsecret_file = "{secret}"\nevents = ["alert.*"]\n',
            "webhooks[0].url",
        ),
        (
            '[[webhooks]]\nurl = "https://h/x"\nsecret_file = "/nonexistent/hook.secret"\n'
            'events = ["alert.*"]\n',
            "webhooks[0].secret_file",
        ),
        (
            '[[webhooks]]\nurl = "https://h/x"\nsecret_file = "hook.secret"\n'
            'events = ["alert.*"]\n',
            "webhooks[0].secret_file",
        ),
        (
            '[[webhooks]]\nurl = "https://h/x"\nsecret_file = "{secret}"\n'
            'events = ["sale.aproved"]\n',
            "webhooks[0].events",
        ),
        ('[[webhooks]]\nurl = "https://h/x"\nsecret_file = "{secret}"\n', "webhooks[0].events"),
        ('[webhooks]\nurl = "https://h/x"\n', "webhooks"),
    ],
)
def test_bad_alerts_or_webhooks_config_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    secret = tmp_path / "hook.secret"
    secret.write_bytes(SECRET)
    config = tmp_path / "host.toml"
    config.write_text(
        '[host]\nid = "hq"\n[mqtt]\nurl = "mqtt://x"\n' + text.replace("{secret}", str(secret))
    )
    with pytest.raises(HostConfigError) as err:
        load(config)
    assert f"{config}: {key}:" in str(err.value)


def test_alerts_and_webhooks_config_read(tmp_path: Path) -> None:
    secret = tmp_path / "hook.secret"
    secret.write_bytes(b"  " + SECRET + b"\n")
    config = tmp_path / "host.toml"
    config.write_text(
        '[host]\nid = "hq"\n[mqtt]\nurl = "mqtt://x"\n[alerts]\noffline_s = 60\n'
        "refund_minor_per_day = 50000\ndouble_charge_s = 120\n"
        f'[[webhooks]]\nurl = "https://hooks.example/posterm"\nsecret_file = "{secret}"\n'
        'events = ["sale.approved", "refund.completed", "alert.double_charge"]\n'
        f'[[webhooks]]\nurl = "http://10.0.0.5:8080/a"\nsecret_file = "{secret}"\n'
        'events = ["alert.*"]\ntimeout_s = 3\n'
    )
    host = load(config)
    assert host.alerts == Limits(offline_s=60, refund_minor_per_day=50_000, double_charge_s=120)
    first, second = host.webhooks
    assert first.secret == SECRET and first.max_attempts == 12
    assert first.wants("alert.double_charge") and not first.wants("alert.paper_out")
    assert second.wants("alert.paper_out") and not second.wants("sale.approved")
    assert second.timeout_s == 3 and SECRET.decode() not in repr(second)


def test_the_example_config_documents_the_defaults() -> None:
    """deploy/posterm-host.toml.example loads, and its [alerts] are the defaults."""
    example = Path(__file__).resolve().parents[2] / "deploy/posterm-host.toml.example"
    host = load(example)
    assert host.alerts == Limits() and host.webhooks == ()
    text = example.read_text()
    for field in Limits.__dataclass_fields__:
        assert f"\n{field} = " in text, field
    for key in (f.encode_name for f in kit.keys(webhooks.WebhookEntry)):
        assert f"\n#{key} = " in text, key
