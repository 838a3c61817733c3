"""The host store's reads (`host/store.py` writes): the reply to a command, the fleet's
state, stored envelopes by terminal, type or transaction, the receipt lookup's rows, a
terminal's telemetry history. Each reads inside the thread's open batch when there is one
(`Store.batch`), else on its own."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any

from posterm.host import fleet as fleet_state
from posterm.host import history
from posterm.host.alerts.rules import IN_DOUBT, RESOLVES
from posterm.host.db import Database, DatabaseError, Row
from posterm.host.store_error import StoreError
from posterm.protocol.mqtt.events import now_rfc3339

_IN_DOUBT = ", ".join(f"'{t}'" for t in IN_DOUBT)  # the fleet's unresolved operations
_RESOLVES = ", ".join(f"'{t}'" for t in RESOLVES)


class StoreReads:
    """The reads of `Store` (mixed into it: its database and per-thread batch)."""

    db: Database
    _local: threading.local

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        open_tx = getattr(self._local, "tx", None)
        try:
            return open_tx.rows(sql, args) if open_tx is not None else self.db.rows(sql, args)
        except DatabaseError as exc:
            raise StoreError(str(exc), transient=exc.transient) from exc

    def reply(self, cmd_id: str, tid: str | None = None) -> dict[str, Any] | None:
        """The reply to a command (from `tid` only, when given)."""
        sql, args = "SELECT reply FROM replies WHERE cmd_id = ?", [cmd_id]
        if tid is not None:
            sql += " AND terminal = ?"
            args.append(tid)
        rows = self._all(sql, args)
        return json.loads(rows[0]["reply"]) if rows else None

    def fleet(self, now: str | None = None, stale_after_s: float = 180.0) -> list[dict[str, Any]]:
        """Every terminal's state (`host/fleet.py`) as of `now`."""
        gaps = {
            r["terminal"]: r["since"]
            for r in self._all(  # a later seq is in: since when
                "SELECT t.terminal AS terminal, MIN(e.received_at) AS since FROM terminals t"
                " JOIN events e ON e.terminal = t.terminal AND e.life = t.life"
                " AND e.seq > t.contiguous_seq"
                " GROUP BY t.terminal"
            )
        }
        doubts: dict[str, list[str]] = {}
        for r in self._all(  # in-doubt operations without a later outcome, oldest first
            "SELECT o.terminal AS terminal, o.txn_id AS txn_id FROM events o WHERE o.type IN"
            f" ({_IN_DOUBT}) AND NOT EXISTS (SELECT 1 FROM events r"
            " WHERE r.terminal = o.terminal AND r.txn_id = o.txn_id AND r.seq > o.seq AND"
            f" r.type IN ({_RESOLVES})) ORDER BY o.terminal, o.seq"
        ):
            doubts.setdefault(r["terminal"], []).append(str(r["txn_id"]))
        at = now or now_rfc3339()
        return [
            fleet_state.describe(
                row,
                gaps.get(row["terminal"]),
                row["last_sale_at"],
                at,
                stale_after_s,
                in_doubt_txns=doubts.get(row["terminal"]),
            )
            for row in self._all(  # last_sale_at: kept at ingest (`_terminals_moved`)
                "SELECT t.* FROM terminals t ORDER BY t.terminal"
            )
        ]

    def events(
        self,
        *,
        terminal: str | None = None,
        type_: str | None = None,
        types: Sequence[str] = (),
        kind: str | None = None,
        txn_id: str | None = None,
        customer_copy: bool = False,
        since: str | None = None,
        newest_first: bool = False,
        limit: int | None = 1000,
    ) -> list[dict[str, Any]]:
        """Stored envelopes, by terminal then seq (or newest first): of one `type_`, of any
        of `types`, of one `kind` (`refund` matches refund.*), about one `txn_id`, of the
        customer copy (receipt events), since a time."""
        where, args = ["1 = 1"], []
        for clause, value in (
            ("terminal = ?", terminal),
            ("type = ?", type_),
            ("type LIKE ? || '.%'", kind),
            ("txn_id = ?", txn_id),
            ("occurred_at >= ?", since),
        ):
            if value is not None:
                where.append(clause)
                args.append(value)
        if types:
            where.append(f"type IN ({', '.join('?' for _ in types)})")
            args.extend(types)
        if customer_copy:
            where.append("copy = 'customer'")
        order = "received_at DESC, seq DESC" if newest_first else "terminal, seq"
        sql = f"SELECT envelope FROM events WHERE {' AND '.join(where)} ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [json.loads(r["envelope"]) for r in self._all(sql, args)]

    def txn_events(
        self,
        outcomes: Sequence[str],
        related: Sequence[str],
        voids: Sequence[str],
        *,
        terminal: str | None = None,
        since: str | None = None,
        until: str | None = None,
        pan_ends: str | None = None,
    ) -> list[dict[str, Any]]:
        """In one query, by terminal then seq: every event of the `outcomes` and `related`
        types (receipt events: the customer copy only) of each (terminal, txn_id) with an
        outcome event of `terminal` (all: None) between `since` and `until` (and with a
        masked PAN ending in `pan_ends`, or none stored), and the `voids` events of
        `terminal` since `since`: the receipt lookup's rows."""
        where, args = [f"type IN ({', '.join('?' for _ in outcomes)})"], list(outcomes)
        void_where, void_args = [f"type IN ({', '.join('?' for _ in voids)})"], list(voids)
        for clause, value in (("terminal = ?", terminal), ("occurred_at >= ?", since)):
            if value is not None:
                where.append(clause)
                args.append(value)
                void_where.append(clause)
                void_args.append(value)
        if until is not None:
            where.append("occurred_at <= ?")
            args.append(until)
        if pan_ends is not None:  # rows stored before masked_pan was taken out: NULL
            where.append("(masked_pan LIKE ? OR masked_pan IS NULL)")
            args.append(f"%{pan_ends}")
        kinds = (*outcomes, *related)
        sql = (
            "SELECT envelope FROM events WHERE"
            f" (type IN ({', '.join('?' for _ in kinds)})"
            " AND (type NOT LIKE 'receipt.%' OR copy = 'customer')"
            " AND (terminal, txn_id) IN"
            f" (SELECT terminal, txn_id FROM events WHERE {' AND '.join(where)}))"
            f" OR ({' AND '.join(void_where)}) ORDER BY terminal, seq"
        )
        return [json.loads(r["envelope"]) for r in self._all(sql, [*kinds, *args, *void_args])]

    def telemetry_history(self, tid: str, since: str) -> list[dict[str, Any]]:
        """The terminal's telemetry rows (`host/history.py`) since a time, oldest first."""
        return self._all(
            f"SELECT at, {', '.join(history.COLUMNS)} FROM telemetry_history"
            " WHERE terminal = ? AND at >= ? ORDER BY at",
            (tid, since),
        )

    def knows_terminal(self, tid: str) -> bool:
        sql = (
            "SELECT 1 FROM terminals WHERE terminal = ? UNION"
            " SELECT 1 FROM events WHERE terminal = ? LIMIT 1"
        )
        return bool(self._all(sql, (tid, tid)))

    def refund_terminals(self, txn_id: str) -> list[str]:
        """The terminals that told of a refund with this id (an id is unique only per
        terminal: two may have used it)."""
        rows = self._all(
            "SELECT DISTINCT terminal FROM events WHERE txn_id = ? AND type LIKE"
            " 'refund.%' ORDER BY terminal",
            (txn_id,),
        )
        return [str(r["terminal"]) for r in rows]
