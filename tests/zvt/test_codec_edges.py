"""Edge cases of real terminals the codec must read: a status enquiry completion without a
software version, and a receipt number of FF FF ("none")."""

from __future__ import annotations

import pytest

from posterm.drivers.zvt.results import ResultBuilder
from posterm.protocol.zvt import apdu, bmp, messages
from posterm.protocol.zvt import pt_messages as pm
from posterm.protocol.zvt.errors import ZvtDecodeError


def _decode(hexbytes: str, answering: int | None = 0x0501) -> object:
    return messages.decode(apdu.decode(bytes.fromhex(hexbytes)), answering=answering)


@pytest.mark.parametrize("status", [0x00, 0xDC, 0xF0, 0xF9])
def test_status_byte_alone_is_a_completion_without_version(status: int) -> None:
    done = _decode(f"060F01{status:02X}")
    assert done == pm.StatusEnquiryCompletion(sw_version=None, terminal_status=status)
    assert messages.encode(done).encode() == bytes.fromhex(f"060F01{status:02X}")


def test_length_digits_that_overrun_mean_no_version() -> None:
    # F0 F0 F5 would announce 5 bytes of text; there are not enough: F0 is the status and
    # the rest must then be BMPs, F0 is no BMP -> a clear decode error, never a guess.
    with pytest.raises(ZvtDecodeError):
        _decode("060F03F0F0F5")


def test_empty_version_is_kept_apart_from_no_version() -> None:
    done = _decode("060F04F0F0F000")
    assert done.sw_version == "" and done.terminal_status == 0
    assert messages.encode(done).encode() == bytes.fromhex("060F04F0F0F000")


def test_completion_with_no_data_is_an_error() -> None:
    with pytest.raises(ZvtDecodeError, match="without terminal status"):
        _decode("060F00")


def test_receipt_number_ff_ff_reads_as_none_and_writes_back() -> None:
    abort = _decode("061E04B887FFFF", answering=None)
    assert abort.result_code == 0xB8 and abort.other == ((0x87, bmp.NO_NUMBER),)
    assert messages.encode(abort).encode() == bytes.fromhex("061E04B887FFFF")


def test_receipt_number_ff_ff_is_no_receipt_number_in_a_result() -> None:
    info = _decode("040F05270087FFFF", answering=None)
    builder = ResultBuilder("authorize")
    assert builder.status(info).receipt_no is None


@pytest.mark.parametrize("raw", ["87FF12", "8712FF", "87FFF0"])
def test_half_ff_receipt_number_is_not_bcd(raw: str) -> None:
    with pytest.raises(ZvtDecodeError):
        bmp.decode_all(bytes.fromhex(raw))
