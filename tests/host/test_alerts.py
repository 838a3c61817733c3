"""posterm-host's alerts, rule by rule, on a real Store (a SQLite file) with a fake clock:
each raised and cleared at the clock's time, one open per (kind, terminal, subject), and
the messages for the alerts topic handed over only after their commit."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from posterm.host import migrations, webhooks
from posterm.host.alerts.engine import Alerter, listing, open_counts
from posterm.host.alerts.rules import Limits
from posterm.host.db import connect
from posterm.host.store import Store
from posterm.protocol.mqtt import topics
from posterm.protocol.mqtt.events import envelope, rfc3339
from tests.host.test_host import TID as RIG_TID
from tests.host.test_host import Host, rig  # noqa: F401 (a fixture)
from tests.host.test_webhooks import SECRET, Receiver
from tests.support.broker import Broker, wait_for
from tests.support.rig import Rig

TID = "pos-a"
PAN = "476173******0119"


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, s: float) -> str:
        self.at += timedelta(seconds=s)
        return self.iso

    @property
    def iso(self) -> str:
        return rfc3339(self.at)


class Fleet:
    """A store, an alerter on a fake clock, and envelopes as the terminals send them."""

    def __init__(self, tmp: Path, limits: Limits, stale_after_s: float = 180.0) -> None:
        self.store = Store(f"sqlite://{tmp / 'host.db'}")
        self.clock = Clock()
        self.alerter = Alerter(self.store, limits, stale_after_s=stale_after_s, clock=self.clock)
        self.seq: dict[str, int] = {}

    def event(
        self,
        type_: str,
        tid: str = TID,
        *,
        seq: int | None = None,
        at: str | None = None,
        **data: Any,
    ) -> dict[str, Any]:
        if seq is None:
            seq = self.seq.get(tid, 0) + 1
        self.seq[tid] = max(seq, self.seq.get(tid, 0))
        env = envelope(tid, seq, type_, data, occurred_at=at or self.clock.iso)
        self.alerter.ingest([env])
        return env

    def status(self, online: bool, session: int, tid: str = TID) -> None:
        assert self.store.saw_status(tid, {"online": online, "session": session}, at=self.clock.iso)

    def telemetry(self, tid: str = TID, **tele: Any) -> None:
        self.store.saw_telemetry(
            tid, {"paper": "ok", "oldest_unsent_age_s": None, **tele}, at=self.clock.iso
        )

    def tick(self) -> list[dict[str, Any]]:
        """Run the time-based rules now; the messages they committed."""
        assert self.alerter.tick(force=True)
        return self.alerter.take()

    def alerts(self, kind: str | None = None) -> list[dict[str, Any]]:
        rows = listing(self.store)
        return [r for r in rows if kind is None or r["kind"] == kind][::-1]  # oldest first


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    f = Fleet(tmp_path, Limits())
    yield f
    f.store.close()


def test_offline_longer_than_the_limit_is_raised_then_cleared_when_back(fleet: Fleet) -> None:
    fleet.status(True, 1)
    fleet.telemetry()
    assert fleet.tick() == []
    went = fleet.clock.advance(10)
    fleet.status(False, 1)  # the will
    fleet.clock.advance(300)  # offline exactly the limit: not yet
    assert fleet.tick() == []
    raised_at = fleet.clock.advance(1)
    (msg,) = fleet.tick()
    assert msg["kind"] == "terminal_offline" and msg["terminal"] == TID
    assert msg["raised_at"] == raised_at and msg["detail"]["since"] == went
    assert set(msg) == {"alert_id", "kind", "terminal", "raised_at", "detail"}
    assert fleet.tick() == []  # still open: not raised twice
    back = fleet.clock.advance(60)
    fleet.status(True, 2)
    fleet.telemetry()
    (cleared,) = fleet.tick()
    assert cleared["alert_id"] == msg["alert_id"] and cleared["cleared_at"] == back
    (row,) = fleet.alerts()
    assert (row["raised_at"], row["cleared_at"]) == (raised_at, back)
    assert open_counts(fleet.store)["terminal_offline"] == 0


def test_stale_after_three_of_its_telemetry_periods(fleet: Fleet) -> None:
    fleet.status(True, 1)
    fleet.telemetry(period_s=10)
    fleet.clock.advance(30)  # 3 periods exactly: still online
    assert fleet.store.fleet(fleet.clock.iso)[0]["state"] == "online"
    assert fleet.tick() == []
    stale_at = fleet.clock.advance(0.5)
    (row,) = fleet.store.fleet(fleet.clock.iso)
    assert row["state"] == "stale" and row["online"] is True and row["stale_after_s"] == 30
    (msg,) = fleet.tick()
    assert msg["kind"] == "terminal_stale" and msg["raised_at"] == stale_at
    fresh = fleet.clock.advance(5)
    fleet.telemetry(period_s=10)
    (cleared,) = fleet.tick()
    assert cleared["cleared_at"] == fresh and fleet.store.fleet(fresh)[0]["state"] == "online"


def test_without_a_period_stale_after_host_stale_after_s(fleet: Fleet) -> None:
    fleet.status(True, 1)
    fleet.telemetry()  # no period_s: [host] stale_after_s = 180 s
    fleet.clock.advance(180)
    assert fleet.store.fleet(fleet.clock.iso)[0]["state"] == "online"
    fleet.clock.advance(1)
    assert fleet.store.fleet(fleet.clock.iso)[0]["state"] == "stale"
    assert [m["kind"] for m in fleet.tick()] == ["terminal_stale"]
    fleet.status(False, 1)  # offline is not stale: the stale alert clears
    (cleared,) = fleet.tick()
    assert cleared["kind"] == "terminal_stale" and "cleared_at" in cleared
    assert fleet.store.fleet(fleet.clock.iso)[0]["state"] == "offline"


def test_paper_out_and_an_outbox_that_does_not_drain(fleet: Fleet) -> None:
    fleet.status(True, 1)
    fleet.telemetry(paper="out", printer="online, paper out", oldest_unsent_age_s=900.0)
    assert [m["kind"] for m in fleet.tick()] == ["paper_out"]  # 900 s is the limit: not over
    fleet.clock.advance(5)
    fleet.telemetry(paper="out", oldest_unsent_age_s=901.0, outbox_depth=7)
    (outbox,) = fleet.tick()
    assert outbox["kind"] == "outbox_stale" and outbox["detail"]["outbox_depth"] == 7
    refilled = fleet.clock.advance(5)
    fleet.telemetry(paper="ok", oldest_unsent_age_s=None)
    cleared = fleet.tick()
    assert {m["kind"] for m in cleared} == {"paper_out", "outbox_stale"}
    assert all(m["cleared_at"] == refilled for m in cleared)


def test_an_in_doubt_sale_unresolved_too_long(tmp_path: Path) -> None:
    fleet = Fleet(tmp_path, Limits(in_doubt_s=300))  # 0 (at once) by default
    fleet.event("sale.in_doubt", txn_id="T1", amount="12.50", currency="EUR", why="pt link lost")
    fleet.clock.advance(300)
    assert fleet.tick() == []
    raised_at = fleet.clock.advance(1)
    (msg,) = fleet.tick()
    assert msg["kind"] == "in_doubt" and msg["raised_at"] == raised_at
    assert msg["detail"]["txn_id"] == "T1" and msg["detail"]["why"] == "pt link lost"
    fleet.event("sale.in_doubt", txn_id="T2", amount="1.00", currency="EUR")  # another one
    resolved = fleet.clock.advance(10)
    fleet.event("sale.recovered", txn_id="T1", state="approved", outcome="kept")
    (cleared,) = fleet.tick()
    assert cleared["alert_id"] == msg["alert_id"] and cleared["cleared_at"] == resolved
    fleet.clock.advance(300)
    (t2,) = fleet.tick()
    assert t2["detail"]["txn_id"] == "T2"


def test_a_pending_receipt_unresolved_too_long(fleet: Fleet) -> None:
    fleet.event("receipt.pending", txn_id="T1", receipt_id=4, copy="customer", why="paper out")
    fleet.event("receipt.printed", txn_id="T1", receipt_id=5, copy="merchant")  # not that one
    fleet.clock.advance(901)
    (msg,) = fleet.tick()
    assert msg["kind"] == "receipt_pending" and msg["detail"]["receipt_id"] == 4
    printed = fleet.clock.advance(30)
    fleet.event("receipt.recovered", txn_id="T1", receipt_id=4, copy="customer")
    (cleared,) = fleet.tick()
    assert cleared["cleared_at"] == printed


def test_a_seq_gap_not_filled_in_time(fleet: Fleet) -> None:
    fleet.event("sale.declined", txn_id="T1")
    seen = fleet.clock.advance(1)
    fleet.event("sale.declined", seq=3, txn_id="T3")
    fleet.clock.advance(120)
    assert fleet.tick() == []
    fleet.clock.advance(1)
    (msg,) = fleet.tick()
    assert msg["kind"] == "seq_gap" and msg["detail"] == {"missing_seq": 2, "since": seen}
    filled = fleet.clock.advance(2)
    fleet.event("sale.declined", seq=2, txn_id="T2")
    (cleared,) = fleet.tick()
    assert cleared["cleared_at"] == filled


def test_a_failed_ingest_hands_over_no_alert(fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN the ingest's transaction fails after the alert was written in it, THEN no alert
    is stored or published, and the event is not stored either."""
    data = {"amount": "5.00", "currency": "EUR", "masked_pan": PAN}
    fleet.event("sale.approved", txn_id="T1", **data)
    raise_ = fleet.alerter._raise

    def raise_then_fail(*args: Any) -> None:
        raise_(*args)
        raise RuntimeError("the database went away")

    monkeypatch.setattr(fleet.alerter, "_raise", raise_then_fail)
    with pytest.raises(RuntimeError):
        fleet.alerter.ingest(
            [
                envelope(
                    TID, 2, "sale.approved", {"txn_id": "T2", **data}, occurred_at=fleet.clock.iso
                )
            ]
        )
    assert fleet.alerter.take() == [] and fleet.alerts() == []
    assert [e["seq"] for e in fleet.store.events(terminal=TID)] == [1]


def test_a_malformed_time_or_amount_never_stops_the_ingest(fleet: Fleet) -> None:
    data = {"currency": "EUR", "masked_pan": PAN}
    fleet.event("sale.approved", txn_id="T1", amount="5.00", at="2026-11-29T10:00:00", **data)
    fleet.event("sale.approved", txn_id="T2", amount="5.00", **data)  # one naive, one UTC
    fleet.event("sale.approved", txn_id="T3", amount="5,00", **data)
    fleet.event("sale.approved", txn_id="T4", amount="5.00", at="yesterday", **data)
    fleet.event("refund.completed", txn_id="R1", amount="-1", ref_txn="T1", at="x", **data)
    assert fleet.alerter.take() == [] and fleet.tick() == []
    assert len(fleet.store.events(terminal=TID)) == 5


def test_a_schema_2_store_upgraded_keeps_its_sales_and_terminals_alerting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 3 on a store written by the previous posterm-host: the sales' masked PAN
    (the double-charge rule reads it) and the terminals' status time are filled in; the
    old sale has no amount_minor (migration 6) and is still read."""
    db = connect(f"sqlite://{tmp_path / 'host.db'}")
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:2])
    assert migrations.migrate(db) == 2
    sale = {"txn_id": "T1", "amount": "5.00", "currency": "EUR", "masked_pan": PAN}
    env = envelope(TID, 1, "sale.approved", sale, occurred_at="2026-11-29T09:59:00.000Z")
    with db.tx() as tx:
        tx.execute(
            "INSERT INTO events (event_id, terminal, seq, type, occurred_at, received_at,"
            " envelope, txn_id) VALUES (?, ?, 1, 'sale.approved', ?, ?, ?, 'T1')",
            (env["event_id"], TID, env["occurred_at"], env["occurred_at"], json.dumps(env)),
        )
        tx.execute(
            "INSERT INTO terminals (terminal, contiguous_seq, online, session, last_seen)"
            " VALUES (?, 1, 0, 4, '2026-11-29T09:00:00.000Z')",
            (TID,),
        )
    db.close()
    monkeypatch.undo()
    f = Fleet(tmp_path, Limits())
    assert [m["kind"] for m in f.tick()] == ["terminal_offline"]  # offline since 09:00
    f.event("sale.approved", seq=2, txn_id="T2", amount="5.00", currency="EUR", masked_pan=PAN)
    (msg,) = f.alerter.take()
    assert msg["detail"]["txns"] == ["T1", "T2"]
    f.store.close()


@pytest.fixture
def hook() -> Iterator[Receiver]:
    r = Receiver(fail=0)
    yield r
    r.close()


@pytest.fixture
def host(tmp_path: Path, broker: Broker, hook: Receiver) -> Iterator[Host]:
    """`posterm-host run` with a webhook for alerts and approved sales."""
    h = Host(tmp_path, broker)
    secret = tmp_path / "hook.secret"
    secret.write_bytes(SECRET)
    with h.config.open("a") as f:
        f.write(
            f'[[webhooks]]\nurl = "{hook.url}"\nsecret_file = "{secret}"\n'
            'events = ["alert.*", "sale.approved"]\n'
        )
    assert h.cli("keygen")[0] == 0
    h.start()
    yield h
    h.stop()


@pytest.mark.slow
def test_two_identical_sales_on_one_card_raise_the_double_charge_on_the_alerts_topic(
    rig: Rig,
    host: Host,
    broker: Broker,
    hook: Receiver,
) -> None:
    """The real postermd, Mosquitto and `posterm-host run`: the PT simulator charges the
    same card (its masked PAN) every time, so a second sale of the same amount within
    [alerts] double_charge_s is a likely double charge, seen by an alerts subscriber and
    by a webhook receiver (signed)."""
    got: list[dict[str, Any]] = []
    subscribed = threading.Event()
    watcher = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="watcher")
    watcher.on_connect = lambda c, *_: c.subscribe(topics.host("hq", "alerts"), qos=1)
    watcher.on_subscribe = lambda *_: subscribed.set()
    watcher.on_message = lambda c, u, m: got.append(json.loads(m.payload))
    watcher.connect("127.0.0.1", broker.port)
    watcher.loop_start()
    try:
        assert subscribed.wait(30)
        first = rig.cli("sale", "12.50")[1]
        assert rig.cli("sale", "3.00")[0] == 0  # another amount: no alert
        second = rig.cli("sale", "12.50")[1]
        (alert,) = wait_for(
            lambda: [a for a in got if a["kind"] == "double_charge"],
            "the double-charge alert on the alerts topic",
        )

        def posted(type_: bytes) -> list[dict[str, Any]]:
            return [r for r in hook.accepted if b'"type":"' + type_ + b'"' in r["body"]]

        (hooked,) = wait_for(lambda: posted(b"alert.double_charge"), "the alert's webhook")
        sales = wait_for(
            lambda: len(posted(b"sale.approved")) == 3 and posted(b"sale.approved"),
            "the three sales at the webhook",
        )
    finally:
        watcher.loop_stop()
        watcher.disconnect()
    assert json.loads(hooked["body"])["data"] == alert
    assert all(
        webhooks.verify(SECRET, r["body"], r["Posterm-Signature"], time.time())
        for r in hook.accepted
    )
    assert len({r["Posterm-Delivery"] for r in sales}) == 3
    assert alert["terminal"] == RIG_TID and alert["detail"]["txns"] == [
        first["txn_id"],
        second["txn_id"],
    ]
    assert alert["detail"]["amount"] == "12.50" and "*" in alert["detail"]["masked_pan"]
    code, alerts = host.cli("alerts", "--open", "--json")
    assert code == 0 and [a["alert_id"] for a in alerts] == [alert["alert_id"]]
    code, fleet = host.cli("fleet", "--json")
    (terminal,) = fleet
    assert [a["kind"] for a in terminal["alerts"]] == ["double_charge"]
    assert terminal["last_sale_at"] is not None and terminal["state"] in ("online", "unknown")
