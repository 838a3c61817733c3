"""The dashboard's JSON API for alerts against the real `posterm-host run --http`: an
operator acknowledges (with a note) and mutes an open alert, another operator's next
read of /api/fleet shows it; a viewer is refused; a body that does not name the URL's
alert, an unknown alert and a bad duration are refused and change nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from posterm.host.store import Store
from tests.support.broker import Broker
from tests.web.conftest import WebHost
from tests.web.test_login_http import Visitor

pytestmark = pytest.mark.slow  # a posterm-host process (tests/support/tiers.py)

ALERT = "01a24000-0000-7000-8000-000000000001"


@pytest.fixture
def host(tmp_path: Path, broker: Broker) -> Iterator[WebHost]:
    """The web host with one open alert (an event kind: no time-based rule clears it)."""
    h = WebHost(tmp_path, broker)
    assert h.cli("keygen").returncode == 0
    store = Store(f"sqlite://{tmp_path / 'host.db'}")
    with store.db.tx() as tx:
        tx.execute(
            "INSERT INTO alerts (alert_id, kind, terminal, subject, raised_at, detail)"
            " VALUES (?, 'reconcile_mismatch', 'pos-a', 'batch 7', ?, ?)",
            (ALERT, "2026-11-29T10:00:00.000Z", json.dumps({"batch_no": 7})),
        )
    store.close()
    h.start()
    yield h
    h.stop()


def post(v: Visitor, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    status, text = v.request("POST", path, headers={"X-CSRF-Token": v.csrf}, body_json=body)
    return status, json.loads(text)


def fleet_alert(v: Visitor) -> dict[str, Any]:
    status, text = v.request("GET", "/api/fleet")
    assert status == 200
    (alert,) = json.loads(text)["alerts"]
    return dict(alert)


def test_ack_and_mute_through_the_api(host: WebHost) -> None:
    olga, vic = Visitor(host), Visitor(host)
    olga.login("olga")
    vic.login("vic")
    base = f"/api/alerts/{ALERT}"
    status, out = post(vic, f"{base}/ack", {"action": "ack", "alert": ALERT})
    assert status == 403 and out["code"] == "forbidden"
    status, out = post(olga, f"{base}/ack", {"action": "mute", "alert": ALERT})
    assert status == 400 and out["code"] == "bad_request"
    status, out = post(olga, "/api/alerts/nope/ack", {"action": "ack", "alert": "nope"})
    assert status == 404 and out["code"] == "unknown_alert"
    status, out = post(olga, f"{base}/mute", {"action": "mute", "alert": ALERT, "for": "ever"})
    assert status == 400 and out["code"] == "bad_request"
    assert fleet_alert(vic)["acked_by"] is None and fleet_alert(vic)["muted_until"] is None

    body = {"action": "ack", "alert": ALERT, "note": "batch re-sent by the shop"}
    status, out = post(olga, f"{base}/ack", body)
    assert status == 200 and out["ok"] and out["alert"]["acked_by"] == "olga"
    status, out = post(olga, f"{base}/mute", {"action": "mute", "alert": ALERT, "for": "2h"})
    assert status == 200 and out["alert"]["muted"] is True
    seen = fleet_alert(vic)  # what another operator reads next
    assert (seen["acked_by"], seen["ack_note"]) == ("olga", "batch re-sent by the shop")
    assert seen["muted"] is True and seen["muted_by"] == "olga"
    assert seen["name"] == "Day close does not match"
