"""Fuzzing the printer simulator's ESC/POS parser: any byte stream, cut anywhere, is parsed
without an exception (its documented behaviour: unknown or malformed bytes are counted and
skipped, never raised) and the same way whatever the cuts; what protocol/escpos encodes is
printed back as the same text."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from posterm.hwsim.printer.page import Line
from posterm.hwsim.printer.parser import EscPosParser
from posterm.protocol.escpos import codes
from tests.fuzz.profiles import fuzz


class Paper:
    """What the parser printed: lines, cuts, sensor queries, and the bytes it answered."""

    def __init__(self) -> None:
        self.lines: list[Line] = []
        self.cuts = 0
        self.replies = b""
        self.parser = EscPosParser(self.lines.append, self._cut, self._sensor)

    def _cut(self) -> None:
        self.cuts += 1

    @staticmethod
    def _sensor(n: int) -> bytes | None:
        return bytes([n & 0x0F]) if n in (1, 2, 49, 50) else None

    def feed(self, data: bytes, cuts: list[int] | None = None) -> Paper:
        points = sorted({c % (len(data) + 1) for c in cuts or []} | {0, len(data)})
        for a, b in itertools.pairwise(points):
            self.replies += self.parser.feed(data[a:b])
        return self

    def record(self) -> tuple[Any, ...]:
        return (self.lines, self.cuts, self.replies, self.parser.unknown, self.parser.mid_command)

    def paragraphs(self) -> list[str]:
        """Text lines with the printer's wrapping undone."""
        out: list[str] = []
        for line in self.lines:
            if line.wrapped and out:
                out[-1] += line.text
            else:
                out.append(line.text)
        return out


# -- valid jobs, built with protocol/escpos -------------------------------------------------
def _text(codec: str) -> st.SearchStrategy[str]:
    return st.text(
        st.characters(codec=codec, exclude_categories=("Cc", "Cs", "Co", "Cn")), max_size=24
    )


@st.composite
def jobs(draw: st.DrawFn) -> tuple[bytes, list[str], int]:
    """(bytes, the text lines they print, cuts) from the encoders in protocol/escpos."""
    out, lines, cuts = bytearray(codes.INIT), [], 0
    for _ in range(draw(st.integers(0, 8))):
        op = draw(st.sampled_from(["text", "chinese", "style", "feed", "qr", "cut"]))
        if op == "text":
            table = draw(st.sampled_from(["cp437", "cp858"]))
            text = draw(_text(table))
            out += codes.select_code_page(table) + text.encode(table) + codes.LINE_FEED
            lines.append(text)
        elif op == "chinese":
            text = draw(_text("gb18030"))
            out += codes.CHINESE_ON + text.encode("gb18030") + codes.CHINESE_OFF + codes.LINE_FEED
            lines.append(text)
        elif op == "style":
            out += draw(
                st.sampled_from([codes.BOLD_ON, codes.BOLD_OFF, *codes.ALIGN.values()])
                | st.builds(codes.char_size, st.integers(1, 8), st.integers(1, 8))
            )
        elif op == "feed":
            n = draw(st.integers(0, 5))
            out += codes.feed(n)
            lines += [""] * n
        elif op == "qr":
            content = draw(st.text(st.characters(codec="utf-8"), min_size=1, max_size=40))
            out += codes.qr(content, size=draw(st.integers(1, 16)))
            lines.append(f"[QR: {content}]")
        else:
            feed = draw(st.integers(0, 6))
            out += codes.cut(feed)
            lines += [""] * feed
            cuts += 1
    return bytes(out), lines, cuts


@fuzz()
@given(jobs(), st.lists(st.integers(0, 5000), max_size=6))
def test_what_protocol_escpos_encodes_prints_as_the_same_text(
    job: tuple[bytes, list[str], int], cuts: list[int]
) -> None:
    data, lines, cut_count = job
    paper = Paper().feed(data, cuts)
    assert paper.paragraphs() == lines
    assert paper.cuts == cut_count
    assert paper.parser.unknown == 0 and not paper.parser.mid_command


# -- any bytes -------------------------------------------------------------------------------
@st.composite
def mutated_jobs(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(jobs())[0])
    for _ in range(draw(st.integers(1, 5))):
        pos = draw(st.integers(0, len(raw)))
        op = draw(st.sampled_from(["flip", "insert", "cut"]))
        if op == "flip" and pos < len(raw):
            raw[pos] ^= draw(st.integers(1, 255))
        elif op == "insert":
            raw[pos:pos] = draw(
                st.sampled_from(
                    [b"\x1b", b"\x1d", b"\x1c", b"\x10", b"\x1d(k", b"\x1b*", b"\x1dv0"]
                )
                | st.binary(max_size=6)
            )
        else:
            del raw[pos : pos + draw(st.integers(1, 10))]
    return bytes(raw)


PREFIXES = [0x1B, 0x1C, 0x1D, 0x10, 0x0A, 0x09, 0x00]


@st.composite
def commandish(draw: st.DrawFn) -> bytes:
    """Bytes dense in command prefixes followed by any command byte and parameters."""
    out = bytearray()
    for _ in range(draw(st.integers(1, 12))):
        out.append(draw(st.sampled_from(PREFIXES)))
        out.append(draw(st.integers(0, 255)))
        out += draw(st.binary(max_size=8))
    return bytes(out)


ANY_STREAM = st.binary(max_size=2000) | mutated_jobs() | commandish()


@fuzz()
@given(ANY_STREAM, st.lists(st.integers(0, 5000), max_size=8))
def test_any_stream_is_parsed_without_an_exception_and_the_same_however_cut(
    data: bytes, cuts: list[int]
) -> None:
    """GIVEN any bytes THEN the parser never raises, and feeding them in pieces prints
    exactly what feeding them at once does (it waits for the rest of a command)."""
    whole = Paper().feed(data)
    pieces = Paper().feed(data, cuts)
    assert pieces.record() == whole.record()


@fuzz()
@given(ANY_STREAM, jobs())
def test_a_receipt_after_garbage_and_a_reset_prints_whole(
    garbage: bytes, job: tuple[bytes, list[str], int]
) -> None:
    """GIVEN any bytes that leave the parser anywhere WHEN the printer is told to discard
    them (as after a stop) THEN the next job prints exactly its own text."""
    paper = Paper().feed(garbage)
    paper.parser.discard()
    before = len(paper.lines)
    data, lines, _ = job
    paper.feed(data)
    printed = Paper()
    printed.lines = paper.lines[before:]
    assert printed.paragraphs() == lines
