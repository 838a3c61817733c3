"""`posterm printer`: talk straight to a receipt printer (installers and support).

`posterm printer --url URL [--columns 32|42|48] [--encoding cp437|cp858|gb18030]
status [--json] | test | receipt FILE.json` — exit code 0 only on success.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from posterm.drivers.printer import Printer, PrinterError, Receipt


def register(sub: Any) -> None:
    p = sub.add_parser(
        "printer",
        help="talk straight to an ESC/POS receipt printer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--url", required=True, help="tcp://host:9100, serial:///dev/x?baud=N, usb://V:P"
    )
    p.add_argument("--columns", type=int, choices=(32, 42, 48), default=42)
    p.add_argument("--encoding", choices=("cp437", "cp858", "gb18030"), default="cp858")
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--json", action="store_true")
    p.add_argument("operation", choices=("status", "test", "receipt"))
    p.add_argument("file", nargs="?", type=Path, help="receipt as JSON (for `receipt`)")
    p.set_defaults(run=run)


def _receipt_from(path: Path) -> Receipt:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("a receipt is a JSON object")
    for key in ("header", "body", "notes", "footer"):
        if key in data:
            data[key] = tuple(data[key])
    if "items" in data:
        data["items"] = tuple(tuple(item) for item in data["items"])
    if data.get("total") is not None:
        data["total"] = tuple(data["total"])
    return Receipt(**data)


TEST_RECEIPT = Receipt(
    title="TEST PRINT",
    header=("posterm", "printer test"),
    items=(("Euro sign", "1.00 €"), ("Umlauts", "äöü ß")),
    total=("TOTAL", "1.00 EUR"),
    footer=("If you can read this,", "the printer works."),
    qr="posterm-test",
)


def run(args: argparse.Namespace) -> int:
    printer = Printer(args.url, columns=args.columns, encoding=args.encoding, timeout=args.timeout)
    try:
        if args.operation == "status":
            status = printer.status()
            if args.json:
                print(json.dumps({**asdict(status), "ready": status.ready, "text": status.text()}))
            else:
                print(f"printer: {status.text()} ({'ready' if status.ready else 'NOT ready'})")
            return 0 if status.ready else 1
        if args.operation == "receipt" and args.file is None:
            print("posterm printer receipt: give the receipt FILE.json", file=sys.stderr)
            return 2
        receipt = TEST_RECEIPT if args.operation == "test" else _receipt_from(args.file)
        printer.print(receipt)
        print(json.dumps({"ok": True}) if args.json else "printed")
        return 0
    except (PrinterError, ValueError, OSError, TypeError) as exc:
        if args.json:
            print(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}))
        else:
            print(f"posterm printer: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        printer.close()
