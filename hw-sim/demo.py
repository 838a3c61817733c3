"""`make demo`: the whole terminal and its back office on simulated hardware, as real
processes, then a guided tour.

The rig (demo_rig.py): the PT and printer simulators, an MQTT broker, the back office
`posterm-host run` and `postermd` trusting its key, with its GPIO panel on simulated pins.

The tour, driven through the real `posterm` and `posterm-host` CLIs: a sale; paper out in
the middle of a receipt, the refill and the RECOVERED receipt; the PT link dropping after
the debit and its recovery; a partial refund above the approval limit approved from the
back office; a void; a likely double charge and its alert; end of day; then the back
office's fleet table, the lookup of a recovered receipt, the day's reconciliation, and
where the receipts' PNGs are. `--interactive` then leaves the rig running until Ctrl-C
(`--interactive --no-tour`: the rig alone, at once).
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack

from posterm.hwsim import demo_host, panel_pins
from posterm.hwsim.demo_host import poll
from posterm.hwsim.demo_rig import (
    BIN,
    OUT,
    TID,
    Rig,
    TourFailed,
    must,
    posterm,
    press,
    printed,
    printer_ctl,
    pt_ctl,
    recovered_receipt,
    say,
    start_rig,
    status,
    step,
    txn,
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--interactive",
        action="store_true",
        help="after the tour, leave the rig running until Ctrl-C",
    )
    parser.add_argument(
        "--no-tour",
        action="store_true",
        help="with --interactive: start the rig and leave it running, without the tour",
    )
    args = parser.parse_args(argv)
    if args.no_tour and not args.interactive:
        parser.error("--no-tour is for --interactive (without both, nothing would run)")
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir()
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))  # unwinds too
    # Ctrl-C: KeyboardInterrupt, also when started with SIGINT ignored (a background job)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with ExitStack() as stack:  # stops what it started, the last first, also on an error
        try:
            rig = start_rig(stack)
            if not args.no_tour:
                tour(rig)
        except TourFailed as exc:
            print(f"\nTHE TOUR FAILED: {exc}", flush=True)
            return 1
        if args.interactive:
            interactive(rig)
    print("\nEverything the demo started has stopped.")
    return 0


def tour(rig: Rig) -> None:
    host = rig.host
    journal = OUT / "journal.db"

    step("1. A sale")
    _, first = posterm("sale", "24.90", "--key", "order-1001")
    must(first.get("state") == "approved", "the first sale was not approved")
    say("the same idempotency key again: the first answer, no second debit")
    posterm("sale", "24.90", "--key", "order-1001")
    say("a card the PT declines (the simulated card is expired): no debit, no receipt")
    posterm("sale", "10.78")

    step("2. Paper runs out in the middle of a receipt; the roll is refilled")
    printer_ctl(rig, "paper-out-after:9")
    _, paper = posterm("sale", "15.00")  # the roll ends 9 lines into this receipt
    posterm("status")
    say("the customer was charged; the receipt stays pending until there is paper")
    printer_ctl(rig, "refill")
    must(
        poll(lambda: recovered_receipt(paper["txn_id"]) is not None, 20),
        "no RECOVERED receipt after the refill",
    )
    print(f"  -> printed, marked RECOVERED: printed/{recovered_receipt(paper['txn_id'])}")
    posterm("journal", "--limit", "1")

    step("3. The PT link drops after the debit, before the completion")
    pt_ctl(rig, "drop_before_completion")
    _, lost = posterm("sale", "31.00")
    say("posterm asks the PT (repeat receipt) whether it kept the payment, journals it")
    must(poll(lambda: status().get("state") == "ready", 30), "the terminal did not recover")
    recovered = txn(str(lost.get("txn_id")))
    must(
        poll(lambda: recovered_receipt(str(lost.get("txn_id"))) is not None, 20),
        "no RECOVERED receipt for the dropped sale",
    )
    print(
        f"  -> {recovered.get('txn_id')} {recovered.get('state')}, receipt "
        f"{recovered.get('receipt_state')}: printed/{recovered_receipt(recovered['txn_id'])}"
        " marked RECOVERED"
    )
    must(recovered.get("state") == "approved", "the dropped sale was not recovered as approved")
    posterm("status")

    step("3b. The same, on a PT that will not repeat its receipt: the operator decides")
    pt_ctl(rig, "refuse_repeat_receipt")
    pt_ctl(rig, "drop_before_completion")
    posterm("sale", "33.00")  # its id is in the answer; status lists it
    must(
        poll(lambda: status().get("awaiting_operator") is True, 30),
        "the terminal did not ask the operator",
    )
    print("  " + str(status().get("reason")))
    say("nothing is sold while it is in doubt")
    posterm("sale", "1.00")
    say("the supervisor finds the payment in the PT's own journal")
    pt_ctl(rig, "refuse_repeat_receipt=off")
    doubt_txn = str(status().get("in_doubt_txns", [{}])[0].get("txn_id"))
    posterm("resolve", doubt_txn, "charged", "--by", "supervisor")

    step("4. A partial refund above the approval limit (50.00), approved from the back office")
    _, big = posterm("sale", "120.00")
    _, refund = posterm("refund", big["txn_id"], "80.00", "--reason", "wrong_amount")
    must(refund.get("state") == "awaiting_approval", "the refund did not wait for approval")
    must(
        poll(lambda: host.has_event(TID, "refund.requested", refund["txn_id"]), 20),
        "the refund request never reached the back office",
    )
    code, reply = host.cli("approve", refund["txn_id"], "--by", "back office")
    result = reply.get("result", {}) if isinstance(reply, dict) else {}
    print(
        f"  -> ok {reply.get('ok') if isinstance(reply, dict) else reply}: "
        f"{result.get('txn_id')} {result.get('state')}"
    )
    must(code == 0 and result.get("state") == "approved", f"the host's approval failed: {reply}")
    say("approved twice? the terminal says no: the refund ran once")
    code, again = host.cli("approve", refund["txn_id"], "--by", "back office")
    print(f"  -> {again.get('code') if isinstance(again, dict) else again}")
    say("more than what is left of the sale: refused")
    posterm("refund", big["txn_id"], "50.00", "--reason", "duplicate_charge")

    say("the panel's supervisor key approves a refund too (postermd's GPIO on simulated pins)")
    _, other = posterm("sale", "90.00")
    _, keyed = posterm("refund", other["txn_id"], "60.00", "--reason", "goods_returned")
    press(rig, "supervisor")
    must(
        poll(lambda: txn(keyed["txn_id"]).get("state") == "approved", 20),
        "the supervisor key did not approve the refund",
    )
    shown = txn(keyed["txn_id"])
    print(
        f"  -> {shown['txn_id']} {shown['kind']} {shown['state']} {shown['amount']} "
        f"{shown['currency']} receipt {shown['receipt_state']}"
    )

    step("5. A void the same day")
    _, wrong = posterm("sale", "8.40")
    posterm("void", wrong["txn_id"])
    say("a reprint later is marked DUPLICATE")
    posterm("reprint", first["txn_id"])

    step("6. A likely double charge: the same card, the same amount, twice")
    posterm("sale", "12.50", "--key", "order-1002")
    posterm("sale", "12.50", "--key", "order-1003")  # another order: a second debit
    must(
        poll(lambda: bool(host.open_alerts("double_charge")), 20),
        "the back office raised no double_charge alert",
    )
    host.cli("alerts", "--open", json_out=False)

    step("7. End of day")
    posterm("eod")

    step("8. The back office")
    must(poll(lambda: demo_host.outbox_depth(journal) == 0, 20), "postermd's outbox did not drain")
    seqs = demo_host.outbox_seqs(journal)
    must(poll(lambda: len(host.stored(TID)) == len(seqs), 10), "the host lacks events")
    stored = host.stored(TID)
    once = len({e for e, _, _ in stored}) == len(stored) and [s for _, s, _ in stored] == seqs
    counts = Counter(t for _, _, t in stored)
    print(
        f"  posterm-host stored {len(stored)} events, seq 1..{len(seqs)}, each once: "
        f"{'yes' if once else 'NO'}; postermd's outbox: empty"
    )
    print("  " + ", ".join(f"{n} {t}" for t, n in sorted(counts.items())))
    must(once, "the host did not store every event exactly once")
    # the telemetry after end of day: the fleet table shows the terminal as it is now
    poll(lambda: (host.fleet_row(TID) or {}).get("outbox_depth") == 0, 5)
    host.cli("fleet", json_out=False)
    say("the customer of the 15.00 sale asks for the receipt the paper-out swallowed")
    code, found = host.cli("receipts", "find", "--terminal", TID, "--amount", "15.00")
    rows = found if isinstance(found, list) else []
    for row in rows:
        print(
            f"  -> {row['txn_id']} {row['kind']} {row['amount']} {row['currency']} "
            f"receipt {row['receipt']['state']}"
        )
    must(any(r["txn_id"] == paper["txn_id"] for r in rows), "the lookup missed the sale")
    host.cli("receipts", "show", paper["txn_id"], json_out=False)
    code, _ = host.cli("reconcile", json_out=False)
    must(code == 0, "the day's batch does not reconcile")
    print("\n  what the cards were charged (the PT simulator's ledger):")
    ledger = subprocess.run(
        [str(BIN / "posterm-sim"), "ledger", str(OUT / "pt-ledger.db")],
        capture_output=True,
        text=True,
        check=True,
    )
    for e in json.loads(ledger.stdout)["entries"]:
        print(
            f"    {e['kind']:9} {e['amount'] / 100:8.2f}  receipt {e['receipt_no']:04d}"
            f"  batch {e['batch']}  {e['state']}"
        )
    pngs = sorted((OUT / "printed").glob("*.png"))
    print(
        f"\n  {len(pngs)} receipts came out of the printer, as text and PNG, in {OUT / 'printed'}:"
    )
    for entry in printed():
        text = (OUT / "printed" / entry["txt"]).read_text()
        marks = [
            m
            for m in ("RECOVERED", "DUPLICATE", "REFUND", "VOID", "END OF DAY", "PAPER OUT")
            if m in text
        ]
        print(f"    {entry['png']}  {', '.join(marks) or 'SALE'}")
    print(f"  The journal is {journal}, the back office's store {host.db}; logs in {OUT}.")
    step("The fleet dashboard (posterm-host run --http)")
    print(
        f"  {host.url}  user {demo_host.WEB_USER!r}, password {demo_host.WEB_PASSWORD!r}"
        " (`make demo ARGS=--interactive` leaves it running)"
    )


def interactive(rig: Rig) -> None:
    host = rig.host
    sock = OUT / "control.sock"
    panel_opt = "" if rig.panel == panel_pins.DEFAULT_ADDR else f" --control {rig.panel}"
    step("The rig keeps running: try it (Ctrl-C stops everything)")
    print(
        f"""
  the terminal (postermd, over its control socket):
    {BIN}/posterm --socket {sock} status
    {BIN}/posterm --socket {sock} sale 9.95
    {BIN}/posterm --socket {sock} refund TXN 60.00 --reason goods_returned
  the panel's buttons (supervisor approves the oldest waiting refund, cancel rejects it,
  reprint prints the last sale again, confirm retries the PT):
    {BIN}/posterm-sim panel{panel_opt} press supervisor
    {BIN}/posterm-sim panel{panel_opt} leds
  the simulated devices:
    {BIN}/posterm-sim ctl --control {rig.printer["control"]} paper-out   (then: refill)
    {BIN}/posterm-sim pt-ctl --control {rig.pt_control} drop_before_completion
    {BIN}/posterm-sim ledger {OUT / "pt-ledger.db"}
  the back office: the dashboard {host.url} (user {demo_host.WEB_USER}, password
  {demo_host.WEB_PASSWORD}), or its CLI:
    {BIN}/posterm-host --config {host.config} fleet
    {BIN}/posterm-host --config {host.config} refunds --pending
    {BIN}/posterm-host --config {host.config} approve TXN
    {BIN}/posterm-host --config {host.config} alerts --open
  receipts (text and PNG): {OUT / "printed"}
""",
        flush=True,
    )
    try:
        while True:
            signal.pause()  # a signal handler ends it (SIGTERM: SystemExit), or Ctrl-C
    except KeyboardInterrupt:
        print(
            "\n  Ctrl-C: stopping postermd, posterm-host, the broker and the simulators", flush=True
        )


if __name__ == "__main__":
    sys.exit(main())
