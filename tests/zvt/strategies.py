"""Hypothesis strategies for every ZVT message type."""

from __future__ import annotations

from hypothesis import strategies as st

from posterm.protocol.zvt import bmp
from posterm.protocol.zvt import commands as c
from posterm.protocol.zvt import pt_messages as p
from posterm.protocol.zvt.tlv import Tlv

byte = st.integers(0, 255)
password = st.text("0123456789", min_size=6, max_size=6)
text = st.text(
    st.characters(codec="cp437", exclude_characters="\x00", exclude_categories=("Cs",)),
    max_size=40,
)


def bcd_int(nbytes: int) -> st.SearchStrategy[int]:
    return st.integers(0, 10 ** (nbytes * 2) - 1)


def digits(n: int) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=n, max_size=n)


def _primitive_tag() -> st.SearchStrategy[int]:
    single = st.integers(0, 0xFF).filter(lambda t: t & 0x1F != 0x1F and not t & 0x20)
    double = st.integers(0, 0x7F).map(lambda b: 0x1F00 | b)  # 1F xx, primitive
    return single | double


def _tlv_tree(depth: int = 2) -> st.SearchStrategy[Tlv]:
    leaf = st.builds(Tlv, _primitive_tag(), st.binary(max_size=300))
    if depth == 0:
        return leaf
    constructed_tag = st.sampled_from([0x25, 0x24, 0x26, 0xE4, 0x3F20 | 0x00])
    node = st.builds(
        lambda tag, kids: Tlv(tag, children=tuple(kids)),
        constructed_tag,
        st.lists(_tlv_tree(depth - 1), max_size=4),
    )
    return leaf | node


tlvs = st.lists(_tlv_tree(), max_size=4).map(tuple)
opt = st.none


def maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:  # type: ignore[type-arg]
    return st.none() | strategy


masked_pan = st.builds(
    lambda head, mid, tail: head + "*" * mid + tail, digits(6), st.integers(3, 9), digits(4)
)

COMMANDS = [
    st.builds(
        c.Registration,
        password=password,
        config_byte=byte,
        currency=maybe(st.sampled_from([978, 156, 756, 840])),
        service_byte=maybe(byte),
        tlv=maybe(tlvs),
    ),
    st.builds(c.LogOff),
    st.builds(
        c.Authorization,
        amount=maybe(bcd_int(6)),
        currency=maybe(bcd_int(2)),
        payment_type=maybe(byte),
        timeout=maybe(byte),
        max_status_infos=maybe(byte),
        tlv=maybe(tlvs),
    ),
    st.builds(
        c.Reversal,
        password=password,
        receipt_no=maybe(bcd_int(2)),
        amount=maybe(bcd_int(6)),
        tlv=maybe(tlvs),
    ),
    st.builds(
        c.Refund,
        password=password,
        amount=maybe(bcd_int(6)),
        currency=maybe(bcd_int(2)),
        tlv=maybe(tlvs),
    ),
    st.builds(c.RepeatReceipt, password=password, service_byte=maybe(byte), tlv=maybe(tlvs)),
    st.builds(c.EndOfDay, password=password, tlv=maybe(tlvs)),
    st.builds(c.StatusEnquiry, password=password, service_byte=maybe(byte), tlv=maybe(tlvs))
    # Without the password only the empty form is unambiguous: "06 LL ..." may read as a
    # password, and the decoder prefers the password (what ECRs send).
    | st.builds(c.StatusEnquiry),
    st.builds(c.Abort),
    st.builds(c.Diagnosis, tlv=maybe(tlvs)),
]

PT_MESSAGES = [
    st.builds(p.PositiveAck),
    st.builds(p.NegativeAck, error=byte),
    st.builds(p.IntermediateStatus, status=byte, timeout=maybe(bcd_int(1)))
    | st.builds(p.IntermediateStatus, status=byte, timeout=bcd_int(1), tlv=tlvs),
    st.builds(
        p.StatusInformation,
        result_code=maybe(byte),
        amount=maybe(bcd_int(6)),
        currency=maybe(bcd_int(2)),
        trace=maybe(bcd_int(3)),
        original_trace=maybe(bcd_int(3)),
        time=maybe(digits(6)),
        date=maybe(digits(4)),
        expiry=maybe(digits(4)),
        card_seq_no=maybe(bcd_int(2)),
        payment_type=maybe(byte),
        pan=maybe(masked_pan),
        terminal_id=maybe(digits(8)),
        vu_number=maybe(text.map(lambda s: s[:15].rstrip(" "))),
        aid=maybe(st.binary(min_size=8, max_size=8)),
        additional_text=maybe(text),
        totals=maybe(st.binary(max_size=200)),
        receipt_no=maybe(bcd_int(2)),
        turnover_no=maybe(bcd_int(3)),
        card_type=maybe(byte),
        card_name=maybe(text),
        network_card_type=maybe(byte),
        host_result_code=maybe(byte),
        date_full=maybe(digits(6)),
        aid_parameter=maybe(st.binary(min_size=5, max_size=5)),
        tlv=maybe(tlvs),
    ),
    st.builds(p.PrintLine, attribute=byte, text=text),
    st.builds(p.PrintTextBlock, tlv=tlvs),
    st.builds(
        p.Completion,
        status_byte=maybe(byte),
        terminal_id=maybe(digits(8)),
        currency=maybe(bcd_int(2)),
        tlv=maybe(tlvs),
    ),
    st.builds(p.AbortFromPt, result_code=byte, tlv=maybe(tlvs)),
]

STATUS_ENQUIRY_COMPLETION = st.builds(
    p.StatusEnquiryCompletion, sw_version=maybe(text), terminal_status=byte, tlv=maybe(tlvs)
)


def bmp_value(spec: bmp.BmpSpec) -> st.SearchStrategy:  # type: ignore[type-arg]
    """Any value BMP `spec` can carry (its encoder takes it, its decoder gives it back)."""
    kind, n = spec.kind, spec.length
    no_nul = text.map(lambda t: t.replace("\x00", ""))
    strategies: dict[bmp.Kind, st.SearchStrategy] = {  # type: ignore[type-arg]
        bmp.Kind.BYTE: byte,
        bmp.Kind.BCD_INT: bcd_int(n),
        bmp.Kind.BCD_OR_NONE: bcd_int(n) | st.just(bmp.NO_NUMBER),
        bmp.Kind.BCD_STR: digits(n * 2),
        bmp.Kind.ASCII: no_nul.map(lambda t: t[:n].rstrip(" ")),
        bmp.Kind.RAW: st.binary(min_size=n, max_size=n),
        bmp.Kind.UINT: st.integers(0, (1 << (8 * n)) - 1),
        bmp.Kind.LL_TEXT: no_nul,
        bmp.Kind.LLL_TEXT: no_nul,
        bmp.Kind.LL_RAW: st.binary(max_size=99),
        bmp.Kind.LLL_RAW: st.binary(max_size=999),
        bmp.Kind.LL_BCD: st.text("0123456789", max_size=60).filter(lambda d: len(d) % 2 == 0),
        bmp.Kind.PAN: masked_pan,
        bmp.Kind.TLV: tlvs,
    }
    return strategies[kind]


# a typical 04 0F: 17 BMPs (amount, PAN, card name, VU number ...); bench/bench_zvt.py's
# codec figure and tests/zvt/test_codec_cost.py's counts are of this message
TYPICAL_040F = p.StatusInformation(
    result_code=0,
    amount=1250,
    currency=978,
    trace=123,
    time="123456",
    date="1122",
    expiry="2812",
    card_seq_no=1,
    payment_type=0x40,
    pan="476173******0119",
    terminal_id="29001234",
    vu_number="VU-POSTERM-0001",
    aid=bytes.fromhex("A000000003101000"),
    receipt_no=42,
    turnover_no=4242,
    card_type=0x0A,
    card_name="VISA",
)
