"""Byte sequences from the ZVT spec and public captures, and their meaning (codec test vectors)."""

# The vectors live in five modules by source and kind; this module gathers them for the tests.
# Their sources and the way each was checked: tests/zvt/spec_common.py.

from tests.zvt.spec_apdus import APDUS_DOCUMENTED
from tests.zvt.spec_captures import APDUS_CAPTURED
from tests.zvt.spec_captures_more import APDUS_CAPTURED_MORE
from tests.zvt.spec_common import ApduVector, FrameVector, TlvVector
from tests.zvt.spec_frames import CRC_VECTORS, FRAME_VECTORS
from tests.zvt.spec_tlvs import TLV_VECTORS

APDU_VECTORS: list[ApduVector] = [*APDUS_DOCUMENTED, *APDUS_CAPTURED, *APDUS_CAPTURED_MORE]

__all__ = [
    "APDU_VECTORS",
    "CRC_VECTORS",
    "FRAME_VECTORS",
    "TLV_VECTORS",
    "ApduVector",
    "FrameVector",
    "TlvVector",
]
