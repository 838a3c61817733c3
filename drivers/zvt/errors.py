"""The ZVT client's exceptions, all `ZvtError`s: declined, link, protocol, busy, refused."""

from __future__ import annotations

from typing import TYPE_CHECKING

from posterm.protocol.zvt.codes import result_text
from posterm.protocol.zvt.errors import ZvtError

if TYPE_CHECKING:
    from posterm.drivers.zvt.results import Result


class ZvtLinkError(ZvtError):
    """The link failed: no connection, no ACK after the resends, timeout, broken frames."""


class ZvtNotConnected(ZvtLinkError):
    """The link could not be opened: not a byte of the command left this machine."""


class ZvtTimeout(ZvtLinkError):
    """A protocol timer (T2, T3, T4) ran out."""


class ZvtProtocolError(ZvtError):
    """The PT sent something the protocol does not allow at that point."""


class ZvtRefused(ZvtError):
    """The PT answered the command with `84 xx`."""

    def __init__(self, code: int, message: str | None = None) -> None:
        self.code = code
        super().__init__(message or f"PT refused the command: 84 {code:02X} ({result_text(code)})")


class ZvtNotSupported(ZvtRefused):
    """`84 83`: the PT does not support (or has disabled) this function."""


class ZvtBusy(ZvtRefused):
    """The PT is busy (please wait, receiver not ready, card inserted)."""


class ZvtDeclined(ZvtError):
    """The transaction ended without approval; `result` holds what the PT said."""

    def __init__(self, result: Result) -> None:
        self.result = result
        self.code = result.result_code
        super().__init__(f"declined: {result.result_text} (result code {result.result_code:02X})")


class ZvtCommitFailed(ZvtError):
    """The caller's commit hook raised; the PT was told to reverse (negative ack)."""


def refused(code: int) -> ZvtRefused:
    if code == 0x83:
        return ZvtNotSupported(code)
    if code in (0x9C, 0xA0, 0xDC):
        return ZvtBusy(code)
    return ZvtRefused(code)
