"""ZVT commands the ECR sends to the payment terminal, as typed messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from posterm.protocol.zvt import bcd, bmpset
from posterm.protocol.zvt.apdu import Apdu
from posterm.protocol.zvt.bmpset import bmp_field
from posterm.protocol.zvt.errors import ZvtDecodeError, ZvtEncodeError
from posterm.protocol.zvt.tlv import Tlv

DEFAULT_PASSWORD = "000000"

# Registration config byte bits (zvt.md)
CFG_ECR_PRINTS_PAYMENT = 0x02
CFG_ECR_PRINTS_ADMIN = 0x04
CFG_PT_SENDS_INTERMEDIATE = 0x08
CFG_ECR_CONTROLS_PAYMENT = 0x10
CFG_ECR_CONTROLS_ADMIN = 0x20
CFG_PT_SENDS_PRINT = 0x80


def _password(value: str) -> bytes:
    if len(value) != 6:
        raise ZvtEncodeError("the ZVT password is 6 digits")
    return bcd.encode_digits(value, 3)


def _read_password(data: bytes) -> str:
    if len(data) < 3:
        raise ZvtDecodeError("password (3 BCD bytes) missing")
    return bcd.digits(data[:3])


@dataclass(frozen=True)
class Registration:
    CODE: ClassVar[int] = 0x0600
    password: str = DEFAULT_PASSWORD
    config_byte: int = 0
    currency: int | None = None  # untagged, 2 BCD bytes, only right after the config byte
    service_byte: int | None = bmp_field(0x03)
    tlv: tuple[Tlv, ...] | None = bmp_field(0x06)

    def to_apdu(self) -> Apdu:
        if not 0 <= self.config_byte <= 0xFF:
            raise ZvtEncodeError("config byte out of range")
        data = _password(self.password) + bytes([self.config_byte])
        if self.currency is not None:
            data += bcd.encode(self.currency, 2)
        return Apdu(0x06, 0x00, data + bmpset.encode(self))

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> Registration:
        data = apdu.data
        password = _read_password(data)
        if len(data) < 4:
            raise ZvtDecodeError("registration without config byte")
        offset, currency = 4, None
        # The currency has no BMP tag: it is there when what follows is not a BMP we expect.
        if len(data) >= 6 and data[4] not in (0x03, 0x06):
            currency, offset = bcd.decode(data[4:6]), 6
        return bmpset.decode(
            cls, data, offset, password=password, config_byte=data[3], currency=currency
        )


@dataclass(frozen=True)
class LogOff:
    CODE: ClassVar[int] = 0x0602

    def to_apdu(self) -> Apdu:
        return Apdu(0x06, 0x02)

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> LogOff:
        if apdu.data:
            raise ZvtDecodeError("log-off carries no data")
        return cls()


@dataclass(frozen=True)
class Authorization:
    CODE: ClassVar[int] = 0x0601
    amount: int | None = bmp_field(0x04)
    currency: int | None = bmp_field(0x49)
    payment_type: int | None = bmp_field(0x19)
    timeout: int | None = bmp_field(0x01)
    max_status_infos: int | None = bmp_field(0x02)
    tlv: tuple[Tlv, ...] | None = bmp_field(0x06)

    def to_apdu(self) -> Apdu:
        return Apdu(0x06, 0x01, bmpset.encode(self))

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> Authorization:
        return bmpset.decode(cls, apdu.data)


@dataclass(frozen=True)
class _PasswordCommand:
    """Commands whose data starts with the untagged 3-byte password, then BMPs."""

    CODE: ClassVar[int] = 0

    def to_apdu(self) -> Apdu:
        password: str = getattr(self, "password")  # noqa: B009
        return Apdu(self.CODE >> 8, self.CODE & 0xFF, _password(password) + bmpset.encode(self))

    @classmethod
    def from_apdu(cls, apdu: Apdu):  # type: ignore[no-untyped-def]
        return bmpset.decode(cls, apdu.data, 3, password=_read_password(apdu.data))


@dataclass(frozen=True)
class Reversal(_PasswordCommand):
    CODE: ClassVar[int] = 0x0630
    password: str = DEFAULT_PASSWORD
    receipt_no: int | None = bmp_field(0x87)
    amount: int | None = bmp_field(0x04)
    tlv: tuple[Tlv, ...] | None = bmp_field(0x06)


@dataclass(frozen=True)
class Refund(_PasswordCommand):
    CODE: ClassVar[int] = 0x0631
    password: str = DEFAULT_PASSWORD
    amount: int | None = bmp_field(0x04)
    currency: int | None = bmp_field(0x49)
    tlv: tuple[Tlv, ...] | None = bmp_field(0x06)


@dataclass(frozen=True)
class RepeatReceipt(_PasswordCommand):
    CODE: ClassVar[int] = 0x0620
    password: str = DEFAULT_PASSWORD
    service_byte: int | None = bmp_field(0x03)
    tlv: tuple[Tlv, ...] | None = bmp_field(0x06)


@dataclass(frozen=True)
class EndOfDay(_PasswordCommand):
    CODE: ClassVar[int] = 0x0650
    password: str = DEFAULT_PASSWORD
    tlv: tuple[Tlv, ...] | None = bmp_field(0x06)


@dataclass(frozen=True)
class StatusEnquiry:
    CODE: ClassVar[int] = 0x0501
    password: str | None = None
    service_byte: int | None = bmp_field(0x03)
    tlv: tuple[Tlv, ...] | None = bmp_field(0x06)

    def to_apdu(self) -> Apdu:
        if self.password is None and self.service_byte is not None:
            raise ZvtEncodeError("a status enquiry's service byte needs the password")
        head = b"" if self.password is None else _password(self.password)
        return Apdu(0x05, 0x01, head + bmpset.encode(self))

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> StatusEnquiry:
        data = apdu.data
        if not data:
            return cls()
        # The password is optional and untagged: read it first (what ECRs send), and only
        # when that cannot be the layout, read the data as BMPs without a password.
        try:
            return bmpset.decode(cls, data, 3, password=_read_password(data))
        except ZvtDecodeError:
            if data[0] != 0x06:
                raise
            return bmpset.decode(cls, data)


@dataclass(frozen=True)
class Abort:
    CODE: ClassVar[int] = 0x06B0

    def to_apdu(self) -> Apdu:
        return Apdu(0x06, 0xB0)

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> Abort:
        return cls()


@dataclass(frozen=True)
class Diagnosis:
    CODE: ClassVar[int] = 0x0670
    tlv: tuple[Tlv, ...] | None = bmp_field(0x06)

    def to_apdu(self) -> Apdu:
        return Apdu(0x06, 0x70, bmpset.encode(self))

    @classmethod
    def from_apdu(cls, apdu: Apdu) -> Diagnosis:
        return bmpset.decode(cls, apdu.data)


Command = (
    Registration
    | LogOff
    | Authorization
    | Reversal
    | Refund
    | RepeatReceipt
    | EndOfDay
    | StatusEnquiry
    | Abort
    | Diagnosis
)
COMMANDS: dict[int, type] = {
    c.CODE: c
    for c in (
        Registration,
        LogOff,
        Authorization,
        Reversal,
        Refund,
        RepeatReceipt,
        EndOfDay,
        StatusEnquiry,
        Abort,
        Diagnosis,
    )
}
