"""The ZVT spec vectors' shapes, their sources and a helper (tests/zvt/spec_vectors.py gathers
the vectors of spec_apdus, spec_captures, spec_captures_more, spec_frames and spec_tlvs)."""

# Every vector names its source; the bytes are facts quoted from there and were checked with an
# independent scratch decoder: APDU lengths add up, every BMP and TLV parses to its end, every
# frame's CRC (CRC-16/KERMIT over APDU + ETX, low byte first) matches. `bmps` may be partial.
# Value forms are the brief's; BMP 2A is compared without its trailing space padding.
# Some captured APDUs exercise what a strict codec may reject (BMP 87 = FF FF, a status enquiry
# completion without software version, 8-bit text in ISO 8859-1): that is on purpose.

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ApduVector:
    name: str
    source: str
    apdu: str
    bmps: dict = field(default_factory=dict)


@dataclass(frozen=True)
class FrameVector:
    name: str
    source: str
    frame: str
    apdu: str


@dataclass(frozen=True)
class TlvVector:
    name: str
    source: str
    data: str
    tags: list


PORTALUM = "Portalum.Zvt src/Portalum.Zvt.UnitTest"
ECRTERM = "wirelane/ecrterm ecrterm/tests"
ZVT_MD = "shared/docs/zvt.md (verified frames, PA00P015/PA00P016)"
SPEC = "PA00P015 13.08 (bezahl-online/zvt doc/ECR-Interface_ZVT-Protocol.pdf)"
SPEC_LAYOUT = SPEC + ", layout only: bytes assembled from the field definitions (no capture found)"
SMART = "card complete SMART-ZVT-Praezisierungen v22 (bezahl-online/zvt doc/), Anhang B"
EVEREST = "EVerest/zvt zvt/data (Feig cVEND, TCP capture)"
MEMOS = "card complete support mails in bezahl-online/zvt doc/memos"
BEZAHL = "bezahl-online/zvt command/testdata (capture from a terminal in Austria)"
KERMIT = "CRC-16/KERMIT computed by a scratch script (independent of posterm)"


def ascii_hex(text: str) -> str:
    return text.encode("cp437").hex()
