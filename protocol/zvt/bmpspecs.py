"""The BMP table of the ZVT spec: every BMP's number, name and wire format.

The formats follow the BMP summary of the ZVT spec (PA00P015 rev. 13.08, chapter 13): a
decoder must know every BMP's length, because an unknown one hides the rest of the APDU.
`bmp` builds its encoders and decoders from this table (and re-exports its names).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

TEXT_ENCODING = "cp437"


class Kind(Enum):
    BYTE = "byte"  # one byte -> int
    BCD_INT = "bcd_int"  # fixed BCD -> int
    BCD_OR_NONE = "bcd_or_none"  # fixed BCD -> int; all FF bytes ("no number") -> NO_NUMBER
    BCD_STR = "bcd_str"  # fixed BCD -> digit string (dates, times, terminal id, password)
    ASCII = "ascii"  # fixed text -> str
    RAW = "raw"  # fixed bytes -> bytes
    UINT = "uint"  # fixed big-endian binary integer -> int
    LL_TEXT = "ll_text"  # LLVAR text -> str (NUL-terminated allowed)
    LLL_TEXT = "lll_text"  # LLLVAR text -> str
    LL_RAW = "ll_raw"
    LLL_RAW = "lll_raw"
    LL_BCD = "ll_bcd"  # LLVAR packed BCD -> digit string
    PAN = "pan"  # LLVAR BCD with E (masked) and F (pad) nibbles -> masked str
    TRACK_LL = "track_ll"  # dropped
    TRACK_LLL = "track_lll"  # dropped
    TLV = "tlv"  # BER length + TLV objects -> tuple[Tlv, ...]


@dataclass(frozen=True)
class BmpSpec:
    number: int
    name: str
    kind: Kind
    length: int = 0  # fixed length, for fixed kinds


_SPECS = [
    BmpSpec(0x01, "timeout", Kind.BYTE, 1),
    BmpSpec(0x02, "max_status_infos", Kind.BYTE, 1),
    BmpSpec(0x03, "service_byte", Kind.BYTE, 1),
    BmpSpec(0x04, "amount", Kind.BCD_INT, 6),
    BmpSpec(0x05, "pump_no", Kind.BYTE, 1),
    BmpSpec(0x06, "tlv", Kind.TLV),
    BmpSpec(0x0B, "trace", Kind.BCD_INT, 3),
    BmpSpec(0x0C, "time", Kind.BCD_STR, 3),
    BmpSpec(0x0D, "date", Kind.BCD_STR, 2),
    BmpSpec(0x0E, "expiry", Kind.BCD_STR, 2),
    BmpSpec(0x17, "card_seq_no", Kind.BCD_INT, 2),
    BmpSpec(0x19, "payment_type", Kind.BYTE, 1),
    BmpSpec(0x22, "pan", Kind.PAN),
    BmpSpec(0x23, "track2", Kind.TRACK_LL),
    BmpSpec(0x24, "track3", Kind.TRACK_LLL),
    BmpSpec(0x27, "result_code", Kind.BYTE, 1),
    BmpSpec(0x29, "terminal_id", Kind.BCD_STR, 4),
    BmpSpec(0x2A, "vu_number", Kind.ASCII, 15),
    BmpSpec(0x2D, "track1", Kind.TRACK_LL),
    BmpSpec(0x2E, "sync_chip_data", Kind.LLL_RAW),
    BmpSpec(0x37, "original_trace", Kind.BCD_INT, 3),
    BmpSpec(0x3A, "cvv", Kind.BCD_INT, 2),
    BmpSpec(0x3B, "aid", Kind.RAW, 8),
    BmpSpec(0x3C, "additional_text", Kind.LLL_TEXT),
    BmpSpec(0x3D, "password", Kind.BCD_STR, 3),
    BmpSpec(0x49, "currency", Kind.BCD_INT, 2),
    BmpSpec(0x4C, "blocked_goods_groups", Kind.LL_BCD),  # product codes, 3 BCD bytes each
    BmpSpec(0x60, "totals", Kind.LLL_RAW),
    BmpSpec(0x70, "image_id", Kind.UINT, 4),
    BmpSpec(0x71, "image_size", Kind.UINT, 4),
    BmpSpec(0x72, "image_mime", Kind.BYTE, 1),
    BmpSpec(0x73, "image_encoding", Kind.BYTE, 1),
    BmpSpec(0x74, "chunk_count", Kind.BYTE, 1),
    BmpSpec(0x75, "chunk_index", Kind.BYTE, 1),
    BmpSpec(0x87, "receipt_no", Kind.BCD_OR_NONE, 2),
    BmpSpec(0x88, "turnover_no", Kind.BCD_INT, 3),
    BmpSpec(0x8A, "card_type", Kind.BYTE, 1),
    BmpSpec(0x8B, "card_name", Kind.LL_TEXT),
    BmpSpec(0x8C, "network_card_type", Kind.BYTE, 1),
    BmpSpec(0x92, "additional_data", Kind.LLL_RAW),
    BmpSpec(0x9A, "geldkarte_data", Kind.LLL_RAW),
    BmpSpec(0xA0, "host_result_code", Kind.BYTE, 1),
    BmpSpec(0xA7, "chip_data", Kind.TRACK_LL),  # EF_ID: bytes 5-9 are the card number
    BmpSpec(0xAA, "date_full", Kind.BCD_STR, 3),
    BmpSpec(0xAF, "emv_print_data", Kind.LLL_RAW),
    BmpSpec(0xBA, "aid_parameter", Kind.RAW, 5),
    BmpSpec(0xD0, "algorithm_key", Kind.BYTE, 1),
    BmpSpec(0xD1, "card_offset_pin", Kind.LL_RAW),
    BmpSpec(0xD2, "direction", Kind.BYTE, 1),
    BmpSpec(0xD3, "key_position", Kind.BYTE, 1),
    BmpSpec(0xE0, "input_min_length", Kind.BYTE, 1),
    BmpSpec(0xE1, "text2_line1", Kind.LL_TEXT),
    BmpSpec(0xE2, "text2_line2", Kind.LL_TEXT),
    BmpSpec(0xE3, "text2_line3", Kind.LL_TEXT),
    BmpSpec(0xE4, "text2_line4", Kind.LL_TEXT),
    BmpSpec(0xE5, "text2_line5", Kind.LL_TEXT),
    BmpSpec(0xE6, "text2_line6", Kind.LL_TEXT),
    BmpSpec(0xE7, "text2_line7", Kind.LL_TEXT),
    BmpSpec(0xE8, "text2_line8", Kind.LL_TEXT),
    BmpSpec(0xE9, "input_max_length", Kind.BYTE, 1),
    BmpSpec(0xEA, "echo", Kind.BYTE, 1),
    BmpSpec(0xEB, "mac", Kind.RAW, 8),
    BmpSpec(0xF0, "display_duration", Kind.BYTE, 1),
    BmpSpec(0xF1, "text1_line1", Kind.LL_TEXT),
    BmpSpec(0xF2, "text1_line2", Kind.LL_TEXT),
    BmpSpec(0xF3, "text1_line3", Kind.LL_TEXT),
    BmpSpec(0xF4, "text1_line4", Kind.LL_TEXT),
    BmpSpec(0xF5, "text1_line5", Kind.LL_TEXT),
    BmpSpec(0xF6, "text1_line6", Kind.LL_TEXT),
    BmpSpec(0xF7, "text1_line7", Kind.LL_TEXT),
    BmpSpec(0xF8, "text1_line8", Kind.LL_TEXT),
    BmpSpec(0xF9, "beep_tones", Kind.BYTE, 1),
    BmpSpec(0xFA, "card_reader_activation", Kind.BYTE, 1),
    BmpSpec(0xFB, "confirmation", Kind.BYTE, 1),
    BmpSpec(0xFC, "dialog_control", Kind.BYTE, 1),
    BmpSpec(0xFD, "display_device", Kind.BYTE, 1),
]
SPECS: dict[int, BmpSpec] = {s.number: s for s in _SPECS}
TRACK_BMPS = frozenset(n for n, s in SPECS.items() if s.kind in (Kind.TRACK_LL, Kind.TRACK_LLL))

# A receipt number of FF FF: the PT has none to give (e.g. 06 1E after an abort).
NO_NUMBER = 0xFFFF
