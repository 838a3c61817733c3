"""Logging of postermd: the `[logging]` level holds, and card data never reaches the log
(money rule 7) — the masker on its own, then the real daemon fed card-like input."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posterm.daemon import logsetup
from posterm.daemon.control.client import ControlClient
from posterm.daemon.logsetup import mask
from posterm.protocol import clitext
from tests.support.rig import Rig, make_rig

PAN = "4761739001010119"
PAN_GROUPED = "4761 7390 0101 0119"
PAN_DASHED = "4761-7390-0101-0119"
TRACK2 = f";{PAN}=25121010000000000000?"
TRACK2_BARE = f"{PAN}=2512101000000"
TRACK1 = f"%B{PAN}^DOE/JOHN^2512101000000000000000?"
MASKED = "476173******0119"
EXPIRY_AND_SERVICE = "2512101"  # what follows '=' in track 2: must go too


# -- the masker ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "want"),
    [
        (f"void {PAN}", f"void {MASKED}"),
        (f"void {PAN_GROUPED}", f"void {MASKED}"),
        (f"void {PAN_DASHED}", f"void {MASKED}"),
        (f"sale '{TRACK2}' refused", "sale '[track data]' refused"),
        (f"x {TRACK2_BARE} y", "x [track data] y"),
        (f"x {TRACK1} y", "x [track data] y"),
        (f"emv {PAN}D25121010000000F", "emv [track data]"),
        ("run 4761739001010119476173900101", "run [28 digits]"),
        ("13 digits 4222222222222", "13 digits 422222***2222"),
    ],
)
def test_card_data_is_masked(line: str, want: str) -> None:
    assert mask(line) == want


@pytest.mark.parametrize(
    "line",
    [
        "2026-11-29 12:32:43,123 INFO posterm.api: sale refused: not an amount: '12.5.0'",
        "pt: authorize ended: approved (00) receipt=42 trace 000123 amount 1234567.89",
        "terminal: T7KD9X2M4QZ sale approved, 12.00 EUR, tid 29001006",
        "2026-11-29T12:32:43.123456+01:00 batch 0007 totals 3 x 150.00",
        "ids [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]",
        "phone +49 30 1234567",
    ],
)
def test_ordinary_numbers_stay_readable(line: str) -> None:
    assert mask(line) == line


def test_a_timestamp_like_run_of_13_digits_is_masked_but_the_asctime_is_not() -> None:
    """GIVEN an asctime and an epoch-milliseconds value (13 digits) on one line, THEN the
    asctime stays readable and the long run keeps only its first 6 and last 4 digits:
    the log cannot tell it from a PAN, and it stays recognisable."""
    line = "2026-11-29 12:32:43,123 DEBUG posterm.x: at 1764419563123 ms"
    assert mask(line) == "2026-11-29 12:32:43,123 DEBUG posterm.x: at 176441***3123 ms"


def _luhn_complete(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


pans = st.integers(12, 18).flatmap(
    lambda n: st.text("0123456789", min_size=n, max_size=n).map(_luhn_complete)
)
separators = st.sampled_from(["", " ", "-"])
noise = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@settings(max_examples=300, deadline=None)
@given(before=noise, pan=pans, sep=separators, after=noise)
def test_no_luhn_valid_pan_survives_in_any_text(
    before: str, pan: str, sep: str, after: str
) -> None:
    typed = sep.join(pan[i : i + 4] for i in range(0, len(pan), 4)) if sep else pan
    out = mask(before + typed + after)
    assert pan not in out
    assert pan not in re.sub(r"[ -]", "", out)


@given(pan=pans)
def test_track_data_never_survives(pan: str) -> None:
    for track in (f";{pan}=2512101?", f"{pan}=25121010000", f"%B{pan}^A/B^2512101?"):
        out = mask(f"request {track!r} refused")
        assert pan not in out and "2512101" not in out and "[track data]" in out


def test_the_formatter_masks_exception_text() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("posterm.test.logsetup")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logsetup.MaskingFormatter(logsetup.FORMAT))
    logger.addHandler(handler)
    try:
        try:
            raise ValueError(f"unknown transaction {PAN}")
        except ValueError:
            logger.exception("request for %s failed", TRACK2)
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert PAN not in text and EXPIRY_AND_SERVICE not in text
    assert f"unknown transaction {MASKED}" in text and "[track data]" in text


def test_configure_replaces_a_librarys_handlers_and_sets_the_level() -> None:
    """GIVEN a library that called basicConfig() on import (python-escpos does), THEN
    configure() still sets the level and the masking handler."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    try:
        logging.basicConfig(force=True)  # what `import escpos` does
        stream = io.StringIO()
        logsetup.configure("info", stream)
        logging.getLogger("posterm.test").info("void %s refused", PAN)
        logging.getLogger("posterm.test").debug("not at info")
        assert stream.getvalue().endswith(f"INFO posterm.test: void {MASKED} refused\n")
        assert "not at info" not in stream.getvalue()
        with pytest.raises(logsetup.LogSetupError):
            logsetup.configure("verbose", stream)
    finally:
        root.handlers[:] = saved[1]
        root.setLevel(saved[0])


# -- the real daemon -----------------------------------------------------------------------
def _set_level(rig: Rig, level: str) -> None:
    text = rig.config.read_text()
    assert "[logging]" not in text
    rig.config.write_text(text + f'\n[logging]\nlevel = "{level}"\n')


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = make_rig(tmp_path)
    yield r
    r.close()


@pytest.mark.slow
def test_card_like_input_to_every_command_never_reaches_the_log(rig: Rig) -> None:
    """GIVEN postermd logging at debug level, WHEN card numbers and track data come in as
    every argument of every command, THEN the log holds the refusals, masked, and none of
    the card data."""
    _set_level(rig, "debug")
    rig.start()
    code, sale = rig.cli("sale", "20.00")
    assert code == 0
    txn = sale["txn_id"]
    cards = (PAN, PAN_GROUPED, PAN_DASHED, TRACK2, TRACK2_BARE, TRACK1)
    for card in cards:
        for args in (
            ("sale", card),
            ("sale", "1.2.3", "--key", card),
            ("refund", card, "1.00"),
            ("refund", txn, card),
            ("refund", card, "1.00", "--reason", "other", "--text", card),
            ("void", card),
            ("void", card, "--key", card),
            ("reprint", card),
            ("approve", card, "--by", card),
            ("reject", card, "--by", card),
        ):
            code, reply = rig.cli(*args)
            assert code in (1, clitext.EX_DATAERR) and code == clitext.exit_code(reply["code"]), (
                args,
                reply,
            )
        client = ControlClient(rig.socket, timeout=30)
        for request in (
            {"cmd": card},
            {"cmd": "journal", "limit": card},
            {"cmd": "refund", "unreferenced": card, "amount": "1.00", "reason": "other"},
            {"cmd": "status", card: card},
            {"cmd": "abort", "key": card},
        ):
            client.request(request)
    code, _ = rig.cli("status")
    assert code == 0
    rig.stop()
    log = rig.logs[-1].read_text()
    digits_only = re.sub(r"[^0-9]", "", log)
    assert PAN not in digits_only.replace(MASKED, "")
    for secret in (PAN, PAN_GROUPED, PAN_DASHED, "761739001010", EXPIRY_AND_SERVICE, "DOE/JOHN"):
        assert secret not in log, secret
    assert f"api: void refused: unknown transaction {MASKED}" in log or (
        re.search(rf"api: void refused: .*{re.escape(MASKED)}", log)
    ), log
    assert re.search(r"api: sale refused: .*\[track data\]", log), log
    assert re.search(r"api: \[track data\] refused", log), log


@pytest.mark.slow
@pytest.mark.parametrize("level", ["warning", "info"])
def test_the_configured_level_holds(rig: Rig, level: str) -> None:
    """GIVEN `[logging] level`, THEN INFO lines (`postermd: … up`) are there at info and
    absent at warning (python-escpos's basicConfig used to pin the level at WARNING)."""
    _set_level(rig, level)
    rig.start()
    rig.cli("void", "TNOSUCHTXN")
    rig.stop()
    log = rig.logs[-1].read_text()
    info_lines = [line for line in log.splitlines() if " INFO " in line]
    if level == "info":
        assert any("postermd: pos-test up" in line for line in info_lines), log
        assert any("api: void refused" in line for line in info_lines), log
        assert " DEBUG " not in log
    else:
        assert info_lines == [], log
