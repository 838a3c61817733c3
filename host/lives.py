"""A terminal's lives: a terminal re-flashed (a new, empty journal: its seq and its MQTT
session start from 1 again) tells a new `journal_id` in its retained status. The host then
starts a new life for it: the status is followed (not taken for an old session's), the
contiguous seq starts again from 0 (gaps are found in the new life), the events stored
from then on belong to the new life, and `terminal_reset` is raised (`host/alerts/rules.py`):
whatever the old journal had not sent is lost. A status of a journal seen before that is
not the current one (a late will of the old life) is ignored.

A terminal that never told a journal_id (older software), or tells one for the first
time, keeps its life."""

from __future__ import annotations

import re
from typing import Any

from posterm.host.db import Tx

JOURNAL_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def follow(db: Tx, tid: str, status: dict[str, Any], row: dict[str, Any], now: str) -> str:
    """Which life `status` is of, given the terminal's row (journal_id, life; locked):
    `same` (or none told), `old` (ignore it) or `new` (a new life was started: the row's
    session, contiguous seq and reset time are set for it)."""
    told = status.get("journal_id")
    if not isinstance(told, str) or not JOURNAL_ID.fullmatch(told):
        return "same"
    known = row.get("journal_id")
    if known == told:
        return "same"
    if known is None:  # the first journal_id it tells: this life's
        db.execute("UPDATE terminals SET journal_id = ? WHERE terminal = ?", (told, tid))
        _remember(db, tid, told, int(row.get("life") or 0), now)
        return "same"
    if db.rows("SELECT 1 FROM terminal_lives WHERE terminal = ? AND journal_id = ?", (tid, told)):
        return "old"
    life = int(row.get("life") or 0) + 1
    db.execute(
        "UPDATE terminals SET journal_id = ?, life = ?, contiguous_seq = 0,"
        " session = NULL, reset_at = ? WHERE terminal = ?",
        (told, life, now, tid),
    )
    _remember(db, tid, told, life, now)
    return "new"


def _remember(db: Tx, tid: str, journal_id: str, life: int, now: str) -> None:
    db.execute(
        "INSERT INTO terminal_lives (terminal, journal_id, life, started_at) VALUES"
        " (?, ?, ?, ?) ON CONFLICT (terminal, journal_id) DO NOTHING",
        (tid, journal_id, life, now),
    )
