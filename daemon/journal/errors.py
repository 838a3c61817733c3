"""The journal's exceptions: `JournalError` and what it can be more precisely."""

from __future__ import annotations


class JournalError(Exception):
    """The journal cannot do what was asked: bad data, broken file, I/O error."""


class JournalIOError(JournalError):
    """The journal's storage failed (disk full, I/O error): the terminal cannot go on."""


class TransitionError(JournalError, ValueError):
    """A transaction state change that the state table does not allow."""


class MigrationError(JournalError):
    """A journal file whose schema this posterm cannot bring up to date."""
