"""Each terminal's last approved sale, kept on its `terminals` row at ingest (issue 23)
instead of a subquery per terminal at every fleet read; the migration that adds the column
fills it from the events stored. SQLite and PostgreSQL (`store_url`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from posterm.host import migrations
from posterm.host.store import Store
from posterm.protocol.mqtt.events import envelope


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store(store_url)
    yield s
    s.close()


def sale(tid: str, seq: int, at: str, type_: str = "sale.approved") -> dict[str, Any]:
    return envelope(tid, seq, type_, {"txn_id": f"{tid}-{seq}"}, occurred_at=at)


def column(store: Store) -> dict[str, Any]:
    return {
        r["terminal"]: r["last_sale_at"]
        for r in store.db.rows("SELECT terminal, last_sale_at FROM terminals")
    }


def test_last_sale_is_kept_on_the_terminal_row_at_ingest(store: Store) -> None:
    """GIVEN approved sales of two terminals in batches, one arriving after a later one
    (out of order), a declined sale later than all, a terminal with no sale
    WHEN they are ingested (one sent twice)
    THEN each terminal's row holds the latest occurred_at of its approved sales, and
    `Store.fleet` shows that same value."""
    store.ingest(
        [
            sale("pos-a", 1, "2026-12-04T10:00:00.000Z"),
            sale("pos-a", 2, "2026-12-04T10:05:00.000Z"),
            sale("pos-b", 1, "2026-12-04T09:00:00.000Z"),
            envelope("pos-c", 1, "fault.raised", {}, occurred_at="2026-12-04T11:00:00.000Z"),
        ]
    )
    late = sale("pos-a", 3, "2026-12-04T10:01:00.000Z")  # older than seq 2's: no move back
    store.ingest([late, sale("pos-b", 2, "2026-12-04T12:00:00.000Z", "sale.declined")])
    store.ingest([late])  # a resend: nothing new
    store.ingest([sale("pos-b", 3, "2026-12-04T09:30:00.000Z")])
    expected = {
        "pos-a": "2026-12-04T10:05:00.000Z",
        "pos-b": "2026-12-04T09:30:00.000Z",
        "pos-c": None,
    }
    assert column(store) == expected
    shown = {t["terminal"]: t["last_sale_at"] for t in store.fleet("2026-12-04T13:00:00.000Z")}
    assert shown == expected


def test_the_migration_fills_last_sale_from_the_events(store: Store) -> None:
    """GIVEN terminals whose events were stored before the column existed (the column
    emptied again) WHEN the migration adding it runs its statements
    THEN each row holds its latest approved sale from the events, NULL where none."""
    store.ingest(
        [
            sale("pos-a", 1, "2026-12-04T10:00:00.000Z"),
            sale("pos-a", 2, "2026-12-04T10:05:00.000Z"),
            sale("pos-b", 1, "2026-12-04T09:00:00.000Z", "sale.declined"),
        ]
    )
    with store.db.tx() as tx:
        tx.execute("UPDATE terminals SET last_sale_at = NULL")
    (step,) = [
        m
        for m in migrations.MIGRATIONS
        if isinstance(m, list) and any("ADD COLUMN last_sale_at" in sql for sql in m)
    ]
    with store.db.tx() as tx:
        for sql in step:
            if not sql.startswith("ALTER"):
                tx.execute(sql)
    assert column(store) == {"pos-a": "2026-12-04T10:05:00.000Z", "pos-b": None}
