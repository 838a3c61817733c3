"""The ZVT client against the real PT simulator process, over a real pty and real TCP."""

from __future__ import annotations

from pathlib import Path

import pytest

from posterm.drivers.zvt.client import PaymentTerminal
from posterm.drivers.zvt.errors import (
    ZvtCommitFailed,
    ZvtDeclined,
    ZvtLinkError,
)
from posterm.drivers.zvt.results import Result
from posterm.protocol.zvt import apdu, bmp, messages
from posterm.protocol.zvt import pt_messages as pm
from tests.support.sim import PtSim, start_pt


def _pt(url: str, **kw: object) -> PaymentTerminal:
    pt = PaymentTerminal(url, **kw)  # type: ignore[arg-type]
    pt.register()
    return pt


@pytest.mark.slow
def test_sale_is_booked_with_full_result(link: str, sim: PtSim) -> None:
    """GIVEN a registered PT WHEN a sale of 12.50 runs THEN the result carries every field,
    the commit hook saw it before the end, and the ledger books one payment."""
    seen: list[Result] = []
    with _pt(link) as pt:
        result = pt.authorize(1250, on_result=seen.append)
    assert result.approved and result.result_code == 0
    assert result.amount == 1250 and result.currency == 978
    assert result.receipt_no is not None and result.trace is not None
    assert result.terminal_id == "29001234" and result.vu_number == "VU-POSTERM-0001"
    assert result.masked_pan == "476173******0119" and result.card_name == "VISA"
    assert result.aid == "a000000003101000" and result.date and result.time
    assert [r.type for r in result.receipts] == ["merchant", "customer"]
    assert "CUSTOMER COPY" in result.receipt_lines
    assert len(seen) == 1 and seen[0].receipt_no == result.receipt_no and not seen[0].receipts
    (entry,) = sim.entries()
    assert (entry["kind"], entry["amount"], entry["state"]) == ("payment", 1250, "booked")
    assert entry["receipt_no"] == result.receipt_no


@pytest.mark.slow
def test_amount_10_10_whose_bcd_holds_dle(link: str, sim: PtSim) -> None:
    with _pt(link) as pt:
        result = pt.authorize(1010)
    assert result.amount == 1010
    assert sim.entries()[0]["amount"] == 1010


@pytest.mark.parametrize(
    ("amount", "code"), [(1051, 0x33), (1064, 0x64), (1078, 0x78), (1033, 0x7A)]
)
@pytest.mark.slow
def test_declined_sale_charges_nothing(link: str, sim: PtSim, amount: int, code: int) -> None:
    with _pt(link) as pt, pytest.raises(ZvtDeclined) as info:
        pt.authorize(amount)
    assert info.value.code == code and not info.value.result.approved
    assert sim.entries() == []


@pytest.mark.slow
def test_pin_retry_then_approved(link: str, sim: PtSim) -> None:
    statuses: list[int] = []
    with _pt(link, on_progress=lambda m: statuses.append(m.status)) as pt:
        assert pt.authorize(1055).approved
    assert 0x15 in statuses


@pytest.mark.slow
def test_reversal_of_the_sale(link: str, sim: PtSim) -> None:
    with _pt(link) as pt:
        sale = pt.authorize(2000)
        assert sale.receipt_no is not None
        rev = pt.reverse(sale.receipt_no)
        assert rev.approved and rev.amount == 2000
        with pytest.raises(ZvtDeclined) as again:
            pt.reverse(sale.receipt_no)
    assert again.value.code == 0xB4
    states = {(e["kind"], e["state"]) for e in sim.entries()}
    assert states == {("payment", "reversed"), ("reversal", "booked")}


@pytest.mark.slow
def test_refund(link: str, sim: PtSim) -> None:
    with _pt(link) as pt:
        result = pt.refund(700)
    assert result.approved and result.amount == 700
    assert [(e["kind"], e["state"]) for e in sim.entries()] == [("refund", "booked")]


@pytest.mark.slow
def test_repeat_receipt_returns_the_last_booked(link: str, sim: PtSim) -> None:
    with _pt(link) as pt:
        sale = pt.authorize(1500)
        again = pt.repeat_receipt()
    assert again.receipt_no == sale.receipt_no and again.amount == 1500
    assert "** DUPLICATE **" in again.receipt_lines
    assert len(sim.entries()) == 1


@pytest.mark.slow
def test_end_of_day_closes_the_batch_and_ends_reversal(link: str, sim: PtSim) -> None:
    with _pt(link) as pt:
        sale = pt.authorize(1000)
        pt.authorize(250)
        eod = pt.end_of_day()
        assert eod.approved and eod.totals == bytes.fromhex("01 0002 000000001250")
        assert eod.receipt("admin")[-1] == "BATCH CLOSED"
        with pytest.raises(ZvtDeclined) as info:
            pt.reverse(sale.receipt_no or 0)
    assert info.value.code == 0xB5


@pytest.mark.slow
def test_status_enquiry_and_diagnosis(link: str, sim: PtSim) -> None:
    with _pt(link) as pt:
        status = pt.status_enquiry()
        assert status.terminal_status == 0 and status.sw_version == "posterm-sim PT 1.0"
        assert pt.diagnosis().approved
        assert pt.log_off().approved


@pytest.mark.slow
def test_print_lines_without_text_blocks(link: str, sim: PtSim) -> None:
    """GIVEN registration without TLV 26 (no 06 D3) THEN the receipt comes as 06 D1 lines."""
    with PaymentTerminal(link) as pt:
        pt.register(text_blocks=False)
        result = pt.authorize(300)
    assert [r.type for r in result.receipts] == [None, None]
    assert result.receipts[1].lines[-1] == "CUSTOMER COPY"


@pytest.mark.slow
def test_pt_prints_itself_when_config_says_so(link: str, sim: PtSim) -> None:
    with PaymentTerminal(link) as pt:
        pt.register(config_byte=0x08)
        assert pt.authorize(300).receipts == ()


@pytest.mark.slow
def test_text_block_over_255_bytes_arrives_whole(link: str, sim: PtSim) -> None:
    with _pt(link) as pt:
        result = pt.authorize(1200)
    customer = result.receipt("customer")
    raw = pm.PrintTextBlock.from_lines(pm.RECEIPT_CUSTOMER, customer).to_apdu().encode()
    assert len(raw) - 5 > 255 and raw[2] == 0xFF  # extended length on the wire
    assert customer[0] == "POSTERM SIMULATED PT" and customer[-1] == "CUSTOMER COPY"


@pytest.mark.slow
def test_commit_hook_failure_makes_the_pt_reverse(link: str, sim: PtSim) -> None:
    """Money rule 2: the caller cannot commit -> negative ack -> the PT auto-reverses."""

    def fail(result: Result) -> None:
        raise OSError("disk full")

    with _pt(link) as pt, pytest.raises(ZvtCommitFailed):
        pt.authorize(990, on_result=fail)
    assert [(e["amount"], e["state"]) for e in sim.entries()] == [(990, "auto_reversed")]


@pytest.mark.slow
def test_link_drop_before_status_leaves_no_debit(link: str, sim: PtSim) -> None:
    with _pt(link, t4=10.0) as pt:
        sim.fault("drop_before_status")
        with pytest.raises(ZvtLinkError):
            pt.authorize(4200)
    assert [(e["amount"], e["state"]) for e in sim.entries()] == [(4200, "auto_reversed")]


@pytest.mark.slow
def test_link_drop_before_completion_is_recovered_by_repeat_receipt(link: str, sim: PtSim) -> None:
    seen: list[Result] = []
    with _pt(link, t4=10.0) as pt:
        sim.fault("drop_before_completion")
        with pytest.raises(ZvtLinkError):
            pt.authorize(4300, on_result=seen.append)
    assert seen and seen[0].approved
    with PaymentTerminal(link) as pt:  # the cable is back
        recovered = pt.repeat_receipt()
    assert recovered.receipt_no == seen[0].receipt_no and recovered.amount == 4300
    assert [(e["amount"], e["state"]) for e in sim.entries()] == [(4300, "booked")]


@pytest.mark.slow
def test_pt_refusing_refunds_says_83(link: str, sim: PtSim) -> None:
    sim.fault("refuse_refunds")
    with _pt(link) as pt, pytest.raises(ZvtDeclined) as info:
        pt.refund(100)
    assert info.value.code == 0x83 and "function not possible" in str(info.value)
    assert sim.entries() == []


@pytest.mark.slow
def test_t4_is_reset_by_intermediate_status(tmp_path: object, sim: PtSim, link: str) -> None:
    """GIVEN T4 = 1.2 s and a slow host taking ~3 s with a 04 FF each second THEN the sale
    completes, because every 04 FF restarts T4."""
    with _pt(link, t4=1.2) as pt:
        assert pt.authorize(1099).approved


@pytest.mark.slow
def test_t4_is_set_by_the_timeout_byte_of_04ff(tmp_path: Path) -> None:
    """GIVEN a client T4 of 0.5 s and a slow host that sends a 04 FF only every ~1 s, each
    with timeout byte 1 (minute) THEN the sale completes: the byte set T4 to a minute.
    (Without honouring it, T4 would expire between two 04 FFs.)"""
    sim = start_pt(tmp_path, "--status-timeout", "1", "--slow-seconds", "3", tcp=True, pty=False)
    try:
        assert sim.tcp_url
        with _pt(sim.tcp_url, t4=0.5) as pt:
            assert pt.authorize(2099).approved
    finally:
        sim.stop()


def test_track_data_is_dropped_on_arrival() -> None:
    """GIVEN a 04 0F carrying track 2 (BMP 23) WHEN decoded THEN no field holds it."""
    track = bytes([0x23]) + bmp.encode_value(bmp.SPECS[0x23], b"\x67\x25\x59\x12\x34\x56\x7d\x25")
    raw = apdu.Apdu(0x04, 0x0F, bytes.fromhex("27 00") + track + bytes.fromhex("04 000000000100"))
    message = messages.decode(apdu.decode(raw.encode()))
    assert message == pm.StatusInformation(result_code=0, amount=100)
    assert "672559" not in repr(message)


def test_full_pan_from_a_pt_is_masked_on_arrival() -> None:
    si = pm.StatusInformation(pan="4761739001010119")
    decoded = messages.decode(apdu.decode(si.to_apdu().encode()))
    assert decoded.pan == "476173******0119"
