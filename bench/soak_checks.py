"""The chaos soak's checks (bench/soak.py): each returns what it found wrong, one line per
finding, so the soak can count them in its table instead of stopping at the first. The
rules are tests/support/money_rules.check's, plus the host's side: every event stored once,
none lost, and the host's views of transactions, receipts and refunds agreeing with the
journal."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from datetime import datetime
from email.message import EmailMessage

from posterm.daemon.flows import receipts
from tests.host.test_host import Host
from tests.support.money_rules import KIND_OF
from tests.support.rig import Rig

TID = "pos-test"


def host_events(host: Host) -> list[tuple[str, int]]:
    if not host.db.exists():
        return []
    db = sqlite3.connect(host.db)
    try:
        rows = db.execute("SELECT event_id, seq FROM events WHERE terminal = ?", (TID,))
        return [(r[0], int(r[1])) for r in rows]
    finally:
        db.close()


_QR = re.compile(r"\[QR: ([^\]]+)\]")


def customer_receipts(rig: Rig) -> dict[str, list[tuple[float, str]]]:
    """money_rules.receipts_for for every transaction at once, each copy with the time its
    page was cut (the printer's pages are read once: a soak prints thousands)."""
    out: dict[str, list[tuple[float, str]]] = {}
    index = rig.printer.out / "index.jsonl"
    entries = (
        [json.loads(line) for line in index.read_text().splitlines()] if index.exists() else []
    )
    for entry in entries:
        page = (rig.printer.out / entry["txt"]).read_text(encoding="utf-8")
        at = datetime.fromisoformat(entry["at"]).timestamp()
        for txn_id in set(_QR.findall(page)):
            blocks = page.split(f"[QR: {txn_id}]")
            out.setdefault(txn_id, []).extend(
                (at, b) for b in blocks[:-1] if "CUSTOMER COPY" in b.rsplit("Test Shop", 1)[-1]
            )
    return out


def money_rule_violations(rig: Rig) -> list[str]:
    """tests/support/money_rules.check's rules, counted instead of asserted."""
    txns, ledger = rig.txns(), rig.ledger()
    out = [
        f"unresolved {t['txn_id']} {t['state']}"
        for t in txns
        if t["state"] in ("in_doubt", "approved_unconfirmed")
    ]
    kept = Counter(
        (e["receipt_no"], e["amount"], KIND_OF[e["kind"]])
        for e in ledger
        if e["state"] in ("booked", "reversed")
    )
    journaled = Counter(
        (t["receipt_no"], t["amount"], t["kind"])
        for t in txns
        if t["kind"] != "eod" and t["state"] in ("approved", "voided")
    )
    out += [
        f"PT kept {k} x{n}, journal has it x{journaled[k]}"
        for k, n in kept.items()
        if journaled[k] != n
    ]
    out += [
        f"journal has {k} x{n}, PT kept it x{kept[k]}" for k, n in journaled.items() if kept[k] != n
    ]
    receipts = customer_receipts(rig)
    for txn in txns:
        got = [text for _, text in receipts.get(txn["txn_id"], [])]
        if (txn["kind"] == "eod" or txn["state"] not in ("approved", "voided")) and got:
            out.append(f"receipt printed for {txn['state']} {txn['txn_id']}")
        unmarked = [r for r in got if "RECOVERED" not in r and "DUPLICATE" not in r]
        if len(unmarked) > 1:
            out.append(f"{txn['txn_id']} printed unmarked {len(unmarked)} times")
    return out


RESTART_WHY = receipts.RESTART_WHY


def pending_at_restart(rig: Rig) -> Counter[str]:
    """How many times each transaction's customer receipt was found pending when postermd
    started again, as its journal told it (`receipt.pending` events of
    mark_all_recovered): the receipts a dead process may have sent to the printer."""
    return Counter(
        e["data"]["txn_id"]
        for e in rig.events()
        if e.get("type") == "receipt.pending"
        and e["data"].get("copy") == "customer"
        and e["data"].get("why") == RESTART_WHY
    )


def debits_without_one_receipt(rig: Rig) -> tuple[list[str], list[str]]:
    """(approved operations without exactly one customer receipt that is the original or
    marked RECOVERED, DUPLICATE reprints aside; those printed again after a kill).

    A receipt cut in the instant before postermd was SIGKILLed, before the journal said
    so, comes out once more marked RECOVERED at the restart: the restart cannot know it
    was cut (DESIGN.md's rule 3 prefers that to a debit without a receipt; the crash
    matrix pins it at `receipt.printed`). The decision comes from what the printer and
    the journal recorded, never from wall-clock windows (the printer may cut a dead
    process's last page after its successor started, on a loaded machine): a second copy
    counts apart, as printed again after a kill, when the printer cut it after the first
    (its own order), it is marked RECOVERED, and the journal found the receipt still
    pending at a restart once for each such copy; any other is a finding."""
    out: list[str] = []
    again: list[str] = []
    receipts = customer_receipts(rig)
    restarts = pending_at_restart(rig)
    for txn in rig.txns():
        if txn["kind"] == "eod" or txn["state"] not in ("approved", "voided"):
            continue
        got = [r for r in receipts.get(txn["txn_id"], []) if "DUPLICATE" not in r[1]]
        later = got[1:]
        if (
            not got
            or len(later) > restarts[txn["txn_id"]]
            or not all("RECOVERED" in text for _, text in later)
        ):
            out.append(f"{txn['kind']} {txn['txn_id']}: {len(got)} customer receipts")
        elif later:
            again.append(f"{txn['kind']} {txn['txn_id']}")
    return out, again


def refunds_over_sale(rig: Rig) -> list[str]:
    txns = rig.txns()
    refunded: Counter[str] = Counter()
    for t in txns:
        if t["kind"] == "refund" and t["state"] == "approved" and t["ref_txn"]:
            refunded[t["ref_txn"]] += t["amount"]
    sales = {t["txn_id"]: t for t in txns if t["kind"] == "sale"}
    return [
        f"{ref}: refunded {n} of {sales[ref]['amount'] if ref in sales else '?'}"
        for ref, n in refunded.items()
        if ref not in sales or n > sales[ref]["amount"]
    ]


def event_figures(rig: Rig, host: Host) -> tuple[list[str], list[str], list[str]]:
    """(lost, stored twice, unknown at the host): outbox seqs missing at the host, seqs or
    event ids the host stored more than once, events the host has that the outbox never had."""
    outbox = {(e["event_id"], int(e["seq"])) for e in rig.events()}
    stored = host_events(host)
    seqs = Counter(seq for _, seq in stored)
    ids = Counter(eid for eid, _ in stored)
    lost = [f"seq {seq}" for _, seq in sorted(outbox, key=lambda x: x[1]) if seqs[seq] == 0]
    twice = [f"seq {s} x{n}" for s, n in seqs.items() if n > 1]
    twice += [f"event {e} x{n}" for e, n in ids.items() if n > 1]
    unknown = [f"{e} seq {s}" for e, s in stored if (e, s) not in outbox]
    return lost, twice, unknown


def _minor(amount: object) -> int | None:
    """The host's decimal string ('114.12', EUR) in minor units; None if it is not one."""
    if not isinstance(amount, str) or not re.fullmatch(r"[0-9]+\.[0-9]{2}", amount):
        return None
    return int(amount.replace(".", ""))


def host_views(rig: Rig, host: Host) -> list[str]:
    """What the back office sees against the journal: `posterm-host receipts find` shows
    every sale, refund and void the journal booked, with its amount and sale, and a
    receipt printed or recovered; and nothing else. `posterm-host refunds` says completed
    for exactly the refunds the journal has approved, with their amount and sale."""
    txns = rig.txns()
    booked = {
        t["txn_id"]: t
        for t in txns
        if (t["state"] == "approved" and t["kind"] in ("sale", "refund", "void"))
        or (t["state"] == "voided" and t["kind"] == "sale")
    }
    out: list[str] = []
    code, found = host.cli("receipts", "find", "--terminal", TID, "--limit", "1000000", "--json")
    if code != 0 or not isinstance(found, list):
        return [f"posterm-host receipts find failed: {found}"]
    shown: set[str] = set()
    for row in found:
        txn = booked.get(row["txn_id"])
        if txn is None:
            out.append(f"host shows {row['event']} {row['txn_id']}; the journal booked none")
            continue
        shown.add(row["txn_id"])
        seen = (row["kind"], _minor(row["amount"]), row["ref_txn"])
        if seen != (txn["kind"], txn["amount"], txn["ref_txn"]):
            out.append(
                f"host shows {row['txn_id']} as {seen}, the journal as "
                f"{(txn['kind'], txn['amount'], txn['ref_txn'])}"
            )
        if row["receipt"]["state"] not in ("printed", "recovered"):
            out.append(f"host shows {row['txn_id']}'s receipt {row['receipt']['state']}")
    out += [
        f"journal booked {t['kind']} {i}; the host does not show it"
        for i, t in booked.items()
        if i not in shown
    ]
    code, refunds = host.cli("refunds", "--json")
    if code != 0 or not isinstance(refunds, list):
        return [*out, f"posterm-host refunds failed: {refunds}"]
    journal = {t["txn_id"]: t for t in txns if t["kind"] == "refund"}
    completed = {r["txn_id"] for r in refunds if r["state"] == "completed"}
    approved = {i for i, t in journal.items() if t["state"] == "approved"}
    states = {i: t["state"] for i, t in journal.items()}
    out += [
        f"refund {i} completed at the host, {states.get(i, 'unknown')} in the journal"
        for i in sorted(completed - approved)
    ]
    out += [
        f"refund {i} approved in the journal, not completed at the host"
        for i in sorted(approved - completed)
    ]
    for row in refunds:
        txn = journal.get(row["txn_id"])
        told = (_minor(row["amount"]), row["sale"])
        if txn is not None and told != (txn["amount"], txn["ref_txn"]):
            out.append(f"refund {row['txn_id']} at the host: {row['amount']} of {row['sale']}")
    return out


def queued_notifications(host: Host) -> int:
    """Refund notifications the host has not sent (or given up) yet."""
    if not host.db.exists():
        return 0
    db = sqlite3.connect(host.db)
    try:
        return int(
            db.execute("SELECT COUNT(*) FROM notifications WHERE state = 'queued'").fetchone()[0]
        )
    except sqlite3.OperationalError:  # not migrated yet
        return 0
    finally:
        db.close()


_REFERENCE = re.compile(r"\bT[0-9A-Z]{10}\b")


def refund_messages(rig: Rig, messages: list[EmailMessage], contacts: dict[str, str]) -> list[str]:
    """Every refund asked with an e-mail address (`contacts`: idempotency key -> address)
    got one message, to that address, saying what the journal says (refunded when
    approved, no money moved otherwise); copies sent again after a host kill share its
    Message-ID; no message about any other transaction."""
    by_txn: dict[str, list[EmailMessage]] = {}
    for mail in messages:
        text = str(mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]
        for ref in set(_REFERENCE.findall(text)):
            by_txn.setdefault(ref, []).append(mail)
    refunds = {t["idem_key"]: t for t in rig.txns() if t["kind"] == "refund"}
    out: list[str] = []
    told: set[str] = set()
    for key, address in contacts.items():
        txn = refunds.get(key)
        if txn is None:
            continue  # refused before it was journaled: no refund, nothing to tell
        told.add(txn["txn_id"])
        got = by_txn.get(txn["txn_id"], [])
        if len({m["Message-ID"] for m in got}) != 1:
            out.append(f"refund {txn['txn_id']} ({txn['state']}): {len(got)} messages")
            continue
        means = "has refunded" if txn["state"] == "approved" else "no money moved"
        for mail in got:
            text = str(mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]
            says = "neither"
            if "has refunded" in text:
                says = "has refunded"
            elif "No money was moved" in text:
                says = "no money moved"
            if says != means:
                out.append(f"refund {txn['txn_id']} is {txn['state']}, the customer read {says!r}")
        if any(m["To"] != address for m in got):
            out.append(f"refund {txn['txn_id']}: a message not to {address}")
    out += [f"a message about {ref}, asked without an address" for ref in by_txn if ref not in told]
    return out


def contacts_left(rig: Rig, host: Host) -> list[str]:
    """Customer e-mail addresses still in the journal or the host's database (files and
    WALs, freed pages included) once every refund is told: both must have forgotten them."""
    out = []
    for db in (rig.journal, host.db):
        for path in (db, db.with_name(db.name + "-wal")):
            if path.exists():
                found = re.findall(rb"soak-[0-9]+@example\.org", path.read_bytes())
                out += [f"{path.name}: {a.decode()}" for a in sorted(set(found))]
    return out
