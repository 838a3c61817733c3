"""Messages the payment terminal sends (and the ECR's acks), as typed messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from posterm.protocol.zvt import bcd, bmp, bmpset, tlv
from posterm.protocol.zvt.apdu import Apdu
from posterm.protocol.zvt.bmpset import bmp_field
from posterm.protocol.zvt.errors import ZvtDecodeError, ZvtEncodeError
from posterm.protocol.zvt.tlv import Tlv

TAG_TEXT_LINE = 0x07
TAG_ATTRIBUTE = 0x09
TAG_PRINT_TEXTS = 0x25
TAG_RECEIPT_TYPE = 0x1F07

RECEIPT_MERCHANT, RECEIPT_CUSTOMER, RECEIPT_ADMIN = 1, 2, 3


@dataclass(frozen=True)
class _TlvOnly:
    tlv: tuple[Tlv, ...] | None = bmp_field(0x06)


@dataclass(frozen=True)
class PositiveAck:
    """`80 00 00`: both sides use it to acknowledge."""

    CODE: ClassVar[int] = 0x8000

    def to_apdu(self) -> Apdu:
        return Apdu(0x80, 0x00)

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> PositiveAck:
        return cls()


@dataclass(frozen=True)
class NegativeAck:
    """`84 xx 00`: xx is the error (83 = not supported, 9C = repeat, else refused)."""

    CODE: ClassVar[int] = 0x8400
    error: int = 0

    def to_apdu(self) -> Apdu:
        return Apdu(0x84, self.error)

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> NegativeAck:
        return cls(apdu.instr)


@dataclass(frozen=True)
class IntermediateStatus:
    """`04 FF`: status byte, optional timeout byte (BCD minutes), optional BMP 06."""

    CODE: ClassVar[int] = 0x04FF
    status: int = 0
    timeout: int | None = None  # minutes, sent as one BCD byte
    tlv: tuple[Tlv, ...] | None = None

    def to_apdu(self) -> Apdu:
        data = bytes([self.status])
        if self.timeout is not None:
            data += bcd.encode(self.timeout, 1)
        elif self.tlv is not None:
            raise ZvtEncodeError("04 FF needs the timeout byte before a TLV container")
        if self.tlv is not None:
            data += bmp.encode_one(0x06, self.tlv)
        return Apdu(0x04, 0xFF, data)

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> IntermediateStatus:
        data = apdu.data
        if not data:
            raise ZvtDecodeError("04 FF without status byte")
        timeout = bcd.decode(data[1:2]) if len(data) >= 2 else None
        found = bmpset.decode(_TlvOnly, data, 2).tlv if len(data) > 2 else None
        return cls(data[0], timeout, found)


@dataclass(frozen=True)
class StatusInformation:
    """`04 0F`: the result of a transaction. BMPs this class does not name go to `other`."""

    CODE: ClassVar[int] = 0x040F
    result_code: int | None = bmp_field(0x27)
    amount: int | None = bmp_field(0x04)
    currency: int | None = bmp_field(0x49)
    trace: int | None = bmp_field(0x0B)
    original_trace: int | None = bmp_field(0x37)
    time: str | None = bmp_field(0x0C)
    date: str | None = bmp_field(0x0D)
    expiry: str | None = bmp_field(0x0E)
    card_seq_no: int | None = bmp_field(0x17)
    payment_type: int | None = bmp_field(0x19)
    pan: str | None = bmp_field(0x22)
    terminal_id: str | None = bmp_field(0x29)
    vu_number: str | None = bmp_field(0x2A)
    aid: bytes | None = bmp_field(0x3B)
    additional_text: str | None = bmp_field(0x3C)
    totals: bytes | None = bmp_field(0x60)
    receipt_no: int | None = bmp_field(0x87)
    turnover_no: int | None = bmp_field(0x88)
    card_type: int | None = bmp_field(0x8A)
    card_name: str | None = bmp_field(0x8B)
    network_card_type: int | None = bmp_field(0x8C)
    host_result_code: int | None = bmp_field(0xA0)
    date_full: str | None = bmp_field(0xAA)
    aid_parameter: bytes | None = bmp_field(0xBA)
    tlv: tuple[Tlv, ...] | None = bmp_field(0x06)
    other: tuple[tuple[int, bmp.Value], ...] = ()

    def to_apdu(self) -> Apdu:
        return Apdu(0x04, 0x0F, bmpset.encode(self))

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> StatusInformation:
        return bmpset.decode(cls, apdu.data)


@dataclass(frozen=True)
class SetDateTime:
    """`04 01`: the PT asks the ECR to set its clock: exactly `AA<date> 0C<time>`.

    `date` is YYMMDD and `time` HHMMSS, as BCD digit strings; both are required.
    """

    CODE: ClassVar[int] = 0x0401
    date: str | None = bmp_field(0xAA)
    time: str | None = bmp_field(0x0C)

    def to_apdu(self) -> Apdu:
        if self.date is None or self.time is None:
            raise ZvtEncodeError("04 01 needs both the date and the time")
        return Apdu(0x04, 0x01, bmpset.encode(self))

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> SetDateTime:
        found = bmpset.decode(cls, apdu.data)
        if found.date is None or found.time is None:
            raise ZvtDecodeError("04 01 without its date (AA) and time (0C)")
        return found


@dataclass(frozen=True)
class PrintLine:
    """`06 D1`: attribute byte + text. Attribute with bit 7 set (not 80) marks the last line."""

    CODE: ClassVar[int] = 0x06D1
    attribute: int = 0
    text: str = ""

    @property
    def is_last(self) -> bool:
        return bool(self.attribute & 0x80) and self.attribute != 0x80

    def to_apdu(self) -> Apdu:
        try:
            raw = self.text.encode(bmp.TEXT_ENCODING)
        except UnicodeEncodeError as exc:
            raise ZvtEncodeError(f"print line not encodable: {self.text!r}") from exc
        return Apdu(0x06, 0xD1, bytes([self.attribute]) + raw)

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> PrintLine:
        if not apdu.data:
            raise ZvtDecodeError("06 D1 without attribute byte")
        return cls(apdu.data[0], apdu.data[1:].decode(bmp.TEXT_ENCODING))


@dataclass(frozen=True)
class PrintTextBlock:
    """`06 D3`: BMP 06 with 1F07 receipt type and 25 { 09 attribute?, 07 text line … }."""

    CODE: ClassVar[int] = 0x06D3
    tlv: tuple[Tlv, ...] = ()

    @classmethod
    def from_lines(cls, receipt_type: int, lines: list[str]) -> PrintTextBlock:
        texts = tuple(Tlv(TAG_TEXT_LINE, line.encode(bmp.TEXT_ENCODING)) for line in lines)
        return cls(
            (Tlv(TAG_RECEIPT_TYPE, bytes([receipt_type])), Tlv(TAG_PRINT_TEXTS, children=texts))
        )

    @property
    def receipt_type(self) -> int | None:
        found = tlv.find(self.tlv, TAG_RECEIPT_TYPE)
        return found.value[0] if found is not None and found.value else None

    @property
    def lines(self) -> list[str]:
        block = tlv.find(self.tlv, TAG_PRINT_TEXTS)
        if block is None:
            return []
        return [t.value.decode(bmp.TEXT_ENCODING) for t in block.find_all(TAG_TEXT_LINE)]

    def to_apdu(self) -> Apdu:
        return Apdu(0x06, 0xD3, bmp.encode_one(0x06, self.tlv))

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> PrintTextBlock:
        found = bmpset.decode(_TlvOnly, apdu.data).tlv
        if found is None:
            raise ZvtDecodeError("06 D3 without its TLV container")
        return cls(found)


@dataclass(frozen=True)
class Completion:
    """`06 0F`: the end of a command. After registration it may carry 19, 29, 49, 06."""

    CODE: ClassVar[int] = 0x060F
    status_byte: int | None = bmp_field(0x19)
    terminal_id: str | None = bmp_field(0x29)
    currency: int | None = bmp_field(0x49)
    tlv: tuple[Tlv, ...] | None = bmp_field(0x06)
    other: tuple[tuple[int, bmp.Value], ...] = ()

    def to_apdu(self) -> Apdu:
        return Apdu(0x06, 0x0F, bmpset.encode(self))

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> Completion:
        return bmpset.decode(cls, apdu.data)


@dataclass(frozen=True)
class StatusEnquiryCompletion:
    """`06 0F` answering a status enquiry: [LLLVAR software version], terminal status, [06].

    Some terminals leave the software version out (`06 0F 01 00`); then it is None.
    """

    CODE: ClassVar[int] = 0x060F
    sw_version: str | None = None
    terminal_status: int = 0
    tlv: tuple[Tlv, ...] | None = bmp_field(0x06)

    def to_apdu(self) -> Apdu:
        data = b""
        if self.sw_version is not None:
            raw = self.sw_version.encode(bmp.TEXT_ENCODING)
            data = bcd.encode_var_length(len(raw), 3) + raw
        data += bytes([self.terminal_status])
        return Apdu(0x06, 0x0F, data + bmpset.encode(self))

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> StatusEnquiryCompletion:
        data = apdu.data
        if not data:
            raise ZvtDecodeError("status enquiry completion without terminal status")
        version, end = _optional_version(data)
        return bmpset.decode(cls, data, end + 1, sw_version=version, terminal_status=data[end])


def _optional_version(data: bytes) -> tuple[str | None, int]:
    """The LLLVAR software version at the start of `data` if there is one, and the offset
    of the terminal status byte. A version is there only when the first three bytes are
    length digits (F0..F9) and the status byte still fits after the text they announce."""
    head = data[:3]
    if len(head) < 3 or any(b >> 4 != 0xF or b & 0x0F > 9 for b in head):
        return None, 0
    end = 3 + bcd.decode_var_length(data, 0, 3)
    if len(data) < end + 1:
        return None, 0
    return data[3:end].decode(bmp.TEXT_ENCODING), end


@dataclass(frozen=True)
class AbortFromPt:
    """`06 1E`: the PT ends the command unsuccessfully: result code, optional BMPs."""

    CODE: ClassVar[int] = 0x061E
    result_code: int = 0
    tlv: tuple[Tlv, ...] | None = bmp_field(0x06)
    other: tuple[tuple[int, bmp.Value], ...] = ()

    def to_apdu(self) -> Apdu:
        return Apdu(0x06, 0x1E, bytes([self.result_code]) + bmpset.encode(self))

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> AbortFromPt:
        if not apdu.data:
            raise ZvtDecodeError("06 1E without result code")
        return bmpset.decode(cls, apdu.data, 1, result_code=apdu.data[0])
