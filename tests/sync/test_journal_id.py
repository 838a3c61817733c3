"""The journal id a terminal tells the host (to tell a re-flashed terminal apart) is made
so that the journal's card-number guard can never refuse it: a UUID's dashed digit groups
once read as a card number and postermd would not start (CI, a notify crash test)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from posterm.daemon.journal.errors import JournalError
from posterm.daemon.journal.guards import check_no_card_data
from posterm.daemon.journal.store import Journal
from posterm.daemon.sync import relay

# 4532 0151 1283 0366 passes the Luhn check: a UUID whose first groups are these digits
CARD_LIKE = uuid.UUID("45320151-1283-0366-8000-0000000000aa")


def test_a_dashed_uuid_can_read_as_a_card_number() -> None:
    """GIVEN a UUID whose first three groups are a Luhn-valid 16-digit run WHEN the guard
    reads it in its dashed form THEN it refuses it (what broke the start-up)."""
    with pytest.raises(JournalError):
        check_no_card_data("kv journal_id", str(CARD_LIKE), operator_text=True)


def test_the_journal_id_of_that_uuid_is_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN uuid4 returning that UUID WHEN a fresh journal's id is made THEN it is stored
    and read back the same, with no run of more than 8 digits."""
    monkeypatch.setattr(relay.uuid, "uuid4", lambda: CARD_LIKE)
    journal = Journal(tmp_path / "journal.db", "pos-test")
    try:
        made = relay._journal_id(journal)
        assert made == "45320151:12830366:80000000:000000aa"
        assert relay._journal_id(journal) == made
    finally:
        journal.close()


def test_no_journal_id_reads_as_a_card_number() -> None:
    """GIVEN 2,000 fresh ids WHEN the guard reads each THEN none is refused."""
    for _ in range(2000):
        check_no_card_data("kv journal_id", relay.new_journal_id(), operator_text=True)
