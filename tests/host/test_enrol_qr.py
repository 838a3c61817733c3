"""`posterm-host enroll new` shows the enrolment code as a QR code a terminal window can
show, and a QR reader (zxing-cpp) reads the code back from the printed characters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from posterm.host.cli import main
from posterm.host.enrol import qr
from tests.host.test_enrol import setup

SCALE = 6  # pixels a module


def read_back(art: list[str], *, unicode: bool) -> list[str]:
    """The QR text(s) a reader finds in the printed characters (ink = light module)."""
    rows: list[list[bool]] = []
    for line in art:
        if unicode:
            rows.append([c in "█▀" for c in line])
            rows.append([c in "█▄" for c in line])
        else:
            rows.append([line[i : i + 2] == "##" for i in range(0, len(line), 2)])
    image = Image.new("L", (len(rows[0]) * SCALE, len(rows) * SCALE))
    for y, row in enumerate(rows):
        for x, ink in enumerate(row):
            if ink:
                image.paste(255, (x * SCALE, y * SCALE, (x + 1) * SCALE, (y + 1) * SCALE))
    return [found.text for found in zxingcpp.read_barcodes(image)]


def test_enroll_new_prints_a_qr_code_of_the_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN a host with a fleet CA WHEN `enroll new --terminal pos-1` runs THEN its output
    has the code on a line and, below it, half-block lines a QR reader reads as exactly
    that code; with --json the output is one JSON object with the same fields as before and
    no QR; --no-qr leaves it out."""
    config = setup(tmp_path, f"sqlite:///{tmp_path / 'host.db'}")
    argv = ["--config", str(config.path), "enroll", "new"]
    assert main([*argv, "--terminal", "pos-1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    code = next(line.split(": ", 1)[1] for line in lines if line.startswith("enrolment code: "))
    art = [line for line in lines if line and set(line) <= set("█▀▄ ")]
    assert len(art) > 10
    assert read_back(art, unicode=True) == [code]

    assert main([*argv, "--terminal", "pos-2", "--json"]) == 0
    made = json.loads(capsys.readouterr().out)  # one object, nothing after it
    assert set(made) == {"ok", "code", "terminal", "site", "tags", "expires_at"}

    assert main([*argv, "--terminal", "pos-3", "--no-qr"]) == 0
    assert not [line for line in capsys.readouterr().out.splitlines() if "█" in line]


def test_an_ascii_only_output_gets_a_qr_code_it_can_show() -> None:
    """GIVEN an output that cannot take Unicode (LANG=C) WHEN the QR code is rendered for it
    THEN it is '##' and spaces only, and a reader still reads the code."""
    assert not qr.fits("ascii") and qr.fits("utf-8")
    art = qr.render("ABCD-EFGH-IJKL-MNOP", unicode=qr.fits("ascii")).splitlines()
    assert set("".join(art)) <= {"#", " "}
    assert read_back(art, unicode=False) == ["ABCD-EFGH-IJKL-MNOP"]
