"""A batch's telemetry written in a fixed few statements (issue 23): the terminals' rows
(created when new), each terminal's latest telemetry, mode and printer state with since
when they say it, and a history row per message (`host/history.py`), whatever the number
of messages. The rows are those that writing the messages one at a time, in order, left."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from posterm.host import fleet as fleet_state
from posterm.host import history
from posterm.host.db import Tx

CHUNK = 1000  # terminals per SQLite statement (9 values each: under its 32766 variables)


@dataclass(frozen=True)
class Seen:
    """One telemetry message of a terminal, received at `at`."""

    tid: str
    telemetry: dict[str, Any]
    at: str


@dataclass(frozen=True)
class _Latest:
    """A terminal's row after its messages of the batch: its last telemetry; mode and
    printer state with `*_kept` (the batch never changed them: the row's since stays when
    the row said the same) and `*_from` (since when they are said otherwise)."""

    tid: str
    telemetry: str
    at: str
    mode: str | None
    mode_from: str
    mode_kept: bool
    printer: str
    printer_from: str
    printer_kept: bool


def _mode(telemetry: dict[str, Any]) -> str | None:
    mode = telemetry.get("mode")
    return mode[:64] if isinstance(mode, str) else None


def latest(seen: Sequence[Seen]) -> list[_Latest]:
    """Each terminal's row after its messages, in terminal order: what the one-at-a-time
    UPDATEs gave (a mode told again keeps its since; a change starts it at that message)."""
    by_tid: dict[str, list[Seen]] = {}
    for s in seen:
        by_tid.setdefault(s.tid, []).append(s)
    out = []
    for tid, msgs in sorted(by_tid.items()):
        mode_from = printer_from = msgs[0].at
        mode_kept = printer_kept = True
        mode, printer = (
            _mode(msgs[0].telemetry),
            fleet_state.printer_state(msgs[0].telemetry.get("printer")),
        )
        for m in msgs[1:]:
            m_mode = _mode(m.telemetry)
            m_printer = fleet_state.printer_state(m.telemetry.get("printer"))
            if (mode or "") != (m_mode or ""):
                mode_from, mode_kept = m.at, False
            if printer != m_printer:
                printer_from, printer_kept = m.at, False
            mode, printer = m_mode, m_printer
        last = msgs[-1]
        out.append(
            _Latest(
                tid,
                json.dumps(last.telemetry),
                last.at,
                mode,
                mode_from,
                mode_kept,
                printer,
                printer_from,
                printer_kept,
            )
        )
    return out


_SET = (
    "telemetry = m.telemetry, telemetry_at = m.at, last_seen = m.at, mode = m.mode,"
    " mode_since = CASE WHEN m.mode_kept AND COALESCE(terminals.mode, '') ="
    " COALESCE(m.mode, '') AND terminals.mode_since IS NOT NULL THEN terminals.mode_since"
    " ELSE m.mode_from END, printer_state = m.printer, printer_since = CASE WHEN"
    " m.printer_kept AND COALESCE(terminals.printer_state, '') = m.printer AND"
    " terminals.printer_since IS NOT NULL THEN terminals.printer_since ELSE m.printer_from END"
)
_FIELDS = (
    "terminal text",
    "telemetry text",
    "at text",
    "mode text",
    "mode_from text",
    "mode_kept bool",
    "printer text",
    "printer_from text",
    "printer_kept bool",
)
_M = f"m({', '.join(f.split(' ')[0] for f in _FIELDS)})"


def write(tx: Tx, dialect: str, seen: Sequence[Seen], known: frozenset[str] = frozenset()) -> None:
    """Write the messages `seen` (in the order received) inside `tx`. PostgreSQL: one
    data-modifying statement (the latest rows, the history rows, the pruning; JSON record
    sets as its three parameters), after one INSERT of the terminals not in `known` (the
    rows batch() created; a statement's parts do not see each other's new rows). SQLite:
    four statements per CHUNK terminals."""
    if not seen:
        return
    rows = latest(seen)
    if dialect == "postgresql":
        new = [r.tid for r in rows if r.tid not in known]
        if new:
            tx.execute(
                "INSERT INTO terminals (terminal) SELECT unnest(?::text[])"
                " ON CONFLICT (terminal) DO NOTHING",
                [new],
            )
        parts, args = history.pg_parts([(s.tid, s.telemetry, s.at) for s in seen])
        fields = [f.split(" ")[0] for f in _FIELDS]
        latest_json = json.dumps([dict(zip(fields, _values(r), strict=True)) for r in rows])
        tx.execute(
            f"WITH m AS (SELECT * FROM jsonb_to_recordset(?::jsonb) AS m({', '.join(_FIELDS)})),"
            f" latest AS (UPDATE terminals SET {_SET} FROM m WHERE terminals.terminal ="
            f" m.terminal), {', '.join(parts)} SELECT 1",
            [latest_json, *args],
        )
        return
    for i in range(0, len(rows), CHUNK):
        chunk = rows[i : i + CHUNK]
        tx.execute(
            f"INSERT INTO terminals (terminal) VALUES {', '.join(['(?)'] * len(chunk))}"
            " ON CONFLICT (terminal) DO NOTHING",
            [r.tid for r in chunk],
        )
        marks = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
        tx.execute(
            f"WITH {_M} AS (VALUES {marks}) UPDATE terminals SET {_SET} FROM m"
            " WHERE terminals.terminal = m.terminal",
            [v for r in chunk for v in _values(r)],
        )
    history.record_many(tx, [(s.tid, s.telemetry, s.at) for s in seen])


def _values(r: _Latest) -> tuple[Any, ...]:
    return (
        r.tid,
        r.telemetry,
        r.at,
        r.mode,
        r.mode_from,
        r.mode_kept,
        r.printer,
        r.printer_from,
        r.printer_kept,
    )
