"""A refund's customer contact (for the back office's notification) against the real
postermd, Mosquitto and posterm-host: it travels only in the `refund.requested` event,
is never printed or logged, and leaves the terminal's journal file once the host has
acknowledged the event. A bad contact is refused and changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from posterm.protocol import contact
from tests.host.test_host import Host, host, rig  # noqa: F401 (fixtures)
from tests.support.broker import wait_for
from tests.support.rig import Rig

ADDRESS = "kunde.mueller@example.org"


def _journal_bytes(rig: Rig) -> bytes:
    """The journal file and its WAL as they are on disk (read without SQLite's locks)."""
    out = b""
    for path in (rig.journal, Path(f"{rig.journal}-wal")):
        if path.exists():
            out += path.read_bytes()
    return out


@pytest.mark.slow
def test_the_contact_travels_in_the_event_and_leaves_after_the_ack(
    rig: Rig,
    host: Host,
) -> None:
    host.kill()  # nothing is acknowledged until the host is back
    code, sale = rig.cli("sale", "30.00")
    assert code == 0
    code, refund = rig.cli(
        "refund",
        sale["txn_id"],
        "12.00",
        "--reason",
        "goods_returned",
        "--notify-email",
        ADDRESS,
        "--notify-lang",
        "de",
    )
    assert code == 0 and refund["state"] == "approved", refund
    (requested,) = [e for e in rig.events() if e["type"] == "refund.requested"]
    assert requested["data"]["notify"] == {"email": ADDRESS, "lang": "de"}
    assert ADDRESS.encode() in _journal_bytes(rig)  # kept until the host has it
    others = [e for e in rig.events() if e["type"] != "refund.requested"]
    assert all(ADDRESS not in str(e) for e in others)  # in the request event only
    assert all(ADDRESS not in page for page in rig.printer.printed())  # never printed
    assert ADDRESS not in str(refund)  # nor answered back

    host.start()
    wait_for(
        lambda: ADDRESS.encode() not in _journal_bytes(rig),
        "the contact gone from the journal's file and WAL after the host's ack",
    )
    (requested,) = [e for e in rig.events() if e["type"] == "refund.requested"]
    assert "notify" not in requested["data"] and requested["data"]["txn_id"] == refund["txn_id"]
    for log in rig.logs:
        assert ADDRESS not in log.read_text()  # never logged


BAD_CONTACTS = [
    ({"notify_email": "not-an-address"}, "notify_email"),
    ({"notify_email": "a@b"}, "notify_email"),
    ({"notify_email": ADDRESS, "notify_phone": "+4915112345678"}, "not both"),
    ({"notify_phone": "015112345678"}, "E.164"),
    ({"notify_phone": "+49 151 1234"}, "E.164"),
    ({"notify_email": ADDRESS, "notify_lang": "fr"}, "notify_lang"),
    ({"notify_lang": "de"}, "needs notify_email"),
    ({"notify_email": 42}, "notify_email"),
]


@pytest.mark.slow
def test_a_bad_contact_is_refused_and_changes_nothing(rig: Rig) -> None:
    """GIVEN a sale WHEN a refund of it is asked with each bad contact in turn (one
    postermd for all of them) THEN each is refused as bad_request naming what is wrong,
    without repeating the contact, and the journal's transactions are as before."""
    code, sale = rig.cli("sale", "20.00")
    assert code == 0
    for fields, why in BAD_CONTACTS:
        before = rig.txns()
        reply = rig.request(
            cmd="refund", txn=sale["txn_id"], amount="5.00", reason="wrong_amount", **fields
        )
        assert reply["ok"] is False and reply["code"] == "bad_request", (fields, reply)
        assert why in reply["error"], (fields, reply)
        for value in fields.values():  # the message never repeats the contact
            assert not isinstance(value, str) or len(value) <= 2 or value not in reply["error"]
        assert rig.txns() == before, fields


def test_contacts_on_the_wire_are_checked_again() -> None:
    assert contact.from_event({"notify": {"phone": "+4915112345678"}}) == {
        "phone": "+4915112345678"
    }
    assert contact.from_event({"notify": {"email": "x@y", "lang": "de"}}) is None
    assert contact.from_event({"notify": "x@example.org"}) is None
    assert contact.from_event({}) is None
