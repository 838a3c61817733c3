"""The host store's one exception class (`host/store.py`, `host/store_reads.py`)."""

from __future__ import annotations


class StoreError(Exception):
    """The host's store failed; `transient`: it could not reach its database (or found it
    busy), so the same work may succeed later."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient
