"""A terminal is untrusted input: every message it sends is decoded against its wire
schema (protocol/mqtt/wire.py) before anything is stored. What does not fit, or makes its
handling fail, is quarantined with a `bad_message` alert and acked when it is an event,
and the loop goes on: an honest terminal's events in the same batch are stored and acked,
and every read of the fleet works afterwards (issue 19, section 1). Run on SQLite and
PostgreSQL, through the loop's own `_round` (paho replaced by a recorder)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from posterm.host import cli
from posterm.host.alerts.engine import listing
from posterm.host.metrics import Metrics
from posterm.protocol.mqtt import topics
from posterm.protocol.mqtt.events import envelope
from tests.host.test_service import acked, service
from tests.support.fleet import txn_data

TID, EVIL = "pos-a", "pos-evil"
LONE = "\\ud800"  # a lone surrogate, as JSON writes it


def _event(tid: str, seq: int, type_: str = "sale.approved", **data: Any) -> dict[str, Any]:
    fields = txn_data(f"T{seq}") if type_.startswith("sale") else {}
    return envelope(tid, seq, type_, {**fields, **data})


def _raw(env: dict[str, Any], **replace: str) -> bytes:
    """The envelope's JSON with some values written in by hand (what json.dumps cannot)."""
    text = json.dumps(env)
    for key, value in replace.items():
        text = text.replace(
            f'"{key}": {json.dumps(env["data"].get(key, env.get(key)))}', f'"{key}": {value}'
        )
    return text.encode()


RECEIPT = {"receipt_id": 1, "txn_id": "T1", "copy": "customer", "mark": "original"}
# (topic leaf, payload) of every finding of the section 1, and their kin
HOSTILE: dict[str, tuple[str, bytes]] = {
    "surrogate in a reply's cmd_id": ("reply", f'{{"cmd_id": "{LONE}", "ok": true}}'.encode()),
    "surrogate in txn_id": ("events", _raw(_event(EVIL, 1), txn_id=f'"{LONE}"')),
    "surrogate in masked_pan": (
        "events",
        _raw(_event(EVIL, 1, masked_pan="4**4"), masked_pan=f'"1{LONE}"'),
    ),
    "surrogate in a receipt's copy": (
        "events",
        _raw(_event(EVIL, 1, "receipt.printed", **RECEIPT), copy=f'"{LONE}"'),
    ),
    "surrogate in telemetry": ("telemetry", f'{{"printer": "{LONE}"}}'.encode()),
    "400-digit period_s": ("telemetry", b'{"period_s": 1' + b"0" * 400 + b"}"),
    "400-digit oldest_unsent_age_s": (
        "telemetry",
        b'{"oldest_unsent_age_s": 1' + b"0" * 400 + b"}",
    ),
    "a BOM before an event": ("events", b"\xef\xbb\xbf" + json.dumps(_event(EVIL, 1)).encode()),
    "30 February": ("events", _raw(_event(EVIL, 1), occurred_at='"2026-02-30T10:00:00.000Z"')),
    "month 13": ("events", _raw(_event(EVIL, 1), occurred_at='"2026-13-01T10:00:00.000Z"')),
    "second 60": ("events", _raw(_event(EVIL, 1), occurred_at='"2026-06-30T23:59:60.000Z"')),
    "offset +25:00": (
        "events",
        _raw(_event(EVIL, 1), occurred_at='"2026-06-30T10:00:00.000+25:00"'),
    ),
    "year 9999": ("events", _raw(_event(EVIL, 1), occurred_at='"9999-06-30T10:00:00.000Z"')),
    "a URL for an amount": (
        "events",
        json.dumps(_event(EVIL, 1, amount="https://x.example/p")).encode(),
    ),
    "a phone number for a masked PAN": (
        "events",
        json.dumps(_event(EVIL, 1, masked_pan="(call +1 555 0100 now)")).encode(),
    ),
    "a full PAN": ("events", json.dumps(_event(EVIL, 1, masked_pan="4761739001010010")).encode()),
    "an unknown field": ("events", json.dumps(_event(EVIL, 1, pan_hint="x")).encode()),
    "another terminal's envelope": ("events", json.dumps(_event(TID, 9)).encode()),
    "NaN in telemetry": ("telemetry", b'{"cpu_temp_c": NaN}'),
    "a huge telemetry": ("telemetry", b'{"printer": "' + b"x" * 1_000_000 + b'"}'),
    "not JSON": ("status", b"\x00\xff garbage"),
    "a status without a session": ("status", b'{"online": true}'),
}


def _rows(svc: Any, sql: str) -> list[dict[str, Any]]:
    return [dict(r) for r in svc.store.db.rows(sql)]


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_message_is_quarantined_acked_and_ingest_goes_on(
    tmp_path: Path, store_url: str, case: str
) -> None:
    """GIVEN a hostile terminal's message between two of an honest terminal's events, in
    one batch WHEN the loop takes the batch THEN the honest events are stored and acked,
    the hostile message is quarantined (never stored), its terminal has a bad_message
    alert, an event of it is acked, and the fleet's reads all work."""
    svc = service(tmp_path, store_url)
    leaf, payload = HOSTILE[case]
    honest = [_event(TID, n) for n in (1, 2)]
    svc.inbox.put((topics.terminal(TID, "events"), json.dumps(honest[0]).encode()))
    svc.inbox.put((topics.terminal(EVIL, leaf), payload))
    svc.inbox.put((topics.terminal(TID, "events"), json.dumps(honest[1]).encode()))
    svc._round()

    stored = _rows(svc, "SELECT terminal, seq FROM events ORDER BY seq")
    assert stored == [{"terminal": TID, "seq": 1}, {"terminal": TID, "seq": 2}]
    assert {e["event_id"] for e in honest} <= set(acked(svc))
    kept = _rows(svc, "SELECT terminal, topic, reason, size, seen FROM quarantine")
    assert len(kept) == 1 and kept[0]["terminal"] == EVIL, kept
    assert kept[0]["size"] == len(payload) and kept[0]["reason"]
    alerts = listing(svc.store, open_only=True)
    assert [(a["kind"], a["terminal"]) for a in alerts] == [("bad_message", EVIL)]
    if leaf == "events" and case != "a BOM before an event":
        assert json.loads(payload.decode("utf-8", "replace"))["event_id"] in acked(svc)
    telemetry = _rows(svc, "SELECT telemetry, status FROM terminals WHERE terminal = 'pos-evil'")
    assert all(r["telemetry"] is None and r["status"] is None for r in telemetry)
    _reads_work(svc, tmp_path, store_url)
    svc.store.close()


def _reads_work(svc: Any, tmp_path: Path, store_url: str) -> None:
    assert svc.alerter.tick(force=True)
    assert [t["terminal"] for t in svc.store.fleet()] == [TID, EVIL] or svc.store.fleet()
    Metrics(svc.store)  # reads every terminal's telemetry at start
    config = tmp_path / "host.toml"
    for command in (
        ["fleet", "--json"],
        ["events", "--json"],
        ["refunds", "--json"],
        ["alerts", "--json"],
        ["reconcile", "--json"],
    ):
        assert cli.main(["--config", str(config), *command]) in (0, 1), command


def test_the_same_bad_bytes_again_count_in_their_row(tmp_path: Path, store_url: str) -> None:
    """GIVEN a bad event the terminal sends again and again (every reconnect, every
    resend) THEN one quarantine row counts them and one alert stays open."""
    svc = service(tmp_path, store_url)
    leaf, payload = HOSTILE["30 February"]
    for _ in range(3):
        svc.inbox.put((topics.terminal(EVIL, leaf), payload))
        svc._round()
    assert _rows(svc, "SELECT seen FROM quarantine") == [{"seen": 3}]
    assert len(listing(svc.store, open_only=True)) == 1
    svc.store.close()


def test_a_message_whose_handling_raises_is_quarantined_alone(
    tmp_path: Path, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """GIVEN a telemetry message that fits its schema but makes the store raise something
    nobody expected WHEN it arrives in a batch with honest events THEN it is quarantined,
    the events are stored and acked, and the loop's round returns."""
    svc = service(tmp_path, store_url)
    saw = svc.store.saw_telemetry

    def broken(tid: str, telemetry: dict[str, Any], at: str | None = None) -> None:
        if telemetry.get("printer") == "boom":
            raise RuntimeError("nobody saw this coming")
        saw(tid, telemetry, at)

    svc.store.saw_telemetry = broken  # type: ignore[method-assign]
    honest = [_event(TID, n) for n in (1, 2)]
    svc.inbox.put((topics.terminal(TID, "events"), json.dumps(honest[0]).encode()))
    svc.inbox.put((topics.terminal(EVIL, "telemetry"), b'{"printer": "boom"}'))
    svc.inbox.put((topics.terminal(TID, "telemetry"), b'{"printer": "online, paper ok"}'))
    svc.inbox.put((topics.terminal(TID, "events"), json.dumps(honest[1]).encode()))
    with caplog.at_level(logging.ERROR, logger="posterm.host"):
        svc._round()
    assert {e["event_id"] for e in honest} <= set(acked(svc))
    assert _rows(svc, "SELECT terminal, reason FROM quarantine") == [
        {"terminal": EVIL, "reason": "handling failed: RuntimeError"}
    ]
    assert _rows(svc, "SELECT telemetry FROM terminals WHERE terminal = 'pos-a'")[0]["telemetry"]
    svc.store.close()


def test_rows_stored_before_the_schemas_do_not_break_the_reads(
    tmp_path: Path, store_url: str
) -> None:
    """GIVEN telemetry a host without the wire schemas stored (a 400-digit period_s and
    oldest_unsent_age_s) THEN the fleet, the alert rules, Metrics and the CLI still read
    (they crashed at every restart before)."""
    svc = service(tmp_path, store_url)
    huge = 10**400
    svc.store.saw_telemetry(EVIL, {"period_s": huge, "oldest_unsent_age_s": huge})
    assert [t["stale_after_s"] for t in svc.store.fleet()] == [180.0]
    _reads_work(svc, tmp_path, store_url)
    svc.store.close()


def test_an_honest_terminal_s_messages_all_fit_their_schemas(
    tmp_path: Path, store_url: str
) -> None:
    """GIVEN an event of each type, a telemetry, a status and a reply as postermd writes
    them THEN none is quarantined (the schemas refuse nothing the terminal sends)."""
    svc = service(tmp_path, store_url)
    receipt = {**RECEIPT, "why": "paper out", "lines": ["Test Shop", "", "12.50 EUR"]}
    batch = {
        "txn_id": "E1",
        "batch_no": 3,
        "currency": "EUR",
        "sales": "12.50",
        "refunds": "2.00",
        "voids": "0.00",
        "net": "-1.50",
        "sales_count": 1,
        "refunds_count": 1,
        "voids_count": 0,
        "pt_total": "10.50",
        "pt_trace": 7,
    }
    refund = txn_data(
        "T2",
        "refund",
        "awaiting_approval",
        ref_txn="T1",
        notify={"email": "a@example.com", "lang": "de"},
        reason="wrong_card",
        reason_text="Wrong card",
    )
    messages = [
        envelope(
            TID,
            1,
            "sale.approved",
            txn_data(
                "T1",
                masked_pan="476173******0010",
                card_name="Girocard",
                receipt_no=12,
                trace=34,
                batch_no=3,
            ),
        ),
        envelope(TID, 2, "refund.requested", refund),
        envelope(TID, 3, "receipt.pending", receipt),
        envelope(TID, 4, "batch.closed", batch),
        envelope(TID, 5, "fault.raised", {"state": "pt_down", "reason": "no answer"}),
        envelope(TID, 6, "sale.recovered", txn_data("T3", outcome="kept", resolved_by="start")),
    ]
    for env in messages:
        svc.inbox.put((topics.terminal(TID, "events"), json.dumps(env).encode()))
    svc.inbox.put(
        (
            topics.terminal(TID, "status"),
            json.dumps(
                {
                    "online": True,
                    "session": 2,
                    "boot_id": "b1",
                    "version": "0.1.0",
                    "ts": "2026-12-04T10:00:00.000Z",
                }
            ).encode(),
        )
    )
    svc.inbox.put(
        (
            topics.terminal(TID, "reply"),
            json.dumps(
                {
                    "cmd_id": "c-1",
                    "ok": False,
                    "code": "expired",
                    "error": "expired at …",
                    "at": "2026-12-04T10:00:00.000Z",
                }
            ).encode(),
        )
    )
    svc._round()
    assert _rows(svc, "SELECT reason FROM quarantine") == []
    assert len(_rows(svc, "SELECT seq FROM events")) == len(messages)
    svc.store.close()


def test_the_operator_reads_the_quarantine(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN a refused event WHEN the operator runs `posterm-host quarantine` THEN it lists
    the terminal, the topic, the reason and the escaped start of the bytes, newest first,
    and `--terminal` filters."""
    svc = service(tmp_path, store_url)
    svc.inbox.put((topics.terminal(EVIL, "events"), HOSTILE["a BOM before an event"][1]))
    svc.inbox.put((topics.terminal(TID, "telemetry"), HOSTILE["NaN in telemetry"][1]))
    svc._round()
    svc.store.close()
    config = str(tmp_path / "host.toml")
    assert cli.main(["--config", config, "quarantine", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(r["terminal"] for r in rows) == [TID, EVIL]
    evil = next(r for r in rows if r["terminal"] == EVIL)
    assert evil["topic"] == "posterm/v1/pos-evil/events" and evil["seen"] == 1
    assert evil["prefix"].startswith("\\xef\\xbb\\xbf{") and "schema" in evil["reason"]
    assert cli.main(["--config", config, "quarantine", "--terminal", TID, "--json"]) == 0
    assert [r["terminal"] for r in json.loads(capsys.readouterr().out)] == [TID]
