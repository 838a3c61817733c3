"""`posterm sale|refund|void|reprint|approve|reject|resolve|status|journal|eod|abort`: the operator
commands, sent to `postermd` over its control socket. `--json` prints the reply's result
(one object, or an array for `journal`); the exit code is 0 only on success."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from posterm.daemon.control.client import ControlClient, ControlError
from posterm.protocol.errorcodes import ErrorCode

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
    p.add_argument("txn", help="the sale; 'none' for a refund without a sale (if configured)")
    p.add_argument("amount")
    p.add_argument("--reason", choices=REASONS, default="goods_returned")
    p.add_argument("--text", help="free text (required for --reason other)")
    p.add_argument("--key", help="idempotency key")
    p.add_argument("--notify-email", help="tell the customer the outcome by e-mail (not printed)")
    p.add_argument("--notify-phone", help="... or by SMS: an E.164 number like +4915112345678")
    p.add_argument("--notify-lang", choices=("en", "de", "zh"), help="the message's language")
    p = command("void", "reverse sale TXN (same day, before end of day)")
    p.add_argument("txn")
    p.add_argument("--key", help="idempotency key")
    p = command("reprint", "print TXN's customer receipt again, marked DUPLICATE")
    p.add_argument("txn")
    for name in ("approve", "reject"):
        p = command(name, f"{name} refund TXN that awaits approval")
        p.add_argument("txn")
        p.add_argument("--by", default="operator", help="who decides (journaled)")
    p = command("resolve", "decide in-doubt TXN after checking the PT's own journal")
    p.add_argument("txn")
    p.add_argument("outcome", choices=["charged", "not-charged"])
    p.add_argument("--by", required=True, help="who checked the PT and decides (journaled)")
    command("status", "the terminal's state and why")
    p = command("journal", "the latest transactions")
    p.add_argument("--limit", type=int, default=20)
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


def _human(result: Any) -> str:
    if isinstance(result, list):
        return "\n".join(_human(item) for item in result) or "(no transactions)"
    if "txn_id" in result:
        return (
            f"{result['txn_id']}  {result['kind']:6} {result['state']:20} "
            f"{result['amount']:>10} {result['currency']}  receipt {result.get('receipt_no')}"
            f"  ({result['receipt_state']} receipt)"
        )
    return "\n".join(
        f"{k:18} {json.dumps(v) if isinstance(v, dict | list) else v}" for k, v in result.items()
    )


def run(args: argparse.Namespace) -> int:
    try:
        reply = ControlClient(args.socket, timeout=args.timeout).request(_request(args))
    except ControlError as exc:
        if args.json:
            print(json.dumps({"ok": False, "code": ErrorCode.NO_DAEMON, "error": str(exc)}))
        else:
            print(f"posterm: {exc}", file=sys.stderr)
        return 3
    if not reply.get("ok"):
        if args.json:
            print(json.dumps(reply))
        else:
            print(
                f"posterm {args.group}: {reply.get('error')} [{reply.get('code')}]", file=sys.stderr
            )
        return 1
    result = reply.get("result")
    print(json.dumps(result) if args.json else _human(result))
    return 0
