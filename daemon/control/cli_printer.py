"""`posterm printer`: talk straight to a receipt printer (installers and support).

`posterm printer --url URL [--profile NAME] [--columns N] [--encoding cp437|cp858|gb18030]
status [--json] | test | receipt FILE.json`; `posterm printer profiles [--json]` lists the
printer models posterm knows ([printer] profile). — exit code 0 only on success (status: the
printer is ready), 1 when the printer failed or is not ready, 2 for bad input.
A receipt file is the JSON form of `posterm.drivers.printer.Receipt`, e.g.
{"title": "SALE", "header": ["Shop"], "items": [["Coffee", "2.50 EUR"]],
 "total": ["TOTAL", "2.50 EUR"], "body": ["PT lines"], "footer": ["Thanks"],
 "copy": "customer", "banner": null, "signature": false, "qr": "T0001"}.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from posterm.drivers.printer import (
    Printer,
    PrinterConfigError,
    PrinterError,
    Receipt,
    ReceiptError,
)
from posterm.drivers.printer import profile as profiles
from posterm.drivers.printer.render import ENCODINGS
from posterm.protocol.clitext import EX_DATAERR, EX_USAGE, table

TEST_RECEIPT = Receipt(
    title="TEST PRINT",
    header=("posterm", "printer test"),
    items=(("Euro sign", "1.00 €"), ("Umlauts", "äöü ß")),
    total=("TOTAL", "1.00 EUR"),
    footer=("If you can read this,", "the printer works."),
    qr="posterm-test",
)
TEST_RECEIPT_ZH = Receipt(
    title="打印测试",
    header=("posterm", "打印机测试"),
    items=(("中文", "1.00 元"),),
    total=("合计", "1.00 元"),
    footer=("能读到这些字", "打印机就正常"),
    qr="posterm-test",
)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "printer",
        help="talk straight to an ESC/POS receipt printer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--url", help="tcp://host:9100, serial:///dev/x?baud=N, usb://VID:PID (not for profiles)"
    )
    p.add_argument(
        "--profile", default="default", help="the printer model's profile ([printer] profile)"
    )
    p.add_argument("--columns", type=int, help="fewer columns than the profile's")
    p.add_argument("--encoding", choices=("cp437", "cp858", "gb18030"), default="cp858")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds for each write/answer")
    p.add_argument("--job-timeout", type=float, default=30.0, help="seconds for a job's cut")
    p.add_argument("--json", action="store_true", help="answer in JSON")
    p.add_argument("operation", choices=("status", "test", "receipt", "profiles"))
    p.add_argument("file", nargs="?", type=Path, help="receipt as JSON (for `receipt`)")
    p.set_defaults(run=run)


def _load(path: Path) -> Receipt:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReceiptError(f"receipt: cannot read {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:  # bad JSON or bad UTF-8
        raise ReceiptError(f"receipt: {path} is not JSON: {exc}") from exc
    return Receipt.from_dict(data)


def _fail(args: argparse.Namespace, exc: Exception, code: int) -> int:
    if args.json:
        print(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}))
    else:
        print(f"posterm printer: {exc}", file=sys.stderr)
    return code


def _profiles(as_json: bool) -> int:
    rows = []
    for name in profiles.names():
        found = profiles.load(name)
        rows.append(
            {
                "profile": name,
                "model": f"{found.data.get('vendor', '')} {found.data.get('name', '')}".strip(),
                "columns": found.columns,
                "cutter": found.cut,
                "qr": found.qr,
                "gb18030": found.gb18030,
                "code_pages": sorted(p for p in found.code_pages if p in ENCODINGS),
            }
        )
    if as_json:
        print(json.dumps(rows))
        return 0
    titles = [("profile", "PROFILE"), ("model", "MODEL"), ("columns", "COLUMNS")]
    titles += [("cutter", "CUTTER"), ("qr", "QR"), ("gb18030", "GB18030")]
    print(table(rows, [*titles, ("code_pages", "CODE PAGES")]))
    print("posterm needs a cutter; encoding is one of the profile's code pages or GB18030")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.operation == "profiles":
        return _profiles(args.json)
    if not args.url:
        print("posterm printer: --url is required for status, test and receipt", file=sys.stderr)
        return EX_USAGE
    try:
        printer = Printer(
            args.url,
            columns=args.columns,
            encoding=args.encoding,
            profile=args.profile,
            timeout=args.timeout,
            job_timeout=args.job_timeout,
        )
        if args.operation == "receipt" and args.file is None:
            raise ReceiptError("receipt: give the receipt FILE.json")
        if args.operation == "receipt":
            receipt = _load(args.file)
        else:
            receipt = TEST_RECEIPT_ZH if args.encoding == "gb18030" else TEST_RECEIPT
    except (PrinterConfigError, ReceiptError) as exc:
        return _fail(args, exc, EX_DATAERR)
    try:
        if args.operation == "status":
            status = printer.status()
            if args.json:
                print(json.dumps({**asdict(status), "ready": status.ready, "text": status.text()}))
            else:
                print(f"printer: {status.text()} ({'ready' if status.ready else 'NOT ready'})")
            return 0 if status.ready else 1
        printer.print(receipt)
        print(json.dumps({"ok": True}) if args.json else "printed")
        return 0
    except PrinterError as exc:
        return _fail(args, exc, 1)
    finally:
        printer.close()
