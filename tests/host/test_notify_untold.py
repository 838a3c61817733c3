"""A refund asked with the customer's contact on a terminal whose back office has no
`[notify]`: the host's ingest (its loop, without a broker) writes a failed notification
saying the customer was not told, keeps no contact, and `posterm-host refunds` shows it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from posterm.host import cli
from posterm.host.notify.untold import UNTOLD
from posterm.protocol.mqtt import topics
from posterm.protocol.mqtt.events import envelope
from tests.host.test_service import acked, service
from tests.support.fleet import txn_data

TID = "pos-a"
ADDRESS = "kunde.mueller@example.org"
PHONE = "+4915112345678"


def _request(seq: int, txn_id: str, notify: dict[str, str] | None) -> dict[str, object]:
    data = txn_data(txn_id, "refund", "in_doubt", "12.00", reason="goods_returned")
    if notify is not None:
        data["notify"] = notify
    return envelope(TID, seq, "refund.requested", data)


def test_a_contact_on_a_host_without_notify_is_recorded_as_not_told(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN a host without [notify]
    WHEN refund requests arrive through its ingest, one with an e-mail address, one with a
    phone number (it comes twice), one without a contact
    THEN every event is acked; the two with a contact have one `failed` notification each
    whose last_error says the back office has no [notify] and that holds no contact (nor
    does the stored event); the one without a contact has none; AND `posterm-host refunds`
    tells it in its CUSTOMER TOLD column."""
    svc = service(tmp_path, store_url)
    events = topics.terminal(TID, "events")
    mailed = _request(1, "R1", {"email": ADDRESS, "lang": "de"})
    texted = _request(2, "R2", {"phone": PHONE})
    plain = _request(3, "R3", None)
    try:
        for env in (mailed, texted, texted, plain):
            svc.inbox.put((events, json.dumps(env).encode()))
        svc._round()
        assert sorted(acked(svc)) == sorted(str(e["event_id"]) for e in (mailed, texted, plain))
        rows = svc.store.db.rows(
            "SELECT txn_id, channel, contact, lang, state, attempts, last_error"
            " FROM notifications ORDER BY txn_id"
        )
        assert [dict(r) for r in rows] == [
            {
                "txn_id": "R1",
                "channel": "email",
                "contact": None,
                "lang": "de",
                "state": "failed",
                "attempts": 0,
                "last_error": UNTOLD,
            },
            {
                "txn_id": "R2",
                "channel": "sms",
                "contact": None,
                "lang": "",
                "state": "failed",
                "attempts": 0,
                "last_error": UNTOLD,
            },
        ]
        stored = " ".join(str(r["envelope"]) for r in svc.store.db.rows("SELECT * FROM events"))
        assert ADDRESS not in stored and PHONE not in stored
        assert svc.store.db.rows("SELECT COUNT(*) AS n FROM contacts")[0]["n"] == 0
        assert UNTOLD == "the back office has no [notify]: the customer was not told"
    finally:
        svc.store.close()

    assert cli.main(["--config", str(tmp_path / "host.toml"), "refunds"]) == 0
    out = capsys.readouterr().out
    assert "CUSTOMER TOLD" in out
    told = {line.split()[2]: line for line in out.splitlines()[1:]}  # by TXN
    assert f"email failed ({UNTOLD})" in told["R1"]
    assert f"sms failed ({UNTOLD})" in told["R2"]
    assert "failed" not in told["R3"]
    assert ADDRESS not in out and PHONE not in out
