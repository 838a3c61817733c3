"""`posterm-host refunds | receipts find|show | reconcile`: the back office's read-only
lookups (host/lookup.py, host/reconcile.py) on the command line."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from posterm.host import cli_output as out
from posterm.host import lookup, reconcile
from posterm.host.alerts import engine as alert_engine
from posterm.host.cli_output import fail as _fail
from posterm.host.cli_output import show as _print
from posterm.host.config import HostConfig
from posterm.host.store import Store
from posterm.protocol.clitext import cell, fields, last4, table


def _find_limit(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 1_000_000:
        raise argparse.ArgumentTypeError("a whole number, 1-1000000")
    return int(value)


def add_lookup_parsers(sub: Any) -> None:
    p = sub.add_parser("refunds", help="refunds: reason, amount, sale, approver, timeliness")
    p.add_argument("--pending", action="store_true", help="only those awaiting approval")
    p.add_argument("--stats", action="store_true", help="per terminal and fleet-wide figures")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("receipts", help="transactions and their customer receipts")
    what = p.add_subparsers(dest="receipts", required=True)
    p = what.add_parser(
        "find",
        help="sales, refunds and voids that match, of one terminal or of every terminal",
    )
    p.add_argument(
        "--terminal",
        help="only this terminal's (without it: every terminal's, and an amount, --last4"
        " or a time range is required)",
    )
    p.add_argument("--amount", help="decimal, e.g. 12.50")
    p.add_argument("--last4", help="the card number's last four digits")
    p.add_argument("--from", dest="since", metavar="ISO", help="ISO 8601 time (UTC if no zone)")
    p.add_argument("--to", dest="until", metavar="ISO", help="ISO 8601 time (UTC if no zone)")
    p.add_argument(
        "--limit",
        type=_find_limit,
        default=lookup.FIND_LIMIT,
        help=f"show the newest N matches (default {lookup.FIND_LIMIT}; 1-1000000)",
    )
    p.add_argument("--json", action="store_true")
    p = what.add_parser("show", help="a transaction and the text of its customer receipt")
    p.add_argument("txn")
    p.add_argument(
        "--terminal",
        help="the terminal of the transaction (required when several terminals used the id)",
    )
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("reconcile", help="a day's batches: events, terminal and PT side by side")
    p.add_argument("--date", help="YYYY-MM-DD (UTC; default today)")
    p.add_argument("--terminal")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true")
    out.add_argument("--csv", action="store_true", help="a file an accountant can open")


def lookup_command(store: Store, args: argparse.Namespace) -> int:
    try:
        if args.command == "refunds":
            rows = lookup.refunds(store, pending=args.pending)
            data: Any = lookup.refund_stats(rows) if args.stats else rows
        elif args.receipts == "find":
            newest, note = lookup.search(
                store,
                args.terminal,
                amount=args.amount,
                last4=args.last4,
                since=args.since,
                until=args.until,
                limit=args.limit,
            )
            data = newest[::-1]  # oldest first, as before a limit
            if note:
                print(f"posterm-host: {note}", file=sys.stderr)
        else:
            data = lookup.show(store, args.txn, args.terminal)
    except lookup.LookupFailed as exc:
        return _fail(args.json, exc.code, exc.message)
    if args.json:
        print(json.dumps(data))
    elif args.command == "refunds" and args.stats:
        figures = [
            {"name": k, **v} for k, v in [*data["terminals"].items(), ("fleet", data["fleet"])]
        ]
        keys = [(k, k.upper().replace("_", " ")) for k in figures[0]]
        print(table(figures, keys))
    elif args.command == "refunds":
        empty = "no refunds await approval" if args.pending else "no refunds yet"
        _print(out.refund_rows(rows), False, out.REFUNDS, empty)
    elif args.receipts == "find":
        shown = [
            txn | {"money": out.money(txn), "card": last4(txn.get("masked_pan"))} for txn in data
        ]
        _print(shown, False, out.TXNS, "no receipts match")
    else:
        _print_txn(data)
    return 0


def reconcile_command(config: HostConfig, store: Store, args: argparse.Namespace) -> int:
    """Exit 0 when every batch of the day agrees, 1 when one differs, a terminal sold and
    never closed the day, or there is no batch to look at for a named terminal; 2 on bad
    input. A batch that differs raises the
    `reconcile_mismatch` alert (stored, to the webhooks); one that agrees clears it."""
    try:
        rows = reconcile.reconcile(
            store, day=reconcile.parse_day(args.date), terminal=args.terminal
        )
    except reconcile.ReconcileError as exc:
        return _fail(args.json, exc.code, exc.message)
    alert_engine.Alerter(store, config.alerts, webhooks=config.webhooks).reconciled(rows)
    if args.json:
        print(json.dumps(rows))
    elif args.csv:
        sys.stdout.write(reconcile.to_csv(rows))
    else:
        for row in rows:
            if row["closed_at"] is None:  # sold, never closed
                print(f"{row['terminal']} NEVER CLOSED: {row['differences'][0]['detail']}")
                continue
            verdict = "agrees" if row["ok"] else "DIFFERS"
            print(f"{row['terminal']} batch {row['batch_no']} closed {row['closed_at']}: {verdict}")
            for side in ("events", "terminal_totals"):
                print(f"  {side.replace('_', ' '):16} {cell(row[side])}")
            print(f"  {'PT total':16} {cell(row['pt_total'])}")
            for diff in row["differences"]:
                print(f"  ! {diff['what']}: {diff['detail']} {' '.join(diff['txns'])}".rstrip())
        if not rows:
            print("no batch was closed on that day")
    if args.terminal is not None and not rows:
        return 1  # nothing to reconcile for that terminal is no agreement
    return 0 if all(row["ok"] for row in rows) else 1


def _print_txn(txn: dict[str, Any]) -> None:
    receipt = txn["receipt"]
    print(fields({k: v for k, v in txn.items() if v is not None}, skip=("receipt",)))
    print(
        f"  receipt: {receipt['state']}" + (f" -- {receipt['note']}" if "note" in receipt else "")
    )
    for line in receipt["lines"]:
        print(f"  | {line}")
    print()
