"""Wire faults of the PT simulator and what the client does: resend, NAK, reassemble."""

from __future__ import annotations

import time

import pytest
import serial

from posterm.drivers.zvt.client import PaymentTerminal
from posterm.drivers.zvt.errors import ZvtLinkError
from posterm.protocol.zvt import commands, framing
from posterm.protocol.zvt.apdu import decode
from tests.support.sim import PtSim


def _sale(url: str, amount: int = 1000) -> int:
    with PaymentTerminal(url, t4=20.0) as pt:
        pt.register()
        result = pt.authorize(amount)
        assert result.approved
        return result.receipt_no or 0


@pytest.mark.slow
def test_serial_corrupt_byte_is_naked_and_resent(sim: PtSim) -> None:
    """GIVEN the PT corrupts one byte of its next frame THEN the CRC fails, the client
    NAKs, the PT resends and the sale completes once."""
    assert sim.serial_url
    sim.fault("corrupt_byte")
    _sale(sim.serial_url)
    assert [e["state"] for e in sim.entries()] == ["booked"]
    assert "corrupt_byte" not in sim.ctl(faults=True)["faults"]


@pytest.mark.slow
def test_serial_nak_on_first_try_makes_the_client_resend(sim: PtSim) -> None:
    assert sim.serial_url
    sim.fault("nak_first")
    _sale(sim.serial_url)
    assert len(sim.entries()) == 1


@pytest.mark.slow
def test_serial_withheld_ack_is_resent_after_t2(sim: PtSim) -> None:
    """GIVEN the PT does not ACK the first try THEN the client waits T2 and sends again."""
    assert sim.serial_url
    sim.fault("withhold_acks")
    started = time.monotonic()
    _sale(sim.serial_url)
    assert time.monotonic() - started >= 4.5  # T2 = 5 s passed once
    assert len(sim.entries()) == 1


@pytest.mark.parametrize("fault", ["split_writes", "merge_writes"])
@pytest.mark.slow
def test_tcp_split_and_merged_writes_are_reassembled(sim: PtSim, fault: str) -> None:
    assert sim.tcp_url
    sim.fault(fault)
    first = _sale(sim.tcp_url)
    second = _sale(sim.tcp_url, 1010)
    assert second == first + 1
    assert [e["amount"] for e in sim.entries()] == [1000, 1010]


def test_nobody_listening_is_a_link_error(tmp_path: object) -> None:
    with pytest.raises(ZvtLinkError), PaymentTerminal("tcp://127.0.0.1:1", connect_timeout=2) as pt:
        pt.status_enquiry()


def test_missing_serial_device_is_a_link_error(tmp_path: object) -> None:
    with pytest.raises(ZvtLinkError), PaymentTerminal("serial:///nonexistent/tty") as pt:
        pt.status_enquiry()


@pytest.mark.slow
def test_ecr_dying_before_the_status_ack_leaves_no_debit_on_serial(sim: PtSim) -> None:
    """GIVEN an ECR that sends a sale and dies after the 04 0F arrived, before acking it
    WHEN a new ECR process opens the port and asks for the last receipt THEN the PT has
    auto-reversed the payment and says so in its ledger; the stale frames are skipped."""
    assert sim.serial_url
    with PaymentTerminal(sim.serial_url) as pt:
        pt.register()
        kept = pt.authorize(500)
    port = serial.Serial(sim.serial_url.split("://")[1].split("?")[0], 9600, timeout=0.2)
    parser = framing.FrameParser()
    sale = commands.Authorization(amount=777, currency=978).to_apdu().encode()
    port.write(framing.encode_frame(sale))
    seen = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and 0x040F not in seen:
        for event in parser.feed(port.read(256), time.monotonic()):
            if isinstance(event, framing.Frame):
                port.write(b"\x06")
                unit = decode(event.apdu)
                seen.append(unit.code)
                if unit.code not in (0x040F, 0x8000):  # ack what needs it, not the 04 0F
                    port.write(framing.encode_frame(b"\x80\x00\x00"))
    port.close()  # the ECR dies: no 80 00 for the 04 0F
    assert 0x040F in seen
    with PaymentTerminal(sim.serial_url) as pt:
        last = pt.repeat_receipt()
    assert last.receipt_no == kept.receipt_no
    assert [(e["amount"], e["state"]) for e in sim.entries()] == [
        (500, "booked"),
        (777, "auto_reversed"),
    ]
