"""The declared wire schemas of docs/mqtt.md, one per message: the event envelope and each
event type's data, telemetry, status, command replies. msgspec Structs decode and check
them in one pass in C: allowed fields only, types, string lengths and character sets,
integer and float bounds, real RFC 3339 times in a sane range, and a size cap per topic.

postermd checks an event's data against its type's schema before it journals it; the host
checks every message before anything of it is stored. What does not fit raises
`WireError` with a reason that names the field, never a value.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal, Union, get_args

import msgspec
from msgspec import Meta, Struct

MAX_EVENT = 64 * 1024  # bytes of one event message (a receipt event carries its lines)
MAX_TELEMETRY = 8 * 1024
MAX_STATUS = 2 * 1024
MAX_REPLY = 64 * 1024
MAX_SIZES = {
    "events": MAX_EVENT,
    "telemetry": MAX_TELEMETRY,
    "status": MAX_STATUS,
    "reply": MAX_REPLY,
}
MAX_SEQ = 2**63 - 1  # what the store's integer columns hold (SQLite INTEGER, PG BIGINT)
MAX_COUNT = 2**53  # counters and byte sizes: exact in a JSON number everywhere
YEARS = (2000, 2199)  # a timestamp outside these is a broken clock or a forged message

# No control character anywhere in a message's strings: JSON must escape them, so one scan
# of the bytes finds them (an odd run of backslashes before the escape); lone surrogates
# are refused by the decoder itself. Cheaper than a pattern on every free-text field.
_CONTROL = re.compile(rb"(?<!\\)(?:\\\\)*\\(?:u00[01][0-9A-Fa-f]|u007[Ff]|[bfnrt])")
RFC3339 = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$"
UUID7 = r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"

Tid = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
TxnId = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
CmdId = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
EventId = Annotated[str, Meta(pattern=UUID7)]
Stamp = Annotated[str, Meta(pattern=RFC3339)]
Word = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_.]{0,63}$")]
Text = Annotated[str, Meta(max_length=500)]
Name = Annotated[str, Meta(max_length=100)]
Line = Annotated[str, Meta(max_length=200)]
# "12.50": major units, at most 3 decimals (the currency's exponent is checked by the host
# where it needs the minor units); a batch's net may be negative
Amount = Annotated[str, Meta(pattern=r"^[0-9]{1,15}(\.[0-9]{1,3})?$")]
SignedAmount = Annotated[str, Meta(pattern=r"^-?[0-9]{1,15}(\.[0-9]{1,3})?$")]
Currency = Annotated[str, Meta(pattern=r"^[A-Z]{3}$")]
# the PT's masked PAN: at most the first 6 and the last 4 digits, '*' between (rule 7)
MaskedPan = Annotated[
    str, Meta(pattern=r"^[0-9]{0,6}\*{0,15}[0-9]{0,4}$", min_length=4, max_length=19)
]
Count = Annotated[int, Meta(ge=0, le=MAX_COUNT)]
Number = Annotated[int, Meta(ge=0, le=999_999_999)]  # PT receipt, trace and batch numbers
Seconds = Annotated[float, Meta(ge=0, le=10**10)]

EventType = Literal[
    "sale.approved",
    "sale.declined",
    "sale.in_doubt",
    "sale.recovered",
    "void.completed",
    "void.in_doubt",
    "refund.requested",
    "refund.approved",
    "refund.rejected",
    "refund.completed",
    "refund.failed",
    "refund.in_doubt",
    "receipt.printed",
    "receipt.pending",
    "receipt.recovered",
    "receipt.reprinted",
    "batch.closed",
    "fault.raised",
    "fault.cleared",
]
TxnState = Literal[
    "awaiting_approval",
    "rejected",
    "in_doubt",
    "approved_unconfirmed",
    "approved",
    "declined",
    "failed",
    "not_charged",
    "voided",
]


class WireError(ValueError):
    """A message that does not fit its declared schema; `reason` names what (never the
    value: it may be anything a broken or hostile sender wrote)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Strict(Struct, forbid_unknown_fields=True, omit_defaults=True):
    pass


class Notify(_Strict):
    """A refund's customer contact (protocol/contact.py checks it in full)."""

    email: (
        Annotated[str, Meta(max_length=254, pattern=r"^[^\s\x00-\x1f\x7f<>\"]+@[^\s@]+$")] | None
    ) = None
    phone: Annotated[str, Meta(pattern=r"^\+[1-9][0-9]{6,14}$")] | None = None
    lang: Literal["en", "de", "zh"] | None = None


class TxnData(_Strict):
    """A payment operation's events (sale.*, void.*, refund.*): the transaction as the
    terminal journaled it, and what the event adds."""

    txn_id: TxnId
    kind: Literal["sale", "refund", "void", "eod"]
    state: TxnState
    amount: Amount
    currency: Currency
    ref_txn: TxnId | None = None
    receipt_no: Number | None = None
    trace: Number | None = None
    card_name: Name | None = None
    masked_pan: MaskedPan | None = None
    reason: Word | None = None
    reason_text: Text | None = None
    batch_no: Number | None = None
    outcome: Literal["kept", "not_charged"] | None = None
    resolved_by: Text | None = None
    why: Text | None = None
    by: Text | None = None
    notify: Notify | None = None


class ReceiptData(_Strict):
    """receipt.*: which receipt, and its text lines as the customer gets them."""

    receipt_id: Count
    txn_id: TxnId
    copy: Literal["customer", "merchant"]
    mark: Literal["original", "recovered", "duplicate"]
    why: Text | None = None
    lines: Annotated[list[Line], Meta(max_length=400)] | None = None


class BatchData(_Strict):
    """batch.closed: the day's totals as the terminal journaled them, and the PT's own."""

    txn_id: TxnId
    batch_no: Number
    currency: Currency
    sales: SignedAmount
    refunds: SignedAmount
    voids: SignedAmount
    net: SignedAmount
    sales_count: Count = 0
    refunds_count: Count = 0
    voids_count: Count = 0
    pt_total: Amount | None = None
    pt_trace: Number | None = None


class FaultData(_Strict):
    """fault.raised / fault.cleared: the terminal's mode and why."""

    state: Word
    reason: Text | None = None
    was: Text | None = None


# each event type's data schema, by the type's family (the types are EventType's)
_FAMILY: dict[str, type[Struct]] = {
    "sale": TxnData,
    "void": TxnData,
    "refund": TxnData,
    "receipt": ReceiptData,
    "batch": BatchData,
    "fault": FaultData,
}
DATA: dict[str, type[Struct]] = {t: _FAMILY[t.split(".")[0]] for t in get_args(EventType)}


class Envelope(_Strict):
    v: Literal[1]
    event_id: EventId
    terminal: Tid
    seq: Annotated[int, Meta(ge=1, le=MAX_SEQ)]
    type: EventType
    occurred_at: Stamp
    data: msgspec.Raw


class _Event(_Strict, tag_field="type"):
    """The envelope as the host decodes it: one Struct per event type (tagged by `type`)
    whose `data` is that type's schema, so envelope and data are checked in one pass."""

    v: Literal[1]
    event_id: EventId
    terminal: Tid
    seq: Annotated[int, Meta(ge=1, le=MAX_SEQ)]
    occurred_at: Stamp


_EVENTS = tuple(
    msgspec.defstruct(f"Event_{t.replace('.', '_')}", [("data", DATA[t])], bases=(_Event,), tag=t)
    for t in get_args(EventType)
)


class Telemetry(_Strict):
    """What a terminal reports every `telemetry_s` (daemon/sync/telemetry.py)."""

    ts: Stamp | None = None
    terminal: Tid | None = None
    period_s: Annotated[float, Meta(gt=0, le=86_400)] | None = None
    mode: Word | None = None
    reason: Text | None = None
    selling: bool | None = None
    pt_link: Literal["up", "down"] | None = None
    printer: Text | None = None
    paper: Word | None = None
    outbox_depth: Count | None = None
    oldest_unsent_age_s: Seconds | None = None
    pending_receipts: Count | None = None
    in_doubt: Count | None = None
    awaiting_approval: Count | None = None
    journal_bytes: Count | None = None
    disk_free_bytes: Count | None = None
    uptime_s: Seconds | None = None
    version: Name | None = None
    cpu_temp_c: Annotated[float, Meta(ge=-100, le=200)] | None = None
    clock_synchronized: bool | None = None
    throttled_now: Annotated[list[Word], Meta(max_length=32)] | None = None
    throttled_since_boot: Annotated[list[Word], Meta(max_length=32)] | None = None
    update_lock: Text | None = None


class Status(_Strict):
    """A terminal's retained birth or last will."""

    online: bool
    session: Annotated[int, Meta(ge=0, le=MAX_SEQ)]
    boot_id: Name | None = None
    journal_id: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")] | None = None
    version: Name | None = None
    ts: Stamp | None = None


class Reply(_Strict):
    """A terminal's answer to a command; `result` is the command's own JSON (bounded by
    the message's size)."""

    cmd_id: CmdId | None
    ok: bool
    result: Any = None
    code: Word | None = None
    error: Text | None = None
    at: Stamp | None = None


class HostKeyArg(_Strict):
    """One host key of `keys.update`: the Ed25519 public key's 32 bytes in base64, and the
    end of its acceptance (none: the current key)."""

    key: Annotated[str, Meta(pattern=r"^[A-Za-z0-9+/]{43}=$")]
    until: Stamp | None = None


class Args(_Strict):
    """A command's arguments (docs/mqtt.md): the transaction it is about, who decided, the
    verdict on an in-doubt one (`txn.resolve`), where a resend starts, the host keys of a
    key rotation."""

    txn: TxnId | None = None
    by: Name | None = None
    outcome: Literal["charged", "not-charged"] | None = None
    from_seq: Annotated[int, Meta(ge=1, le=MAX_SEQ)] | None = None
    keys: Annotated[list[HostKeyArg], Meta(min_length=1, max_length=4)] | None = None


class Command(_Strict):
    """A command host -> terminal (protocol/mqtt/commands.py checks expiry and signature)."""

    v: Literal[1]
    cmd_id: CmdId
    terminal: Tid
    name: Literal[
        "refund.approve",
        "refund.reject",
        "receipt.reprint",
        "batch.close",
        "txn.resolve",
        "resend",
        "rebirth",
        "ping",
        "keys.update",
    ]
    args: Args
    issued_at: Stamp
    expires_at: Stamp
    sig: Annotated[str, Meta(max_length=512)] | None = None  # checked by its verification


class Ack(_Strict):
    """The host's ack of stored events."""

    event_ids: Annotated[list[EventId], Meta(min_length=1, max_length=1000)]


_EVENT: msgspec.json.Decoder[Any] = msgspec.json.Decoder(Union[_EVENTS])  # noqa: UP007
_ACK = msgspec.json.Decoder(Ack)
Decoders = dict[str, msgspec.json.Decoder[Any]]
_DATA: Decoders = {name: msgspec.json.Decoder(kind) for name, kind in DATA.items()}
_LEAVES: Decoders = {
    "telemetry": msgspec.json.Decoder(Telemetry),
    "status": msgspec.json.Decoder(Status),
    "reply": msgspec.json.Decoder(Reply),
}
_ANY = msgspec.json.Decoder()


def check_time(value: str, name: str) -> None:
    """A timestamp the pattern let through must also be a real moment in a sane range:
    no 30 February, month 13, second 60 or offset +25:00."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise WireError(f"{name}: not a real RFC 3339 time") from None
    if not YEARS[0] <= moment.year <= YEARS[1]:
        raise WireError(f"{name}: year outside {YEARS[0]}-{YEARS[1]}")


def _size(payload: bytes, leaf: str) -> None:
    if len(payload) > MAX_SIZES[leaf]:
        raise WireError(f"{leaf}: {len(payload)} bytes, over the {MAX_SIZES[leaf]} allowed")
    if leaf != "reply" and b"\\" in payload and _CONTROL.search(payload):
        # (a reply's error text is the terminal's own message, shown escaped)
        raise WireError(f"{leaf}: a control character in a string")


def _why(exc: Exception) -> str:
    return f"does not fit its schema: {exc}"[:300]


def decode_event(payload: bytes, terminal: str) -> dict[str, Any]:
    """An event message as plain JSON (dicts), checked against the envelope and its
    type's data schema in one pass (`_Event`'s tagged union); the envelope's terminal must
    be the topic's."""
    _size(payload, "events")
    try:
        env = _EVENT.decode(payload)
    except msgspec.MsgspecError as exc:
        raise WireError(f"event {_why(exc)}") from None
    if env.terminal != terminal:
        raise WireError("event: its terminal is not the topic's")
    check_time(env.occurred_at, "occurred_at")
    out: dict[str, Any] = _ANY.decode(payload)
    return out


def decode(payload: bytes, leaf: str) -> dict[str, Any]:
    """A telemetry, status or reply message as plain JSON, checked against its schema."""
    _size(payload, leaf)
    try:
        message = _LEAVES[leaf].decode(payload)
    except msgspec.MsgspecError as exc:
        raise WireError(f"{leaf} {_why(exc)}") from None
    stamp = getattr(message, "ts", None) or getattr(message, "at", None)
    if stamp is not None:
        check_time(stamp, "ts")
    out: dict[str, Any] = _ANY.decode(payload)
    return out


def check_event_data(type_: str, data: dict[str, Any]) -> None:
    """postermd, before it journals an event: its data fits the type's schema (a bug that
    would put something else in the outbox fails here, not at the host)."""
    kind = DATA.get(type_)
    if kind is None:
        raise WireError(f"unknown event type {type_!r}")
    try:
        text = msgspec.json.encode(data)
        _DATA[type_].decode(text)
    except (msgspec.MsgspecError, TypeError, UnicodeEncodeError) as exc:
        raise WireError(f"{type_} data {_why(exc)}") from None
    if b"\\" in text and _CONTROL.search(text):
        raise WireError(f"{type_} data: a control character in a string")


def check_command(envelope: dict[str, Any]) -> None:
    """A command's envelope, already read as JSON, against its schema."""
    try:
        msgspec.convert(envelope, Command, strict=True)
        text = msgspec.json.encode(envelope)
    except (msgspec.MsgspecError, TypeError, UnicodeEncodeError) as exc:
        raise WireError(f"command {_why(exc)}") from None
    if b"\\" in text and _CONTROL.search(text):
        raise WireError("command: a control character in a string")
    for name in ("issued_at", "expires_at"):
        check_time(envelope[name], name)


def decode_ack(payload: bytes) -> list[str]:
    """The event ids of an ack message."""
    try:
        return list(_ACK.decode(payload).event_ids)
    except msgspec.MsgspecError as exc:
        raise WireError(f"ack {_why(exc)}") from None
