"""The chaos soak (bench/soak.py) for about a minute, and its card-data scan on its own."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bench.soak import FAULT_KINDS, card_data, luhn_ok, scan_db, soak


def test_the_card_data_scan_finds_card_numbers_track_2_and_pin_blocks() -> None:
    assert luhn_ok("4761739001010010") and not luhn_ok("4761739001010011")
    assert card_data("card 4761739001010010 approved") == ["4761739001010010"]
    assert card_data("t2 ;4761739001010010=25122010000000000") != []
    assert card_data('{"pin_block": "041234FFFFFFFFFF"}') == ["041234FFFFFFFFFF"]
    # the PT's masked PAN, a PIN-block-like hex far from the word, ids and epoch millis pass
    assert card_data("VISA 476173******0010 trace 000123") == []
    assert card_data("041234FFFFFFFFFF" + " " * 60 + "no such word") == []
    assert card_data("at 1796000000018 seq 1234567890123") == []


def test_the_database_scan_reads_cells_one_by_one(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "x.db")
    db.execute("CREATE TABLE t (a TEXT, b TEXT)")
    db.execute("INSERT INTO t VALUES ('soak-68', '00029001234')")  # not one number
    db.commit()
    assert scan_db(tmp_path / "x.db") == []
    db.execute("INSERT INTO t VALUES (?, ?)", ('{"pan": "4761739001010010"}', ""))
    db.commit()
    db.close()
    assert scan_db(tmp_path / "x.db") == ["4761739001010010"]


@pytest.mark.slow
def test_a_minute_of_chaos_breaks_no_money_rule_and_leaks_no_card_data(tmp_path: Path) -> None:
    """GIVEN the whole rig and faults about every 4 s WHEN the driver sells, refunds and
    voids for a minute THEN every figure of the table is 0 after the rig settles."""
    state, table, figures = soak(1.0, seed=13, workdir=tmp_path, fault_every=4.0)
    print(table)
    assert figures and not any(figures.values()), table
    assert state.ops["sale"] >= 10 and state.ops["refund"] >= 1, table
    kinds = [k for k in FAULT_KINDS if state.faults[k]]
    assert len(kinds) >= 4, table
    assert state.outcomes["sale: approved"] >= 5, table
