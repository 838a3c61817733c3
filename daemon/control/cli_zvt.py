"""`posterm zvt`: talk straight to a payment terminal (installers and support).

`posterm zvt --pt URL [--password P] [--json] sale AMOUNT | reverse RECEIPT_NO |
refund AMOUNT | repeat | eod | status | diagnosis | register | abort | logoff`
Exit code 0 only when the operation succeeded.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import TYPE_CHECKING, Any

from posterm.protocol import money
from posterm.protocol.clitext import EX_DATAERR

if TYPE_CHECKING:  # the ZVT client loads in `run`: `posterm sale` starts fast
    from posterm.drivers.zvt.client import PaymentTerminal
    from posterm.drivers.zvt.results import Result

OPERATIONS = (
    "sale",
    "reverse",
    "refund",
    "repeat",
    "eod",
    "status",
    "diagnosis",
    "register",
    "abort",
    "logoff",
)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "zvt",
        help="talk straight to a ZVT payment terminal",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--pt", required=True, help="tcp://host:port or serial:///dev/ttyX?baud=9600")
    p.add_argument("--password", default="000000", help="the PT's 6-digit password")
    p.add_argument("--currency", default="EUR", help="ISO 4217 code (default EUR)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-register", action="store_true", help="skip the registration (06 00)")
    p.add_argument("--t4", type=float, default=180.0, help="seconds to wait for the end")
    p.add_argument("-v", "--verbose", action="store_true")
    p.add_argument("operation", choices=OPERATIONS)
    p.add_argument("arg", nargs="?", help="AMOUNT for sale/refund, RECEIPT_NO for reverse")
    p.set_defaults(run=run)


def _execute(pt: PaymentTerminal, args: argparse.Namespace, currency: str) -> Result:
    op = args.operation
    if op in ("sale", "refund"):
        if args.arg is None:
            raise ValueError(f"{op} needs an AMOUNT, like 12.50")
        amount = money.parse_amount(args.arg, currency)
        if op == "sale":
            return pt.authorize(amount)
        return pt.refund(amount)
    if op == "reverse":
        if args.arg is None or not args.arg.isdigit() or not 0 <= int(args.arg) <= 9999:
            raise ValueError("reverse needs the RECEIPT_NO (0..9999) of the payment")
        return pt.reverse(int(args.arg))
    if args.arg is not None:
        raise ValueError(f"{op} takes no argument")
    return {
        "repeat": pt.repeat_receipt,
        "eod": pt.end_of_day,
        "status": pt.status_enquiry,
        "diagnosis": pt.diagnosis,
        "register": pt.register,
        "abort": pt.abort,
        "logoff": pt.log_off,
    }[op]()


def summary(result: Result, currency: str) -> dict[str, Any]:
    data = result.to_json()
    code = money.currency_from_numeric(result.currency) if result.currency else currency
    data["currency"] = code
    data["amount"] = money.format_amount(result.amount, code) if result.amount is not None else None
    return data


def _print(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(data, ensure_ascii=False))
        return
    verdict = "APPROVED" if data["approved"] else "NOT APPROVED"
    print(f"{data['command']}: {verdict} — {data['result_text']} (code {data['result_code']:02X})")
    for key in (
        "amount",
        "currency",
        "receipt_no",
        "trace",
        "terminal_id",
        "card_name",
        "masked_pan",
        "terminal_status_text",
        "sw_version",
        "error",
    ):
        if data.get(key) is not None:
            print(f"  {key:12} {data[key]}")
    for receipt in data.get("receipts", []):
        print(f"  --- {receipt['type'] or 'receipt'} ---")
        for line in receipt["lines"]:
            print(f"  {line}")


def run(args: argparse.Namespace) -> int:
    from posterm.drivers.zvt.client import PaymentTerminal  # noqa: PLC0415 (lazy: see the top)
    from posterm.drivers.zvt.errors import ZvtDeclined  # noqa: PLC0415 (lazy: see the top)
    from posterm.protocol.zvt.errors import ZvtError  # noqa: PLC0415 (lazy: see the top)

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(message)s",
    )
    currency = args.currency.upper()
    try:
        numeric = money.currency_numeric(currency)
        with PaymentTerminal(args.pt, args.password, currency=numeric, t4=args.t4) as pt:
            if not args.no_register and args.operation not in ("register", "abort", "logoff"):
                pt.register()
            result = _execute(pt, args, currency)
    except ZvtDeclined as exc:
        data = summary(exc.result, currency)
        _print(data, args.json)
        return 1
    except (ZvtError, ValueError) as exc:
        data = {
            "command": args.operation,
            "approved": False,
            "result_code": -1,
            "result_text": "failed",
            "error": f"{type(exc).__name__}: {exc}",
            "amount": None,
            "currency": currency,
            "receipt_no": None,
            "trace": None,
            "masked_pan": None,
            "receipt_lines": [],
        }
        if args.json:
            print(json.dumps(data))
        else:
            print(f"posterm zvt {args.operation}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EX_DATAERR if isinstance(exc, ValueError) else 1
    data = summary(result, currency)
    _print(data, args.json)
    return 0 if result.approved else 1
