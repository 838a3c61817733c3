"""The codec against byte sequences from the ZVT spec and public captures — not itself.

The PT simulator and the client share the codec, so a symmetric bug would be invisible in
client <-> simulator tests; these vectors (tests/zvt/spec_vectors.py, each with its
source) pin the codec to what real terminals and the spec put on the wire.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from posterm.protocol.zvt import apdu, bmp, framing, messages, tlv
from tests.zvt.spec_vectors import APDU_VECTORS, CRC_VECTORS, FRAME_VECTORS, TLV_VECTORS


def _hex(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def _decoded_bmps(message: Any) -> dict[int, Any]:
    """BMP number -> value, from a typed message's BMP fields and its `other`."""
    out: dict[int, Any] = {}
    for f in dataclasses.fields(message):
        number = f.metadata.get("bmp")
        value = getattr(message, f.name)
        if number is not None and value is not None:
            out[number] = value
    for number, value in getattr(message, "other", ()):
        out[number] = value
    return out


def _normal(number: int, value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, tuple):  # TLV: compare as the hex of its encoding
        return tlv.encode(value).hex()
    return value


@pytest.mark.parametrize("vector", APDU_VECTORS, ids=lambda v: v.name)
def test_apdu_vector_decodes_to_what_the_source_says(vector: Any) -> None:
    raw = _hex(vector.apdu)
    unit = apdu.decode(raw)
    answering = 0x0501 if "status enquiry" in vector.name.lower() and unit.code == 0x060F else None
    message = messages.decode(unit, answering=answering)
    got = _decoded_bmps(message)
    for number, expected in vector.bmps.items():
        if number in bmp.TRACK_BMPS:
            assert number not in got, "track data must be dropped"
            continue
        if number == 0x3D:  # the untagged password of password-first commands
            assert getattr(message, "password", None) == expected
            continue
        assert number in got, f"BMP {number:02X} missing in {message}"
        value = _normal(number, got[number])
        want = (
            expected.replace(" ", "").lower()
            if isinstance(expected, str) and (number in (0x06, 0x60, 0x3B))
            else expected
        )
        if number == 0x22:  # the codec keeps at most first 6 / last 4 of any PAN
            want = bmp.mask_pan(want)
        assert value == want, f"BMP {number:02X}: {value!r} != {want!r}"


EXACT = [v for v in APDU_VECTORS if not set(v.bmps) & (bmp.TRACK_BMPS | {0x22})]


@pytest.mark.parametrize("vector", EXACT, ids=lambda v: v.name)
def test_apdu_vector_reencodes_to_the_same_bytes(vector: Any) -> None:
    """Without track data or a PAN (dropped and masked on purpose), our encoder gives the
    bytes of the source: the same length, and the same message when read back (BMPs are
    tagged, so a terminal may order them differently than we do)."""
    raw = _hex(vector.apdu)
    unit = apdu.decode(raw)
    answering = 0x0501 if "status enquiry" in vector.name.lower() and unit.code == 0x060F else None
    message = messages.decode(unit, answering=answering)
    again = messages.encode(message).encode()
    assert len(again) == len(raw)
    assert messages.decode(apdu.decode(again), answering=answering) == message
    if sorted(again) != sorted(raw):
        pytest.fail("re-encoded bytes differ beyond the order of BMPs")


def test_cardholder_receipt_block_reads_as_the_source_says() -> None:
    (vector,) = [v for v in APDU_VECTORS if "cardholder receipt" in v.name]
    block = messages.decode(apdu.decode(_hex(vector.apdu)))
    assert block.receipt_type == 2  # cardholder
    assert block.lines[0] == "  Leihstellung von hobex"
    assert "KUNDENBELEG" in "\n".join(block.lines)
    assert block.lines[1] == "     für PORTALUM GmbH"  # 0x81 is ü in code page 437


def test_status_enquiry_completion_reads_version_and_status() -> None:
    (vector,) = [v for v in APDU_VECTORS if "sw version, status 00" in v.name]
    done = messages.decode(apdu.decode(_hex(vector.apdu)), answering=0x0501)
    assert done.sw_version == "GER-APP-v2.0.9;cR02.01.01-00.09-2-2;CC26"
    assert done.terminal_status == 0
    assert done.tlv is not None and tlv.find(done.tlv, 0x1F44) is not None


def test_abort_from_pt_reads_result_and_extended_error() -> None:
    (vector,) = [v for v in APDU_VECTORS if v.name.startswith("abort from the PT")]
    abort = messages.decode(apdu.decode(_hex(vector.apdu)))
    assert abort.result_code == 0x6C
    assert tlv.find(abort.tlv, 0x1F16).value == bytes.fromhex("ff00001441")


def test_intermediate_status_reads_timeout_and_display_text() -> None:
    (vector,) = [v for v in APDU_VECTORS if v.name.startswith("intermediate status 0A")]
    status = messages.decode(apdu.decode(_hex(vector.apdu)))
    assert (status.status, status.timeout) == (0x0A, 1)
    (texts,) = status.tlv
    assert texts.tag == 0x24 and texts.children[0].value == b"Bitte Karte einstecken"


@pytest.mark.parametrize("vector", FRAME_VECTORS, ids=lambda v: v.name)
def test_frame_vectors(vector: Any) -> None:
    frame, inner = _hex(vector.frame), _hex(vector.apdu)
    assert framing.encode_frame(inner) == frame
    assert framing.FrameParser().feed(frame, 0.0) == [framing.Frame(inner)]


@pytest.mark.parametrize("vector", TLV_VECTORS, ids=lambda v: v.name)
def test_tlv_vectors(vector: Any) -> None:
    data = _hex(vector.data)
    items = tlv.decode(data)

    def shape(nodes: tuple[tlv.Tlv, ...]) -> list[Any]:
        return [
            (f"{n.tag:X}".lower(), shape(n.children) if n.constructed else n.value.hex())
            for n in nodes
        ]

    def norm(expected: list[Any]) -> list[Any]:
        return [
            (
                tag.replace(" ", "").lower().lstrip("0") or "0",
                norm(value) if isinstance(value, list) else value.replace(" ", "").lower(),
            )
            for tag, value in expected
        ]

    assert shape(items) == norm(vector.tags)
    assert tlv.encode(items) == data


@pytest.mark.parametrize(("source", "data", "crc"), CRC_VECTORS)
def test_crc_vectors(source: str, data: str, crc: int) -> None:
    assert framing.crc16_kermit(_hex(data)) == crc, source
