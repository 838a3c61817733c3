"""The one delivery queue, in process: its back-off is tenacity's doubling with a cap, and
a webhook delivery queued by the previous posterm-host (before webhook rows had claims)
is sent by the new sender after the upgrade, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from posterm.host import migrations, webhooks
from posterm.host.db import connect
from posterm.host.delivery.backoff import delay
from posterm.host.delivery.sender import BUSY_S
from posterm.host.store import Store

CLAIMS = "ALTER TABLE webhook_deliveries ADD COLUMN claim TEXT"
INSERT = (
    "INSERT INTO webhook_deliveries (delivery_id, url, kind, body, state, attempts, created_at,"
    " next_attempt_at) VALUES (?, 'https://h.example/x', 'sale.approved', '{}', 'sent', 1,"
    " '2026-11-29T10:00:00Z', '2026-11-29T10:00:00Z')"
)


def test_the_back_off_doubles_from_the_first_retry_up_to_its_cap() -> None:
    """GIVEN a first retry of 5 s and a cap of 60 s WHEN attempts fail one after another
    THEN the waits are 5, 10, 20, 40, 60, 60 s (the notifications' 30 s .. 1 h alike)."""
    assert [delay(n, 5, 60) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]
    assert (delay(1, 30, 3600), delay(20, 30, 3600)) == (30, 3600)


def test_a_webhook_queued_before_the_upgrade_is_sent_after_it(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a store at the schema before webhook deliveries had claims, with a pending
    delivery WHEN the new posterm-host opens it and its sender runs THEN the delivery is
    posted once with its id and body, and recorded sent."""
    step = next(
        i for i, m in enumerate(migrations.MIGRATIONS) if isinstance(m, list) and CLAIMS in m
    )
    db = connect(store_url)
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:step])
    migrations.migrate(db)
    with db.tx() as tx:
        tx.execute(
            "INSERT INTO webhook_deliveries (delivery_id, url, kind, body, state,"
            " attempts, created_at, next_attempt_at) VALUES ('d-1', 'https://h.example/x',"
            " 'sale.approved', '{\"id\":\"d-1\"}', 'pending', 0, '2026-11-29T10:00:00Z',"
            " '2026-11-29T10:00:00Z')"
        )
    db.close()
    monkeypatch.undo()
    posted: list[tuple[str, bytes]] = []
    hook = webhooks.Webhook("https://h.example/x", b"0123456789abcdef", frozenset({"alert.*"}))
    store = Store(store_url)
    try:
        sender = webhooks.Sender(store, (hook,), post=lambda h, i, b: posted.append((i, b)))
        assert sender.run_due() == 1
        assert posted == [("d-1", b'{"id":"d-1"}')]
        (row,) = webhooks.deliveries(store)
        assert (row["state"], row["attempts"], row["last_error"]) == ("sent", 1, None)
        assert sender.run_due() == 0
    finally:
        store.close()


def test_a_sender_beside_another_process_s_ingest_is_paced_behind_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a sender (`run --role sender`) and another connection to the same SQLite file
    (the ingest process's) WHEN the other commits THEN the sender counts ingest busy (it
    pauses before each row) for BUSY_S, and not for its own commits or a quiet file; AND
    while its own process's ingest is busy it does not ask the file (the connection's lock
    is the ingest's then)."""
    url = f"sqlite://{tmp_path / 'host.db'}"
    store, ingest = Store(url), connect(url)
    try:
        sender = webhooks.Sender(store, (), post=lambda h, i, b: None)
        assert not sender._ingest_busy()  # nothing written since the store opened
        with store.db.tx() as tx:  # its own commit
            tx.execute(INSERT, ("d-1",))
        assert not sender._ingest_busy()
        with ingest.tx() as tx:
            tx.execute(INSERT, ("d-2",))
        assert sender._ingest_busy()
        sender.ingest_at -= BUSY_S  # BUSY_S later, nothing committed meanwhile
        assert not sender._ingest_busy()
        asked: list[bool] = []
        monkeypatch.setattr(store.db, "others_wrote", lambda: asked.append(True) or False)
        sender.ingest_at = time.monotonic()  # its own ingest's hook: a batch stored now
        assert sender._ingest_busy() and not asked
    finally:
        ingest.close()
        store.close()
