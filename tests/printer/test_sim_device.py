"""The simulated printer's device model in-process: what a stop in the middle of a job
leaves behind, and the control actions."""

from __future__ import annotations

from pathlib import Path

import pytest

from posterm.drivers.printer import Renderer
from posterm.drivers.printer import receipt as layouts
from posterm.hwsim.printer.device import CONTROLS, SimPrinter
from posterm.hwsim.printer.paper import PaperOut
from posterm.protocol.escpos import status as st

SALE = layouts.sale(
    header=("Café Beispiel", "Hauptstraße 1"),
    amount="12.50",
    currency="€",
    txn_id="T" * 200,
    pt_lines=tuple(f"PT line {i:02d}  VISA 476173******0119" for i in range(12)),
)


@pytest.mark.parametrize("lines", range(15, 26))
def test_a_job_cut_short_leaves_nothing_behind_for_the_next(tmp_path: Path, lines: int) -> None:
    """GIVEN a slow printer (fed 64 bytes at a time, as the engine does) whose paper runs
    out after `lines` lines, wherever that leaves the parser (for some, in the middle of
    the long QR command) WHEN the paper is refilled and the next
    receipt sent THEN it prints whole: what was left of the lost job is gone too."""
    device = SimPrinter(PaperOut(tmp_path), paper_out_after_lines=lines)
    parser = device.parser()  # one link: the same parser for both jobs
    first, second = Renderer().render(SALE), Renderer().render(layouts.recovered(SALE))
    for i in range(0, len(first), 64):
        device.feed(parser, first[i : i + 64])
    assert device.paper_out and device.cuts == 0
    device.control("refill")
    for i in range(0, len(second), 64):
        device.feed(parser, second[i : i + 64])
    assert device.cuts == 1
    text = (tmp_path / "0002.txt").read_text(encoding="utf-8")
    assert text.startswith("** RECOVERED **\nCafé Beispiel\nHauptstraße 1")
    assert f"[QR: {'T' * 200}]" in text


def test_status_answers_follow_the_controls(tmp_path: Path) -> None:
    device = SimPrinter(PaperOut(tmp_path))
    assert device.realtime(4) == bytes([st.BASE])
    device.control("near-end")
    answers = [device.realtime(n) or b"" for n in (1, 2, 4)]
    assert st.decode(*(a[0] for a in answers)).paper == "near_end"
    device.control("offline")
    assert device.realtime(1) is None and device.stopped()
    device.control("online")
    device.control("cutter-error")
    assert device.realtime(3) == bytes([st.BASE | st.AUTOCUTTER_ERROR])
    device.request(1)  # DLE ENQ 1
    assert not device.cutter_error and not device.stopped()
    assert "status" in CONTROLS and device.control("status")["near_end"] is True


@pytest.mark.parametrize("bad", ["", "paper-out-after:", "paper-out-after:-1", "cover", "refil"])
def test_unknown_or_malformed_actions_change_nothing(tmp_path: Path, bad: str) -> None:
    device = SimPrinter(PaperOut(tmp_path))
    before = device.state()
    with pytest.raises(ValueError):
        device.control(bad)
    assert device.state() == before
