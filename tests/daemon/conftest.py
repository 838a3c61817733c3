"""Fixtures for the daemon's building blocks: a fresh journal on a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from posterm.daemon.journal.store import Journal


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal(tmp_path / "journal.db", "pos-1")
    yield j
    j.close()
