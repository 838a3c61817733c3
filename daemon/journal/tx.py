"""One journal transaction's writes (`Tx`, handed out by `Journal.transaction` in
daemon/journal/store.py): transactions and their transitions, receipts, outbox events
with their per-terminal seq, the kv store, acks, and forgetting customers' contacts."""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any

from posterm.daemon.journal.errors import (
    JournalError,
    JournalIOError,
    TransitionError,
)
from posterm.daemon.journal.guards import check_no_card_data
from posterm.daemon.journal.rows import (
    COPIES,
    KINDS,
    MARKS,
    RECEIPT_STATES,
    TXN_FIELDS,
    UPDATABLE,
    Txn,
    check_field,
    to_json,
    txn_row,
)
from posterm.daemon.states import TxnState, check_transition
from posterm.protocol.mqtt import events, wire

if TYPE_CHECKING:
    from posterm.daemon.journal.store import Journal

SEQ_KEY = "outbox_seq"  # the last outbox seq handed out; written only by `Tx.emit`
OWNER_KEY = "terminal_id"  # the terminal this journal belongs to (seq is per terminal)
PERSONAL = "notify"  # the event data key of a customer's contact (protocol/contact.py)


def now() -> str:
    """Journal timestamps: the one format of posterm, RFC 3339 UTC with milliseconds."""
    return events.now_rfc3339()


class Tx:
    """The writes of one SQLite transaction; valid only inside its `with` block."""

    def __init__(self, journal: Journal, db: sqlite3.Connection, durable: bool = True) -> None:
        self._journal = journal
        self._db = db
        self.open = True
        self.durable = durable

    def _run(self, sql: str, args: Any = ()) -> sqlite3.Cursor:
        if not self.open:
            raise JournalError("this transaction is over: open a new one")
        try:
            return self._db.execute(sql, args)
        except sqlite3.IntegrityError as exc:
            raise JournalError(f"refused by the journal: {exc}") from exc
        except sqlite3.Error as exc:
            raise JournalIOError(f"journal write failed: {exc}") from exc

    def execute(self, sql: str, args: Any = ()) -> sqlite3.Cursor:
        """Raw SQL inside this transaction, for the journal's own modules (retention, the
        relay's bookkeeping); errors as JournalError."""
        return self._run(sql, args)

    def get_txn(self, txn_id: str) -> Txn | None:
        row = self._run("SELECT * FROM txns WHERE txn_id = ?", (txn_id,)).fetchone()
        return None if row is None else txn_row(row)

    def txn(self, txn_id: str) -> Txn:
        """A transaction that must exist."""
        found = self.get_txn(txn_id)
        if found is None:
            raise JournalError(f"no transaction {txn_id}")
        return found

    def insert_txn(self, **fields: Any) -> Txn:
        """Journal a new transaction (and its first transition); returns the row."""
        unknown = set(fields) - set(TXN_FIELDS) - {"note"}
        if unknown:
            raise JournalError(f"unknown transaction fields {sorted(unknown)}")
        note = fields.pop("note", None) or "created"
        if fields.get("created_at") is not None or fields.get("updated_at") is not None:
            raise JournalError("created_at and updated_at are set by the journal")
        row = {
            name: check_field(name, fields.get(name))
            for name in TXN_FIELDS
            if name not in ("created_at", "updated_at")
        }
        if row["kind"] not in KINDS:
            raise JournalError(f"unknown transaction kind {row['kind']!r}")
        if row["kind"] != "eod" and row["amount"] == 0:
            raise JournalError(f"a {row['kind']} needs an amount above zero")
        if row["kind"] == "void" and row["ref_txn"] is None:
            raise JournalError("a void needs ref_txn (the sale it reverses)")
        if row["ref_txn"] is not None and self.get_txn(row["ref_txn"]) is None:
            raise JournalError(f"ref_txn {row['ref_txn']} is not in the journal")
        try:
            check_transition(None, TxnState(row["state"]))
        except ValueError as exc:
            raise TransitionError(str(exc)) from None
        key = (row["kind"], row["idem_key"])
        if (
            key[1] is not None
            and self._run("SELECT 1 FROM txns WHERE kind = ? AND idem_key = ?", key).fetchone()
        ):
            raise JournalError(f"idempotency key {row['idem_key']!r} is already used")
        if self.get_txn(row["txn_id"]) is not None:
            raise JournalError(f"transaction {row['txn_id']} already exists")
        row["created_at"] = row["updated_at"] = now()
        self._run(
            f"INSERT INTO txns ({', '.join(row)}) VALUES ({', '.join(':' + n for n in row)})",
            row,
        )
        self._transition(row["txn_id"], None, row["state"], note)
        return txn_row(
            self._run("SELECT * FROM txns WHERE txn_id = ?", (row["txn_id"],)).fetchone()
        )

    def update_txn(self, txn_id: str, note: str | None = None, **fields: Any) -> Txn:
        """Change fields of a transaction; a change of state is checked against the state
        table and recorded as a transition (with `note`)."""
        old = self.get_txn(txn_id)
        if old is None:
            raise JournalError(f"no transaction {txn_id}")
        bad = set(fields) - UPDATABLE
        if bad:
            raise JournalError(f"cannot update {sorted(bad)} of a transaction")
        values = {name: check_field(name, value) for name, value in fields.items()}
        if "amount" in values and values["amount"] in (None, 0) and old.kind != "eod":
            raise JournalError(f"a {old.kind} needs an amount above zero")
        if values.get("ref_txn") is not None and self.get_txn(values["ref_txn"]) is None:
            raise JournalError(f"ref_txn {values['ref_txn']} is not in the journal")
        if "state" in values and values["state"] != old.state:
            try:
                check_transition(TxnState(old.state), TxnState(values["state"]))
            except ValueError as exc:
                raise TransitionError(f"{txn_id}: {exc}") from None
            self._transition(txn_id, old.state, values["state"], note)
        values["updated_at"] = now()
        assignments = ", ".join(f"{name} = :{name}" for name in values)
        self._run(
            f"UPDATE txns SET {assignments} WHERE txn_id = :txn_id", {**values, "txn_id": txn_id}
        )
        txn = self.get_txn(txn_id)
        assert txn is not None
        return txn

    def _transition(self, txn_id: str | None, old: str | None, new: str, note: str | None) -> None:
        if note is not None and not isinstance(note, str):
            raise JournalError(f"a transition note is text, not {type(note).__name__}")
        check_no_card_data("a transition note", note, operator_text=True)
        self._run(
            "INSERT INTO transitions (txn_id, from_state, to_state, note, at) VALUES (?,?,?,?,?)",
            (txn_id, old, new, note, now()),
        )

    def record_mode(self, old: str, new: str, reason: str) -> None:
        """Audit a change of the terminal's mode (a transition without a transaction)."""
        self._transition(None, str(old), str(new), reason)

    def add_receipt(
        self, *, txn_id: str, copy: str, mark: str, body: dict[str, Any], state: str = "pending"
    ) -> int:
        """Journal a receipt to print; returns its receipt_id."""
        if copy not in COPIES or mark not in MARKS or state not in RECEIPT_STATES:
            raise JournalError(
                f"a receipt is {COPIES} / {MARKS} / {RECEIPT_STATES}, "
                f"not {copy!r} / {mark!r} / {state!r}"
            )
        if not isinstance(body, dict):
            raise JournalError("a receipt body is a JSON object")
        check_no_card_data("a receipt", body)
        if self.get_txn(txn_id) is None:
            raise JournalError(f"no transaction {txn_id} for this receipt")
        stamp = now()
        cur = self._run(
            "INSERT INTO receipts (txn_id, copy, mark, state, body, created_at, printed_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                txn_id,
                copy,
                mark,
                state,
                to_json("a receipt body", body),
                stamp,
                stamp if state == "printed" else None,
            ),
        )
        return int(cur.lastrowid or 0)

    def set_receipt_state(self, receipt_id: int, state: str, *, mark: str | None = None) -> None:
        """pending -> printed (stamps printed_at); `mark` may turn a pending original into
        recovered. A printed receipt stays as it was printed."""
        self.set_receipt(receipt_id, state=state, mark=mark)

    def set_receipt(
        self, receipt_id: int, *, state: str | None = None, mark: str | None = None
    ) -> None:
        row = self._run(
            "SELECT state, mark FROM receipts WHERE receipt_id = ?", (receipt_id,)
        ).fetchone()
        if row is None:
            raise JournalError(f"no receipt {receipt_id}")
        if state is not None and state not in RECEIPT_STATES:
            raise JournalError(f"a receipt is {' or '.join(RECEIPT_STATES)}, not {state!r}")
        if mark is not None and mark not in MARKS:
            raise JournalError(f"a receipt mark is {', '.join(MARKS)}, not {mark!r}")
        if row["state"] == "printed" and (state == "pending" or mark not in (None, row["mark"])):
            raise JournalError(f"receipt {receipt_id} is printed: it cannot change")
        if (
            mark is not None
            and mark != row["mark"]
            and (row["mark"], mark) != ("original", "recovered")
        ):
            raise JournalError(f"receipt {receipt_id}: {row['mark']} cannot become {mark}")
        if mark is not None:
            self._run("UPDATE receipts SET mark = ? WHERE receipt_id = ?", (mark, receipt_id))
        if state == "printed" and row["state"] == "pending":
            self._run(
                "UPDATE receipts SET state = 'printed', printed_at = ? WHERE receipt_id = ?",
                (now(), receipt_id),
            )

    def emit(self, type_: str, data: dict[str, Any]) -> dict[str, Any]:
        """Queue an event in the outbox in this transaction; `seq` is gapless per terminal.
        Returns the envelope (docs/mqtt.md)."""
        if not self.durable:  # the relay could send it before a power cut loses it
            raise JournalError(f"a {type_} event needs a durable transaction")
        check_no_card_data(f"a {type_} event", data)
        seq = int(self.kv_get(SEQ_KEY) or 0) + 1
        try:
            envelope = events.envelope(self._journal.terminal_id, seq, type_, data)
            # the host refuses what does not fit its schema: it never enters the outbox
            wire.check_event_data(type_, data)
        except (events.EventError, wire.WireError) as exc:
            raise JournalError(str(exc)) from exc
        self._run(
            "INSERT INTO outbox (seq, event_id, type, occurred_at, envelope, personal)"
            " VALUES (?,?,?,?,?,?)",
            (
                seq,
                envelope["event_id"],
                type_,
                envelope["occurred_at"],
                to_json("an event", envelope),
                1 if PERSONAL in data else 0,
            ),
        )
        self._kv_put(SEQ_KEY, str(seq))
        return envelope

    def kv_get(self, key: str) -> str | None:
        row = self._run("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def kv_set(self, key: str, value: str) -> None:
        """A small durable value (batch number, last PT state), written in this transaction."""
        if not isinstance(key, str) or not 1 <= len(key) <= 64:
            raise JournalError("a kv key is 1-64 characters")
        if key in (SEQ_KEY, OWNER_KEY):
            raise JournalError(f"{key} belongs to the journal itself")
        if not isinstance(value, str):
            raise JournalError(f"kv {key}: a value is text, not {type(value).__name__}")
        check_no_card_data(f"kv {key}", value, operator_text=True)
        self._kv_put(key, value)

    def _kv_put(self, key: str, value: str) -> None:
        self._run(
            "INSERT INTO kv (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def ack_event(self, event_id: str) -> int:
        cur = self._run(
            "UPDATE outbox SET acked_at = ? WHERE event_id = ? AND acked_at IS NULL",
            (now(), event_id),
        )
        return int(cur.rowcount)

    def forget_personal(self) -> int:
        """Take the customer's contact out of every acknowledged event (the host has it);
        with secure_delete the old bytes are overwritten in the file's pages."""
        rows = self._run(
            "SELECT seq, envelope FROM outbox WHERE personal = 1 AND acked_at IS NOT NULL"
        ).fetchall()
        for seq, text in rows:
            envelope = json.loads(text)
            envelope["data"].pop(PERSONAL, None)
            self._run(
                "UPDATE outbox SET envelope = ?, personal = 0 WHERE seq = ?",
                (to_json("an event", envelope), seq),
            )
        return len(rows)
