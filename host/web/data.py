"""What the dashboard's pages and its JSON API show, read through the store and the
lookups: the fleet's rows, refunds, receipts (a terminal's plots: terminalplots.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup

from posterm.host import lookup
from posterm.host.alerts import engine as alert_engine
from posterm.host.config import HostConfig
from posterm.host.store import Store
from posterm.host.web import fleetview, plots, summary
from posterm.protocol.mqtt.events import now_rfc3339

# the open alerts at the top of the fleet screen, worst first
FLEET_KEYS = (
    "terminal",
    "state",
    "last_seen",
    "mode",
    "reason",
    "pt_link",
    "printer",
    "paper",
    "pending_receipts",
    "in_doubt",
    "in_doubt_txns",  # the terminal page's Resolve buttons
    "outbox_depth",
    "oldest_unsent_age_s",
    "version",
)


def age_s(at: str | None, now: str) -> float | None:
    if not at:
        return None
    try:
        return round((datetime.fromisoformat(now) - datetime.fromisoformat(at)).total_seconds(), 1)
    except ValueError:
        return None


def fleet(store: Store, config: HostConfig) -> list[dict[str, Any]]:
    """Every terminal, one row each: online / offline / stale with when it was last seen."""
    now = now_rfc3339()
    out = []
    labels = site_labels(store)
    for row in store.fleet(now, stale_after_s=config.stale_after_s):
        item = {key: row.get(key) for key in FLEET_KEYS}
        item["site"], item["tags"] = labels.get(row["terminal"], (None, []))
        item["last_seen_s"] = age_s(row.get("last_seen"), now)
        item["payments"] = row["payments"]  # host/fleet.py decides it
        out.append(item)
    return out


def first_screen(
    store: Store,
    config: HostConfig,
    query: fleetview.FleetQuery | None = None,
    money: summary.DayMoney | None = None,
) -> dict[str, Any]:
    """The fleet page: the page of rows the query picks (`fleetview.py`), the open alerts,
    and the summary cards of the whole fleet (`summary.py`; `money`: the web process's
    running tally of today, else one read from scratch)."""
    query = query or fleetview.FleetQuery()
    terminals = fleet(store, config)
    alerts = open_alerts(store)
    waiting = len(lookup.refunds(store, pending=True))
    cards = summary.cards(
        store, terminals, alerts, waiting, today(), money=money or summary.DayMoney()
    )
    shown = fleetview.select(terminals, query)
    view = {
        "matched": shown["matched"],
        "page": shown["page"],
        "pages": shown["pages"],
        "modes": sorted({str(t["mode"]) for t in terminals if t.get("mode")}),
        "sites": sites(store),
        "tags": sorted({tag for t in terminals for tag in t["tags"]}),
    }
    return {
        "terminals": shown["rows"],
        "alerts": alerts,
        "summary": cards,
        "view": view,
        "query": query,
    }


def site_labels(store: Store) -> dict[str, tuple[str | None, list[str]]]:
    """Each enrolled terminal's site and tags (`enrolments`, not revoked)."""
    with store.transaction() as tx:
        rows = tx.rows("SELECT terminal, site, tags FROM enrolments WHERE revoked_at IS NULL")
    return {str(r["terminal"]): (r["site"], list(json.loads(r["tags"] or "[]"))) for r in rows}


def sites(store: Store) -> list[str]:
    """The sites terminals are enrolled at (not revoked), by name."""
    with store.transaction() as tx:
        rows = tx.rows(
            "SELECT DISTINCT site FROM enrolments WHERE site IS NOT NULL AND revoked_at IS NULL"
        )
    return sorted(str(r["site"]) for r in rows)


def open_alerts(store: Store) -> list[dict[str, Any]]:
    """Open alerts (`host/alerts/engine.py`), worst first, then newest first."""
    return alert_engine.listing(store, open_only=True)  # all of them, worst first


def refunds(store: Store, pending: bool) -> list[dict[str, Any]]:
    now = now_rfc3339()
    rows = lookup.refunds(store, pending=pending)
    for row in rows:
        row["age_s"] = age_s(row["requested_at"], now)
        row["told"] = told(row.get("notification"))
    return rows


def told(note: dict[str, Any] | None) -> str:
    """Whether the customer was told of the refund's outcome, as a sentence ("" when no
    contact came with it)."""
    if not note:
        return ""
    by = "SMS" if note.get("channel") == "sms" else "e-mail"
    if note.get("state") == "sent":
        return f"customer told by {by}"
    if note.get("state") == "failed":
        return f"customer not told by {by}: {note.get('last_error') or 'failed'}"
    return f"customer to be told by {by}"


def timeliness_plot(rows: list[dict[str, Any]]) -> Markup:
    stats = lookup.refund_stats(rows)
    return plots.bars(
        [(tid, s["median_s"], s["p95_s"]) for tid, s in stats["terminals"].items()],
        "refund request to completion per terminal (median, p95)",
    )


def today() -> str:
    return datetime.now(UTC).date().isoformat()
