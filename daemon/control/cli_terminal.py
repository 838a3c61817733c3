"""`posterm sale|refund|void|reprint|approve|reject|resolve|status|journal|eod|abort`: the operator
commands, sent to `postermd` over its control socket. `--json` prints the reply's result
(one object, or an array for `journal`). TXN is a transaction id, `last` (the latest one the
operation makes sense for) or the PT's receipt number. Exit codes: 0 done, 1 refused or
declined, 3 postermd not reachable, 64 a wrong command line, 65 wrong input (an amount, an
unknown or ambiguous TXN); nothing changes on a refusal."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from posterm.daemon.control.cli_text import human
from posterm.daemon.control.client import ControlClient, ControlError
from posterm.protocol.clitext import exit_code
from posterm.protocol.errorcodes import ErrorCode

EX_NO_DAEMON = 3
TXN_HELP = "a transaction id, 'last', or the PT's receipt number"

DEFAULT_SOCKET = "/run/posterm/control.sock"
REASONS = [
    "wrong_amount",
    "wrong_card",
    "goods_returned",
    "service_problem",
    "duplicate_charge",
    "other",
]


def register(sub: Any) -> None:
    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(name, help=help_text)
        p.add_argument("--json", action="store_true", help="print the reply as JSON")
        p.set_defaults(run=run)
        return p

    p = command("sale", "charge AMOUNT (decimal, major units: 12.50)")
    p.add_argument("amount")
    p.add_argument("--key", help="idempotency key: the same key never charges twice")
    p = command("refund", "refund AMOUNT of sale TXN")
    p.add_argument(
        "txn",
        help="the sale: its id, 'last' (the latest sale), its PT receipt number;"
        " 'none' for a refund without a sale (if configured)",
    )
    p.add_argument("amount")
    p.add_argument("--reason", choices=REASONS, default="goods_returned")
    p.add_argument("--text", help="free text (required for --reason other)")
    p.add_argument("--key", help="idempotency key")
    p.add_argument("--notify-email", help="tell the customer the outcome by e-mail (not printed)")
    p.add_argument("--notify-phone", help="... or by SMS: an E.164 number like +4915112345678")
    p.add_argument("--notify-lang", choices=("en", "de", "zh"), help="the message's language")
    p = command("void", "reverse sale TXN (same day, before end of day)")
    p.add_argument("txn", help=TXN_HELP + " ('last': the latest sale)")
    p.add_argument("--key", help="idempotency key")
    p = command("reprint", "print TXN's customer receipt again, marked DUPLICATE")
    p.add_argument("txn", help=TXN_HELP + " ('last': the latest with a receipt)")
    for name in ("approve", "reject"):
        p = command(name, f"{name} refund TXN that awaits approval")
        p.add_argument("txn")
        p.add_argument("--by", default="operator", help="who decides (journaled)")
    p = command("resolve", "decide in-doubt TXN after checking the PT's own journal")
    p.add_argument("txn")
    p.add_argument("outcome", choices=["charged", "not-charged"])
    p.add_argument("--by", required=True, help="who checked the PT and decides (journaled)")
    command("status", "the terminal's state and why")
    p = command("journal", "the latest transactions: time, kind, amount, card, state")
    p.add_argument(
        "--last", "--limit", dest="limit", type=int, default=20, metavar="N", help="how many"
    )
    command("eod", "end of day: close the batch and print the totals")
    command("abort", "abort the operation in progress")


def _request(args: argparse.Namespace) -> dict[str, Any]:
    request: dict[str, Any] = {"cmd": args.group}
    for name in (
        "amount",
        "txn",
        "outcome",
        "key",
        "reason",
        "text",
        "by",
        "limit",
        "notify_email",
        "notify_phone",
        "notify_lang",
    ):
        value = getattr(args, name, None)
        if value is not None:
            request[name] = value
    if args.group == "refund" and request.get("txn") == "none":
        del request["txn"]
        request["unreferenced"] = True
    return request


def run(args: argparse.Namespace) -> int:
    try:
        reply = ControlClient(args.socket, timeout=args.timeout).request(_request(args))
    except ControlError as exc:
        if args.json:
            print(json.dumps({"ok": False, "code": ErrorCode.NO_DAEMON, "error": str(exc)}))
        else:
            print(f"posterm: {exc}", file=sys.stderr)
        return EX_NO_DAEMON
    if not reply.get("ok"):
        if args.json:
            print(json.dumps(reply))
        else:
            print(
                f"posterm {args.group}: {reply.get('error')} [{reply.get('code')}]", file=sys.stderr
            )
        return exit_code(reply.get("code"))
    result = reply.get("result")
    print(json.dumps(result) if args.json else human(args.group, result))
    return 0
