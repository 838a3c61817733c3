"""Names say what things are (issue 20): the retired ones (`Happening`, `CommandDesk`,
`Running`, `Alerter(also=…)`, "rooms" and "doors", `host/alerts.py` + `host/alerting.py`)
are gone from the code and the docs, and their successors work."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from posterm.daemon.sync.commands import CommandHandler, PendingCommand, Received
from posterm.daemon.sync.link import LinkEvent
from posterm.host.alerts.engine import Alerter
from posterm.host.alerts.rules import Limits
from posterm.host.db import Tx
from posterm.host.store import Store
from posterm.protocol.mqtt.events import envelope

ROOT = Path(__file__).resolve().parents[1]
RETIRED = re.compile(
    r"\bHappening\b|\bCommandDesk\b|\bclass Running\b|\bRunning\(|\balso="
    r"|\bself\.also\b|\brooms\b|\bdoors\b|host/alerting\.py|host/alerts\.py"
    r"|posterm\.host\.alerting\b|from posterm\.host import alerts\b"
)
WHERE = (
    "daemon",
    "host",
    "protocol",
    "drivers",
    "hw-sim",
    "bench",
    "tools",
    "docs",
    "tests",
    "README.md",
)


def retired_uses(text: str) -> list[str]:
    return [m.group(0) for m in RETIRED.finditer(text)]


def test_no_retired_name_is_left() -> None:
    """GIVEN the tracked sources and docs WHEN searched for the retired names THEN none
    is found (this file names them on purpose and is left out)."""
    files = [
        p
        for top in WHERE
        for p in ([ROOT / top] if top.endswith(".md") else sorted((ROOT / top).rglob("*")))
        if p.suffix in (".py", ".md", ".html") and p != Path(__file__).resolve()
    ]
    found = [f"{f.relative_to(ROOT)}: {use}" for f in files for use in retired_uses(f.read_text())]
    assert found == []


def test_the_search_finds_each_retired_name() -> None:
    """GIVEN a text with each retired name WHEN searched THEN each is found (the test above
    cannot pass by matching nothing), and the words that replaced them are not."""
    old = (
        "Happening CommandDesk class Running Running( also= self.also the rooms the doors "
        "host/alerting.py host/alerts.py posterm.host.alerting from posterm.host import alerts"
    )
    assert len(retired_uses(old)) == 12
    new = "LinkEvent CommandHandler PendingCommand new_event_hooks host/alerts/engine.py"
    assert retired_uses(new) == []


def test_the_renamed_pieces_are_what_they_say(tmp_path: Path) -> None:
    """GIVEN an Alerter with a new-event hook WHEN an event is ingested THEN the hook runs
    with that event, in the ingest's transaction; a PendingCommand travels in Received,
    and a LinkEvent carries what paho reported."""
    store = Store(f"sqlite://{tmp_path / 'host.db'}")
    seen: list[tuple[list[str], str]] = []

    def hook(tx: Tx, envelopes: list[dict[str, Any]], now: str) -> None:
        seen.append(([e["event_id"] for e in envelopes], now))

    try:
        env = envelope("pos-a", 1, "fault.cleared", {"state": "ready"})
        Alerter(store, Limits(), new_event_hooks=(hook,)).ingest([env])
    finally:
        store.close()
    assert [ids for ids, _ in seen] == [[env["event_id"]]]
    assert Received(pending=PendingCommand("c1", None)).pending.cmd_id == "c1"  # type: ignore[arg-type, union-attr]
    assert LinkEvent("puback", mid=7).mid == 7
    assert CommandHandler.__doc__
