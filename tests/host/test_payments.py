"""Each terminal's fleet row says whether it can take payments and why not (host/fleet.py),
from its retained status, its telemetry's mode and reason and the host's unresolved in-doubt
operations; `posterm-host fleet` shows it. On SQLite and PostgreSQL (`store_url`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from posterm.host import cli
from posterm.host.store import Store
from posterm.protocol.mqtt.events import envelope
from tests.host.test_alerts import Clock

TID = "pos-a"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store(store_url)
    yield s
    s.close()


def tele(store: Store, clock: Clock, tid: str = TID, **data: Any) -> None:
    store.saw_telemetry(tid, {"paper": "ok", "period_s": 10, **data}, at=clock.iso)


def row(store: Store, clock: Clock, tid: str = TID) -> dict[str, Any]:
    return next(r for r in store.fleet(clock.iso) if r["terminal"] == tid)


def test_ready_takes_payments_and_each_mode_says_why_not(store: Store) -> None:
    """GIVEN an online terminal WHEN its telemetry says ready, pt_down, fault, paper out
    THEN `payments` says yes when ready, warn (it sells, receipts held) with paper out,
    no with why (mode + reason) when its mode sells nothing, unknown when offline."""
    clock = Clock()
    assert store.saw_status(TID, {"online": True, "session": 1}, at=clock.iso)
    assert row(store, clock)["payments"] == {
        "ok": False,
        "level": "unknown",
        "why": "no telemetry yet",
    }
    tele(store, clock, mode="ready", reason="ready")
    assert row(store, clock)["payments"] == {"ok": True, "level": "yes", "why": "takes payments"}
    clock.advance(1)
    tele(store, clock, mode="pt_down", reason="payment terminal unreachable: timeout")
    assert row(store, clock)["payments"] == {
        "ok": False,
        "level": "no",
        "why": "PT down (payment terminal unreachable: timeout)",
    }
    tele(store, clock, mode="fault", reason="journal write failed")
    assert row(store, clock)["payments"] == {
        "ok": False,
        "level": "no",
        "why": "fault (journal write failed)",
    }
    tele(store, clock, mode="ready", reason="ready", paper="out")
    assert row(store, clock)["payments"] == {
        "ok": True,
        "level": "warn",
        "why": "takes payments; printer out of paper, receipts held",
    }
    assert store.saw_status(TID, {"online": False, "session": 1}, at=clock.iso)
    assert row(store, clock)["payments"] == {"ok": False, "level": "unknown", "why": "offline"}


def test_in_doubt_names_its_transaction_and_the_next_step(store: Store) -> None:
    """GIVEN a terminal whose telemetry says in_doubt and a sale.in_doubt at the host
    WHEN the fleet is read THEN why names the txn, `posterm resolve TXN` and
    `posterm-host resolve TERMINAL TXN`; once the
    sale's outcome is stored the txn is no longer listed."""
    clock = Clock()
    assert store.saw_status(TID, {"online": True, "session": 1}, at=clock.iso)
    sale = {"txn_id": "T9", "kind": "sale", "amount": "5.00", "currency": "EUR"}
    store.ingest([envelope(TID, 1, "sale.in_doubt", {**sale, "state": "in_doubt"})])
    tele(store, clock, mode="in_doubt", reason="T9 in doubt: pt link lost", in_doubt=1)
    got = row(store, clock)
    assert got["in_doubt_txns"] == ["T9"]
    assert got["payments"]["ok"] is False
    assert got["payments"]["why"].startswith("in doubt: T9; next: posterm resolve T9")
    assert f"posterm-host resolve {TID} T9 charged|not-charged" in got["payments"]["why"]
    store.ingest([envelope(TID, 2, "sale.recovered", {**sale, "state": "approved"})])
    assert row(store, clock)["in_doubt_txns"] == []


def test_mode_since_is_when_the_mode_began(store: Store) -> None:
    """GIVEN telemetry every 10 s WHEN the mode stays pt_down THEN mode_since stays at the
    first pt_down telemetry, and moves when the mode changes."""
    clock = Clock()
    assert store.saw_status(TID, {"online": True, "session": 1}, at=clock.iso)
    tele(store, clock, mode="ready")
    down = clock.advance(10)
    tele(store, clock, mode="pt_down")
    clock.advance(10)
    tele(store, clock, mode="pt_down")
    assert row(store, clock)["mode_since"] == down
    back = clock.advance(10)
    tele(store, clock, mode="ready")
    assert row(store, clock)["mode_since"] == back


def test_fleet_cli_shows_who_cannot_take_payments(
    store: Store, store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN one terminal ready and one pt_down WHEN `posterm-host fleet` runs THEN the
    table says yes / NO and a sentence says why; --json has `payments` per row."""
    for tid, mode in (("pos-a", "ready"), ("pos-b", "pt_down")):  # now: the CLI's clock
        assert store.saw_status(tid, {"online": True, "session": 1})
        store.saw_telemetry(tid, {"paper": "ok", "mode": mode, "reason": "PT unreachable"})
    config = tmp_path / "host.toml"
    config.write_text(
        f'[host]\nid = "hq"\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\n[store]\nurl = "{store_url}"\n'
    )
    assert cli.main(["--config", str(config), "fleet"]) == 0
    out = capsys.readouterr().out
    assert "pos-b: cannot take payments: PT down (PT unreachable)" in out
    assert "pos-a: cannot" not in out
    lines = {line.split()[1]: line.split()[0] for line in out.splitlines()[1:3]}
    assert lines == {"pos-a": "yes", "pos-b": "NO"}
    assert cli.main(["--config", str(config), "fleet", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["payments"]["ok"] for r in rows] == [True, False]
