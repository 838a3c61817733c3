"""Every ZVT message type survives encode -> bytes -> decode unchanged (hypothesis)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given

from posterm.protocol.zvt import apdu, framing, messages
from tests.fuzz.profiles import fuzz
from tests.zvt import strategies as s


def _wire_roundtrip(message: Any, answering: int | None = None) -> Any:
    raw = messages.encode(message).encode()
    return messages.decode(apdu.decode(raw), answering=answering)


@pytest.mark.parametrize("strategy", s.COMMANDS + s.PT_MESSAGES, ids=lambda x: repr(x)[:60])
def test_every_message_type_roundtrips(strategy: Any) -> None:
    @fuzz()
    @given(strategy)
    def check(message: Any) -> None:
        assert _wire_roundtrip(message) == message

    check()


@fuzz()
@given(s.STATUS_ENQUIRY_COMPLETION)
def test_status_enquiry_completion_roundtrips(message: Any) -> None:
    assert _wire_roundtrip(message, answering=0x0501) == message


@fuzz(4 / 3)
@given(s.PT_MESSAGES[3])
def test_status_information_roundtrips_through_a_serial_frame(message: Any) -> None:
    """GIVEN any 04 0F WHEN framed and parsed byte by byte THEN the same message comes out."""
    frame = framing.encode_frame(messages.encode(message).encode())
    parser = framing.FrameParser()
    events = []
    for i, byte in enumerate(frame):
        events += parser.feed(bytes([byte]), now=i * 0.001)
    (event,) = events
    assert isinstance(event, framing.Frame)
    assert messages.decode(apdu.decode(event.apdu)) == message
