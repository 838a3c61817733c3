"""Alerts kept: runs the rules of `host/alerts/rules.py` for the service's one thread, writes
each alert raised or cleared (table `alerts`, at most one open per kind, terminal and
subject: a unique index on the open ones) together with its webhook deliveries, and hands
the messages for `posterm/v1/host/{host_id}/alerts` over once they are committed.

- Event rules and the webhooks of new events run inside the ingest's own transaction
  (`Store.ingest(on_new=…)`): an event is never stored without them.
- Time-based rules run from `tick()` every `[alerts] interval_s` (stretched when they take
  long: `host/alerts/schedule.py`), in one of the processes sharing the database (the
  holder of a lease: `host/alerts/lease.py`), reading the fleet's rows, the seq gaps and
  the unresolved in-doubt and pending-receipt events, then one short transaction raising
  and clearing what changed.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from posterm.host import quarantine
from posterm.host.alerts import acks, health, modes, reads, rules
from posterm.host.alerts.lease import Lease
from posterm.host.alerts.listing import count, listing, muted_counts, open_counts, severity, utc_now
from posterm.host.alerts.rules import Finding, Limits
from posterm.host.alerts.schedule import Schedule
from posterm.host.db import DatabaseError, Tx
from posterm.host.quarantine import Bad
from posterm.host.store import Ingested, Store, StoreError
from posterm.host.webhooks import Webhook, enqueue, shareable
from posterm.protocol.mqtt.events import not_charged, rfc3339, uuid7

__all__ = ["Alerter", "count", "listing", "muted_counts", "open_counts", "severity", "utc_now"]
log = logging.getLogger("posterm.host")


class Alerter:
    def __init__(
        self,
        store: Store,
        limits: Limits,
        *,
        stale_after_s: float = 180.0,
        webhooks: tuple[Webhook, ...] = (),
        clock: Callable[[], datetime] = utc_now,
        new_event_hooks: tuple[Callable[[Tx, list[dict[str, Any]], str], None], ...] = (),
        holder: str | None = None,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        """`new_event_hooks`: more writers of what follows from new events, in the same
        transaction (the refund notifications' queue). `holder`: this process's name, to
        run the time-based rules only while it holds their lease (None: always runs them,
        one process alone on its database). `timer`: how long a tick takes."""
        self.store, self.limits, self.stale_after_s = store, limits, stale_after_s
        self.new_event_hooks = new_event_hooks
        self.webhooks, self.clock = webhooks, clock
        self.outbox: list[dict[str, Any]] = []  # committed alert messages, to publish
        self.queued = 0  # webhook deliveries written since the last look (wakes the sender)
        self._staged: list[dict[str, Any]] = []
        self._staged_queued = 0
        self.schedule = Schedule(limits.interval_s)
        self.lease = None if holder is None else Lease(store.db, holder)
        self.turns = 0  # times the rules' time came, run here or by the lease's holder
        self.timer = timer

    def now(self) -> str:
        return rfc3339(self.clock())

    # -- on ingest (inside its transaction) -------------------------------------------------
    def ingest(self, events: list[dict[str, Any]], texts: dict[str, str] | None = None) -> Ingested:
        """`Store.ingest` with the event rules and the events' webhooks in its transaction
        (`texts`: the envelopes as received, by event_id)."""
        self._staged, self._staged_queued = [], 0
        try:
            done = self.store.ingest(events, texts, on_new=self._on_new, at=self.now())
        finally:
            staged, queued = self._staged, self._staged_queued
            self._staged, self._staged_queued = [], 0
        self.outbox.extend(staged)  # only after the commit
        self.queued += queued
        return done

    def _on_new(self, tx: Tx, envelopes: list[dict[str, Any]]) -> None:
        """The event rules over a batch's new events; their reads are one statement each
        for the whole batch (`host/alerts/reads.py`), not one per event."""
        now = self.now()
        for hook in self.new_event_hooks:
            hook(tx, envelopes, now)
        dialect = self.store.db.dialect
        sales = [env for env in envelopes if rules.approved_sale(env)]
        near = reads.sales_near(tx, dialect, sales, self.limits.double_charge_s)
        clearing = sorted(
            {str(e["terminal"]) for e in envelopes if e["type"] in rules.CLEARS_DOUBLE_CHARGE}
        )
        doubles = reads.open_alerts(tx, dialect, ("double_charge",), clearing)
        for env in envelopes:
            if self.webhooks:  # (the shareable copy only for a webhook)
                self._staged_queued += enqueue(
                    tx, self.webhooks, env["type"], env["event_id"], shareable(env), at=now
                )
            if rules.approved_sale(env):
                found = rules.double_charge(
                    env,
                    self._charged_twice(tx, env, near.get(env["event_id"], [])),
                    self.limits.double_charge_s,
                )
                if found is not None:
                    self._raise(tx, found, now)
                    if env["terminal"] in doubles:  # raised in this batch: cleared by it too
                        doubles[env["terminal"]] = self._open(tx, "double_charge", env["terminal"])
            if env["type"] in rules.CLEARS_DOUBLE_CHARGE:
                self._clear_double_charges(tx, env, now, doubles[env["terminal"]])
        self._refund_days(tx, envelopes, now)

    def _refund_days(self, tx: Tx, envelopes: list[dict[str, Any]], now: str) -> None:
        """The per-day refund limits of each (terminal, UTC day) a new refund outcome falls
        on, over all of that day's refunds stored (this batch's included); a refund.failed
        bringing the day back under a limit clears its alert."""
        failed: dict[tuple[str, str], bool] = {}
        for env in envelopes:
            if env["type"] in ("refund.completed", "refund.failed"):
                key = (str(env["terminal"]), str(env["occurred_at"])[:10])
                failed[key] = failed.get(key, False) or env["type"] == "refund.failed"
        if not failed:
            return
        days = reads.refund_days(tx, self.store.db.dialect, sorted(failed))
        kinds = ("refunds_count", "refunds_amount")
        opened = reads.open_alerts(
            tx, self.store.db.dialect, kinds, sorted({t for (t, _), f in failed.items() if f})
        )
        for (tid, day), told in sorted(days.items()):
            findings = rules.refund_day(tid, day, rules.refunds_done(told), self.limits)
            for found in findings:
                self._raise(tx, found, now)
            if failed[(tid, day)]:  # back under a limit: its alert clears
                still = {(f.kind, f.subject) for f in findings}
                for row in opened[tid]:
                    if (
                        str(row["subject"]).startswith(day)
                        and (row["kind"], row["subject"]) not in still
                    ):
                        self._clear(tx, row, now)

    def _clear_double_charges(
        self, tx: Tx, env: dict[str, Any], now: str, open_rows: list[Any]
    ) -> None:
        """The terminal's open double charges (`open_rows`) whose card is no longer charged
        more than one sale, net (a confirmed void or refund of one of the sales, in full or
        in parts, or recovery finding one not kept), clear."""
        for row in list(open_rows):
            detail = json.loads(row["detail"])
            amount = rules.minor(detail)
            if amount is None or not isinstance(detail.get("txns"), list):
                continue
            since = min(str(at) for at in detail.get("occurred_at") or [now])
            if self._net(tx, env["terminal"], detail["txns"], amount, since) <= amount:
                self._clear(tx, row, now)
                open_rows.remove(row)

    def _charged_twice(
        self, tx: Tx, sale: dict[str, Any], near: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """The approved sales `near` `sale` (same card and amount: `reads.sales_near`) with
        which the card is still charged more than once, net: a sale voided or refunded
        before the second one came is no double charge."""
        amount = rules.minor(sale["data"])
        if amount is None:
            return []
        out = []
        for other in self._kept(tx, sale, near):
            since = min(str(other["occurred_at"]), str(sale["occurred_at"]))
            txns = [str(other["data"].get("txn_id")), str(sale["data"].get("txn_id"))]
            if self._net(tx, sale["terminal"], txns, amount, since) > amount:
                out.append(other)
        return out

    def _net(self, tx: Tx, terminal: str, txns: list[str], amount: int, since: str) -> int:
        """`rules.net_charged` of the terminal's sales `txns` (told since `since`, minus
        the double-charge window for a terminal clock that moved)."""
        try:
            low = rules.later(since, -self.limits.double_charge_s)
        except ValueError:
            low = ""
        kinds = ", ".join(f"'{t}'" for t in rules.NET_EVENTS)
        rows = tx.rows(
            f"SELECT envelope FROM events WHERE terminal = ? AND type IN ({kinds})"
            " AND occurred_at >= ? ORDER BY seq",
            (terminal, low),
        )
        envs = [json.loads(r["envelope"]) for r in rows]
        backs = {e["data"].get("txn_id") for e in envs if e["data"].get("ref_txn") in txns}
        told = [e for e in envs if e["data"].get("txn_id") in (*txns, *backs)]
        receipted: list[str] = []
        ids = sorted(str(b) for b in backs if isinstance(b, str))
        if ids:
            marks = ", ".join("?" for _ in ids)
            receipted = [
                str(r["txn_id"])
                for r in tx.rows(
                    f"SELECT DISTINCT txn_id FROM events WHERE terminal = ? AND txn_id IN ({marks})"
                    " AND type IN ('receipt.printed', 'receipt.pending', 'receipt.recovered')",
                    (terminal, *ids),
                )
            ]
        return rules.net_charged(amount, txns, told, receipted)

    def _kept(
        self, tx: Tx, sale: dict[str, Any], near: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """`near` less the sales recovery found not kept by the PT."""
        if not near:  # most sales: no other of that card and amount near it
            return []
        # a sale recovery found not kept by the PT moved no money (its event has no PAN)
        txns = sorted({str(e["data"].get("txn_id")) for e in near})
        marks = ", ".join("?" for _ in txns) or "NULL"
        lost = tx.rows(
            f"SELECT envelope FROM events WHERE terminal = ? AND type ="
            f" 'sale.recovered' AND txn_id IN ({marks})",
            (sale["terminal"], *txns),
        )
        gone = {
            e["data"].get("txn_id")
            for e in map(json.loads, (r["envelope"] for r in lost))
            if not_charged(e["data"])
        }
        return [e for e in near if e["data"].get("txn_id") not in gone]

    # -- messages refused at ingest (inside its transaction) -----------------------------------
    def quarantined(self, refused: list[Bad]) -> None:
        """Keep each refused message (host/quarantine.py) and raise `bad_message` for its
        terminal, one a day; published once the caller's transaction commits (a rollback
        takes them back out of `outbox`, as `_store` does)."""
        now = self.now()
        staged, queued = self._staged, self._staged_queued
        self._staged, self._staged_queued = [], 0
        try:
            with self.store.transaction() as tx:
                for bad in refused:
                    new = quarantine.record(tx, bad, now)
                    log.warning(
                        "host: quarantined a message on %s (%d bytes): %s%s",
                        quarantine.shown(bad.topic.encode("utf-8", "surrogateescape")),
                        len(bad.payload),
                        bad.reason,
                        "" if new else " (seen before)",
                    )
                    if bad.terminal is not None:
                        detail = {
                            "topic": quarantine.shown(bad.topic.encode("utf-8", "surrogateescape")),
                            "reason": bad.reason,
                        }
                        self._raise(tx, Finding("bad_message", bad.terminal, now[:10], detail), now)
        finally:
            self.outbox.extend(self._staged)
            self.queued += self._staged_queued
            self._staged, self._staged_queued = staged, queued

    # -- the timer --------------------------------------------------------------------------
    def tick(self, *, force: bool = False) -> bool:
        """Run the time-based rules if their time has come (`Schedule`, or `force`) and this
        process holds their lease (if it has one); True if they ran."""
        now = self.now()
        if not force and not self.schedule.due(now):
            return False
        self.turns += 1
        started = self.timer()
        try:
            return self._tick(now)
        finally:
            self.schedule.ran(now, self.timer() - started)

    def _tick(self, now: str) -> bool:
        try:
            if self.lease is not None:  # held a few runs ahead: a dead holder is replaced
                until = rules.later(now, 3 * self.schedule.delay_s + self.limits.interval_s)
                if not self.lease.hold(now, until):
                    return False  # another process runs them
            fleet = self.store.fleet(now, self.stale_after_s)
            gaps = [
                {"terminal": t["terminal"], "missing": t["gap_at"], "since": t["gap_since"]}
                for t in fleet
                if t["gap_at"] is not None
            ]
            findings = [
                *rules.fleet_findings(fleet, self.limits, now),
                *modes.findings(fleet, self.limits, now),
                *health.findings(fleet, self.limits, now),
                *rules.gap_findings(gaps, self.limits, now),
                *rules.unresolved_findings(self._open_items(), self.limits, now),
            ]
            wanted = {f.key: f for f in findings}
            staged: list[dict[str, Any]] = []
            self._staged, self._staged_queued = staged, 0
            with self.store.db.tx() as tx:
                for row in self._open(tx):
                    key = (row["kind"], row["terminal"], row["subject"])
                    level_gone = row["kind"] in rules.LEVEL_KINDS and key not in wanted
                    day_over = row["kind"] in rules.DAILY_KINDS and rules.day_over(
                        row["subject"], now
                    )
                    if level_gone or day_over:
                        self._clear(tx, row, now)
                    wanted.pop(key, None)
                for found in wanted.values():
                    self._raise(tx, found, now)
        except (DatabaseError, StoreError) as exc:
            log.warning("alerts: the time-based rules failed: %s", exc)
            return True
        except (KeyError, TypeError, ValueError):  # a row the rules cannot read: ingest goes on
            log.exception("alerts: the time-based rules failed")
            return True
        finally:
            queued, self._staged, self._staged_queued = self._staged_queued, [], 0
        self.outbox.extend(staged)
        self.queued += queued
        return True

    def _open_items(self) -> list[dict[str, Any]]:
        """In-doubt operations without a later outcome of the same transaction, pending
        receipts without a later printed, recovered or reprinted receipt of the same
        transaction and copy (one query, on the columns taken out at ingest)."""
        doubt = ", ".join(f"'{t}'" for t in rules.IN_DOUBT)
        outcome = ", ".join(f"'{t}'" for t in rules.RESOLVES)
        printed = ", ".join(f"'{t}'" for t in rules.RECEIPT_DONE)
        select = "SELECT o.received_at AS received_at, o.envelope AS envelope FROM events o"
        later = "SELECT 1 FROM events r WHERE r.terminal = o.terminal AND r.txn_id = o.txn_id"
        rows = self.store.db.rows(  # each half reads the events of its types by index
            f"{select} WHERE o.type IN ({doubt}) AND NOT EXISTS ({later} AND r.seq > o.seq"
            f" AND r.type IN ({outcome})) UNION ALL {select} WHERE o.type = 'receipt.pending'"
            f" AND NOT EXISTS ({later} AND r.copy = o.copy AND r.seq > o.seq"
            f" AND r.type IN ({printed}))"
        )
        return [rules.open_item(json.loads(r["envelope"]), r["received_at"]) for r in rows]

    # -- raising and clearing -----------------------------------------------------------------
    def _open(self, tx: Tx, kind: str | None = None, terminal: str | None = None) -> list[Any]:
        where, args = ["cleared_at IS NULL"], []
        for clause, value in (("kind = ?", kind), ("terminal = ?", terminal)):
            if value is not None:
                where.append(clause)
                args.append(value)
        return tx.rows(f"SELECT * FROM alerts WHERE {' AND '.join(where)}", args)

    def _raise(self, tx: Tx, found: Finding, now: str) -> None:
        alert_id = uuid7()
        inserted = tx.execute(
            "INSERT INTO alerts (alert_id, kind, terminal, subject, raised_at, detail)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (alert_id, found.kind, found.terminal, found.subject, now, json.dumps(found.detail)),
        )
        if not inserted:
            return  # one open already
        mute = acks.carried_mute(tx, found, now)  # muted before: muted again, no webhook
        if mute is not None:
            tx.execute(
                "UPDATE alerts SET muted_until = ?, muted_by = ? WHERE alert_id = ?",
                (*mute, alert_id),
            )
        log.warning(
            "alert: %s raised on %s %s %s",
            found.kind,
            found.terminal,
            found.subject,
            json.dumps(found.detail),
        )
        self._send(
            tx,
            {
                "alert_id": alert_id,
                "kind": found.kind,
                "terminal": found.terminal,
                "raised_at": now,
                "detail": found.detail,
            },
            "raised",
            now,
            webhooks=mute is None,
        )

    def _clear(self, tx: Tx, row: Any, now: str) -> None:
        if not tx.execute(
            "UPDATE alerts SET cleared_at = ? WHERE alert_id = ? AND cleared_at IS NULL",
            (now, row["alert_id"]),
        ):
            return
        log.info("alert: %s cleared on %s %s", row["kind"], row["terminal"], row["subject"])
        self._send(
            tx,
            {
                "alert_id": row["alert_id"],
                "kind": row["kind"],
                "terminal": row["terminal"],
                "cleared_at": now,
                "detail": json.loads(row["detail"]),
            },
            "cleared",
            now,
        )

    def _send(
        self, tx: Tx, message: dict[str, Any], step: str, now: str, *, webhooks: bool = True
    ) -> None:
        self._staged.append(message)
        if not webhooks:
            return
        ref = f"{message['alert_id']}/{step}"
        self._staged_queued += enqueue(
            tx, self.webhooks, f"alert.{message['kind']}", ref, message, at=now
        )

    # -- the day's reconciliation ---------------------------------------------------------------
    def reconciled(self, rows: list[dict[str, Any]]) -> None:
        """`posterm-host reconcile`'s rows: a batch that differs raises `reconcile_mismatch`
        (one per terminal and batch, naming what differs); one that agrees clears it."""
        now = self.now()
        with self.store.db.tx() as tx:
            for row in rows:
                if row["closed_at"] is None:  # sold, never closed: no batch to name
                    continue
                subject = f"batch {row['batch_no']}"
                if row["ok"]:
                    for open_ in self._open(tx, "reconcile_mismatch", row["terminal"]):
                        if open_["subject"] == subject:
                            self._clear(tx, open_, now)
                    continue
                detail = {
                    "batch_no": row["batch_no"],
                    "closed_at": row["closed_at"],
                    "differences": [
                        {"what": d["what"], "txns": d["txns"]} for d in row["differences"]
                    ],
                }
                self._raise(
                    tx, Finding("reconcile_mismatch", row["terminal"], subject, detail), now
                )

    # -- reading ------------------------------------------------------------------------------
    def take(self) -> list[dict[str, Any]]:
        """The committed messages not yet published (the caller publishes them)."""
        out, self.outbox = self.outbox, []
        return out
