"""The journal's card-data guard: a masked PAN is stored; a full card number, track data
or a PIN block in any column, event or kv value is refused and nothing is written; long
numbers that are no card number are stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from posterm.daemon.journal.errors import JournalError
from posterm.daemon.journal.store import Journal
from tests.daemon.test_journal import add_sale, snapshot


@pytest.mark.parametrize(
    "pan", ["476173******0119", "************0119", "476173*********", "****", "4761***0119"]
)
def test_given_a_masked_pan_then_it_is_stored(journal: Journal, pan: str) -> None:
    with journal.transaction() as tx:
        add_sale(tx)
        tx.update_txn("T1", masked_pan=pan)
    assert journal.get_txn("T1").masked_pan == pan  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "pan",
    [
        "4761739001010119",  # full PAN
        "476173900101****",  # more than the first 6
        "4761*****01190119",  # more than the last 4
        "4761739**0119",  # first 7
        "476173**0119",  # only 2 hidden: the Luhn digit gives the rest back
        "476173XXXXXX0119",  # not the PT's '*' mask
        "476173******0119 ",
        "1234567890123456789*",  # too long
        "",
        1234,
    ],
)
def test_given_an_unmasked_pan_then_refused_and_nothing_written(
    journal: Journal, tmp_path: Path, pan: object
) -> None:
    with journal.transaction() as tx:
        add_sale(tx)
    before = snapshot(tmp_path / "journal.db")
    with pytest.raises(JournalError, match=r"PAN|masked_pan"), journal.transaction() as tx:
        tx.update_txn("T1", state="declined", masked_pan=pan)
    with pytest.raises(JournalError, match=r"PAN|masked_pan"), journal.transaction() as tx:
        tx.insert_txn(
            txn_id="T2", kind="sale", state="in_doubt", amount=1, currency="EUR", masked_pan=pan
        )
    assert snapshot(tmp_path / "journal.db") == before


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("pt_receipt_lines", ["Karte", "4761739001010119=25121010000012345"], "track data"),
        ("pt_receipt_lines", ["4761739001010119D2512"], "track data"),
        ("reason_text", "customer card 4761 7390 0101 0119 was charged twice", "card number"),
        ("reason_text", "see 4761-7390-0101-0119", "card number"),
        ("result_text", "PAN 4761739001010119", "card number"),
        ("card_name", "4761739001010119", "card number"),
    ],
)
def test_given_card_data_in_text_then_refused(
    journal: Journal, tmp_path: Path, field: str, value: object, why: str
) -> None:
    with journal.transaction() as tx:
        add_sale(tx)
    before = snapshot(tmp_path / "journal.db")
    with pytest.raises(JournalError, match=why), journal.transaction() as tx:
        tx.update_txn("T1", **{field: value})
    assert snapshot(tmp_path / "journal.db") == before


def test_given_long_numbers_that_are_no_card_number_then_stored(journal: Journal) -> None:
    """GIVEN an order number that fails the Luhn check and a merchant number in a PT's
    receipt line WHEN journaled THEN they are kept (only card data is refused)."""
    with journal.transaction() as tx:
        add_sale(tx)
        lines = ["VU-Nr. 123456789012345", "AID A0000000041010"]
        tx.update_txn("T1", reason_text="order 4761739001010118", pt_receipt_lines=lines)
    txn = journal.get_txn("T1")
    assert txn is not None and txn.reason_text == "order 4761739001010118"
    assert txn.pt_receipt_lines == ["VU-Nr. 123456789012345", "AID A0000000041010"]


def test_given_card_data_in_a_receipt_event_or_kv_then_refused(
    journal: Journal, tmp_path: Path
) -> None:
    with journal.transaction() as tx:
        add_sale(tx)
    before = snapshot(tmp_path / "journal.db")
    attempts = [
        lambda tx: tx.add_receipt(
            txn_id="T1",
            copy="customer",
            mark="original",
            body={"lines": [";4761739001010119=2512101"]},
        ),
        lambda tx: tx.emit("sale.approved", {"masked_pan": "4761739001010119"}),
        lambda tx: tx.emit("sale.approved", {"card": {"pan": "4761739001010119"}}),
        lambda tx: tx.kv_set("last_card", "4761739001010119"),
    ]
    for attempt in attempts:
        with pytest.raises(JournalError, match="refusing"), journal.transaction() as tx:
            attempt(tx)
    assert snapshot(tmp_path / "journal.db") == before
