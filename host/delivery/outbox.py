"""What the sender needs of each kind of delivery (webhooks, refund notifications): where
its rows are, which channel each goes through, a session of that channel that sends one
row, and how many attempts it gets. A channel adapter raises `ChannelError`."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from posterm.host.db import Row
from posterm.host.delivery.queue import Table


class ChannelError(Exception):
    """A delivery not made; `temporary`: a later attempt may succeed."""

    def __init__(self, why: str, *, temporary: bool) -> None:
        super().__init__(why)
        self.temporary = temporary


@dataclass(frozen=True)
class Retries:
    """How often and how far apart a row is tried (the back-off: delivery.backoff)."""

    max_attempts: int
    first_retry_s: float
    max_retry_s: float


class Session(Protocol):
    def send(self, row: Row) -> None:
        """Deliver one row; raises ChannelError."""


class Outbox(Protocol):
    """One kind of delivery behind the one sender."""

    name: str  # its log prefix and crash points: `{name}.sent`, `{name}.recorded`
    table: Table
    batch: int  # rows per claim
    lease_s: float  # a claimed row is due again for another process only after this

    def due(self) -> tuple[str, Sequence[Any]] | None:
        """More conditions on the rows to claim (SQL, args); None: claim none now."""

    def channel(self, row: Row) -> str:
        """The channel a row goes through (rows of one channel share a session)."""

    def session(self, channel: str) -> AbstractContextManager[Session]:
        """A session of the channel; raises ChannelError (then none of its rows went)."""

    def retries(self, row: Row) -> Retries: ...

    def tick(self, now: datetime) -> None:
        """Housekeeping, once a round (outside any claim)."""

    def recorded(self, sent: int) -> None:
        """`sent` rows were recorded as delivered."""
