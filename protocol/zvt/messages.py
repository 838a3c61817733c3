"""Decode any APDU into its typed ZVT message; the single entry point for untrusted bytes."""

from __future__ import annotations

from typing import Any

from posterm.protocol.zvt.apdu import Apdu
from posterm.protocol.zvt.commands import COMMANDS, Command
from posterm.protocol.zvt.errors import ZvtDecodeError, ZvtError
from posterm.protocol.zvt.pt_messages import (
    AbortFromPt,
    Completion,
    IntermediateStatus,
    NegativeAck,
    PositiveAck,
    PrintLine,
    PrintTextBlock,
    SetDateTime,
    StatusEnquiryCompletion,
    StatusInformation,
)

PtMessage = (
    PositiveAck
    | NegativeAck
    | IntermediateStatus
    | StatusInformation
    | PrintLine
    | PrintTextBlock
    | Completion
    | StatusEnquiryCompletion
    | AbortFromPt
    | SetDateTime
)
Message = Command | PtMessage

_PT: dict[int, type] = {
    c.CODE: c
    for c in (
        IntermediateStatus,
        StatusInformation,
        PrintLine,
        PrintTextBlock,
        Completion,
        AbortFromPt,
        SetDateTime,
    )
}


def decode(apdu: Apdu, *, answering: int | None = None) -> Any:
    """The typed message in `apdu`.

    `answering` is the code of the command the APDU answers; it tells a status-enquiry
    completion (05 01) from a plain one. Anything malformed raises `ZvtDecodeError`
    (a subclass of `ZvtError`), never another exception.
    """
    if apdu.cls == 0x80 and apdu.instr == 0x00:
        cls: type | None = PositiveAck
    elif apdu.cls == 0x84:
        cls = NegativeAck
    elif apdu.code == Completion.CODE and answering == 0x0501:
        cls = StatusEnquiryCompletion
    else:
        cls = _PT.get(apdu.code) or COMMANDS.get(apdu.code)
    if cls is None:
        raise ZvtDecodeError(f"unknown APDU {apdu.cls:02X} {apdu.instr:02X}")
    try:
        return cls.from_apdu(apdu)  # type: ignore[attr-defined]
    except ZvtError:
        raise
    except (ValueError, IndexError, TypeError, UnicodeDecodeError) as exc:
        raise ZvtDecodeError(f"malformed {cls.__name__}: {exc}") from exc


def encode(message: Any) -> Apdu:
    return message.to_apdu()  # type: ignore[no-any-return]
