"""Alerts acknowledged (who, a note) and muted for a time (host/alerts/acks.py), from the
store and from `posterm-host alerts ack|mute`; a refusal changes nothing; a mute outlives
its alert: the same condition back within it is muted too, and sends no webhook. On
SQLite and PostgreSQL (`store_url`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from posterm.host import cli, webhooks
from posterm.host.alerts import acks
from posterm.host.alerts.engine import Alerter, listing
from posterm.host.alerts.rules import Limits
from posterm.host.store import Store
from posterm.protocol.errorcodes import ErrorCode
from tests.host.test_alerts import Clock
from tests.host.test_webhooks import SECRET

TID = "pos-a"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store(store_url)
    yield s
    s.close()


def pt_down(store: Store, alerter: Alerter, clock: Clock) -> dict[str, Any]:
    """A terminal whose PT is down past the grace: its pt_down alert as listed."""
    assert store.saw_status(TID, {"online": True, "session": 1}, at=clock.iso)
    store.saw_telemetry(TID, {"mode": "pt_down", "reason": "PT unreachable"}, at=clock.iso)
    clock.advance(31)
    assert alerter.tick(force=True)
    (row,) = [r for r in listing(store, open_only=True) if r["kind"] == "pt_down"]
    return row


def test_acknowledge_and_mute_an_open_alert(store: Store) -> None:
    """GIVEN an open pt_down alert WHEN alice acknowledges it with a note and mutes it for
    2 h THEN the listing shows who, when, the note and muted until; bad input or an unknown
    id is refused with its code and changes nothing."""
    clock = Clock()
    alert = pt_down(store, Alerter(store, Limits(), clock=clock), clock)
    assert alert["acked_by"] is None and alert["muted"] is False
    now = clock.iso
    row = acks.acknowledge(store, alert["alert_id"], by="alice", note="PT swapped at 3pm", now=now)
    assert (row["acked_by"], row["acked_at"], row["ack_note"]) == (
        "alice",
        now,
        "PT swapped at 3pm",
    )
    row = acks.mute(store, alert["alert_id"], by="alice", seconds=acks.duration_s("2h"), now=now)
    assert row["muted_until"] == "2026-11-29T12:00:31.000Z" and row["muted_by"] == "alice"
    (listed,) = listing(store, open_only=True)
    assert listed["acked_by"] == "alice" and listed["muted_until"] == row["muted_until"]
    for bad, code in (
        (lambda: acks.acknowledge(store, "nope", by="bob", note="", now=now), "unknown_alert"),
        (
            lambda: acks.acknowledge(store, alert["alert_id"], by="", note="", now=now),
            "bad_request",
        ),
        (
            lambda: acks.acknowledge(store, alert["alert_id"], by="b", note="x" * 501, now=now),
            "bad_request",
        ),
        (lambda: acks.duration_s("forever"), "bad_request"),
        (lambda: acks.duration_s("31d"), "bad_request"),
    ):
        with pytest.raises(acks.AlertActionError) as err:
            bad()
        assert err.value.code == code
    (after,) = listing(store, open_only=True)
    assert after == listed


def test_a_cleared_alert_cannot_be_acknowledged(store: Store) -> None:
    """GIVEN a pt_down alert cleared (the PT is back) WHEN someone acknowledges it THEN
    alert_cleared, nothing changes."""
    clock = Clock()
    alerter = Alerter(store, Limits(), clock=clock)
    alert = pt_down(store, alerter, clock)
    store.saw_telemetry(TID, {"mode": "ready"}, at=clock.advance(1))
    assert alerter.tick(force=True)
    with pytest.raises(acks.AlertActionError) as err:
        acks.acknowledge(store, alert["alert_id"], by="bob", note="", now=clock.iso)
    assert err.value.code == ErrorCode.ALERT_CLEARED and err.value.status == 1
    (row,) = listing(store)
    assert row["acked_by"] is None


def test_a_mute_outlives_the_alert_and_sends_no_webhook(store: Store) -> None:
    """GIVEN a pt_down alert muted for 1 h WHEN it clears and the PT goes down again within
    the hour THEN the new alert is muted too and no webhook is queued for it; after the
    hour a new one is not muted and is sent."""
    hook = webhooks.Webhook(
        url="https://hooks.example/a", secret=SECRET, events=frozenset({"alert.*"}), timeout_s=5
    )
    clock = Clock()
    alerter = Alerter(store, Limits(), clock=clock, webhooks=(hook,))
    first = pt_down(store, alerter, clock)
    acks.mute(store, first["alert_id"], by="alice", seconds=3600, now=clock.iso)

    def queued() -> int:
        return len(store.db.rows("SELECT * FROM webhook_deliveries"))

    def flap() -> dict[str, Any]:
        store.saw_telemetry(TID, {"mode": "ready"}, at=clock.advance(1))
        assert alerter.tick(force=True)
        before = queued()
        store.saw_telemetry(TID, {"mode": "pt_down"}, at=clock.advance(1))
        clock.advance(31)
        assert alerter.tick(force=True)
        open_ = listing(store, open_only=True, now=clock.iso)
        (row,) = [r for r in open_ if r["kind"] == "pt_down"]
        row["webhooks"] = queued() - before
        return row

    again = flap()
    assert again["alert_id"] != first["alert_id"] and again["muted"] is True
    assert again["muted_by"] == "alice" and again["webhooks"] == 0
    clock.advance(3600)
    later = flap()
    assert later["muted"] is False and later["webhooks"] == 1


def test_cli_ack_and_mute(
    store: Store, store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN an open alert WHEN `posterm-host alerts ack ID --note … --by bob` and `alerts
    mute ID --for 30m` THEN exit 0 with a sentence / JSON; an unknown id or a bad
    duration exit 65 (EX_DATAERR), each with its code."""
    clock = Clock()
    alert = pt_down(store, Alerter(store, Limits(), clock=clock), clock)
    config = tmp_path / "host.toml"
    config.write_text(
        f'[host]\nid = "hq"\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\n[store]\nurl = "{store_url}"\n'
    )

    def run(*args: str) -> tuple[int, str]:
        code = cli.main(["--config", str(config), "alerts", *args])
        return code, capsys.readouterr().out

    aid = alert["alert_id"]
    code, out = run("ack", aid, "--note", "calling the shop", "--by", "bob")
    assert code == 0
    assert out.startswith(f"Payment terminal down on {TID} (alert {aid}, since ")
    assert out.rstrip().endswith("acknowledged by bob: calling the shop")
    code, out = run("mute", aid, "--for", "30m", "--json")
    assert code == 0 and json.loads(out)["muted"] is True
    code, out = run("ack", "nope", "--json")
    assert code == 65 and json.loads(out)["code"] == "unknown_alert"
    code, out = run("mute", aid, "--for", "soon", "--json")
    assert code == 65 and json.loads(out)["code"] == "bad_request"
    code, out = run("--open", "--json")
    (row,) = json.loads(out)
    assert row["ack_note"] == "calling the shop" and row["name"] == "Payment terminal down"
