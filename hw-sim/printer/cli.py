"""`posterm-sim printer` (the simulated ESC/POS printer) and `posterm-sim ctl` (its faults)."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from posterm.hwsim import control
from posterm.hwsim.printer.device import CONTROLS, SimPrinter
from posterm.hwsim.printer.server import PrinterServer

# what paper.py draws with, import name -> distribution: the `sim` extra
SIM_LIBRARIES = {"PIL": "Pillow", "qrcode": "qrcode"}

EPILOG = """Each cut writes OUT/NNNN.txt (the text; a QR code shows as [QR: content]) and
OUT/NNNN.png (the paper at the printer's dot width; not with --no-png, whose "png" is null),
and a line in OUT/index.jsonl.
Answers DLE EOT 1/2/3/4 on arrival like an Epson TM-T20/T88, GS r 1 in turn.

Faults at start: --near-end, --paper-out-after-lines N (mid-receipt: the printer stops
and the rest of the job is lost), --cover-open, --offline (answers nothing, prints
nothing), --bytes-per-second N (how fast it prints; its 16 KiB receive buffer then fills
and the host's writes block).

Control channel: --control tcp://HOST:PORT opens a TCP socket that takes one JSON object
per line, {"action": "..."}, and answers one JSON object per line with the state. The
ctl command sends one action:
  posterm-sim ctl --control tcp://HOST:PORT paper-out | paper-out-after:N | refill |
      cover-open | cover-close | offline | online | near-end | near-end-off |
      cutter-error | recover | status"""


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a whole number >= 1")
    return int(text)


def _rate(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: a whole number >= 0 (0: no limit)")
    return int(text)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "printer",
        help="simulated ESC/POS receipt printer (TCP and/or pty)",
        description="An ESC/POS printer that answers status like an Epson TM.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--listen", type=control.hostport, help="tcp://HOST:PORT (port 0: any free port)"
    )
    p.add_argument("--pty", type=Path, help="create a pty; LINK becomes a symlink to its slave")
    p.add_argument("--out", type=Path, required=True, help="where printed receipts go")
    p.add_argument("--control", type=control.hostport, help="tcp://HOST:PORT control socket")
    p.add_argument(
        "--width-dots",
        type=int,
        default=576,
        choices=(384, 512, 576),
        help="paper width in dots: 384 (58 mm), 512 or 576 (80 mm)",
    )
    p.add_argument("--near-end", action="store_true", help="the paper roll is near its end")
    p.add_argument(
        "--paper-out-after-lines",
        type=_positive,
        metavar="N",
        help="the paper runs out after N more printed lines",
    )
    p.add_argument("--cover-open", action="store_true", help="start with the cover open")
    p.add_argument("--offline", action="store_true", help="answer nothing, print nothing")
    p.add_argument(
        "--bytes-per-second",
        type=_rate,
        default=0,
        metavar="N",
        help="print at most N bytes a second (default 0: no limit)",
    )
    p.add_argument(
        "--no-png",
        action="store_true",
        help="write each receipt's text only, not its PNG (drawing it takes tens of ms "
        "a receipt before the job's GS r is answered: benchmarks of the terminal use this)",
    )
    p.set_defaults(run=run_printer)

    c = sub.add_parser(
        "ctl",
        help="change a running simulated printer (paper, cover, ...)",
        description="Send one action to a printer simulator's control channel "
        "(TCP, one JSON object per line); prints the printer's state as JSON.",
    )
    c.add_argument("--control", type=control.hostport, required=True, help="tcp://HOST:PORT")
    c.add_argument("action", help=" | ".join(CONTROLS))
    c.set_defaults(run=run_ctl)


def run_printer(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    if not args.listen and not args.pty:
        print("posterm-sim printer: give --listen and/or --pty", file=sys.stderr)
        return 2
    try:
        from posterm.hwsim.printer.paper import (  # noqa: PLC0415 - Pillow/qrcode are optional
            PaperOut,
            cjk_font_available,
        )
    except ImportError as exc:
        missing = SIM_LIBRARIES.get((exc.name or "").partition(".")[0])
        if missing is None:
            raise
        print(
            f"posterm-sim printer: {missing} is not installed (the simulated paper needs "
            "Pillow and qrcode): pip install 'posterm[sim]'",
            file=sys.stderr,
        )
        return 2
    try:
        paper = PaperOut(args.out, args.width_dots, png=not args.no_png)
    except OSError as exc:
        print(f"posterm-sim printer: cannot write to {args.out}: {exc}", file=sys.stderr)
        return 2
    if not cjk_font_available():
        logging.warning("sim printer: no CJK font found: Chinese prints as boxes")
    device = SimPrinter(
        paper,
        near_end=args.near_end,
        paper_out_after_lines=args.paper_out_after_lines,
        cover_open=args.cover_open,
        offline=args.offline,
    )
    server = PrinterServer(device, args.bytes_per_second)
    try:
        if args.listen:
            port = server.listen_tcp(*args.listen)
            print(f"printer listening on tcp://{args.listen[0]}:{port}", flush=True)
        if args.pty:
            print(f"printer pty {args.pty} -> {server.open_pty(args.pty)}", flush=True)
        if args.control:
            port = server.listen_control(*args.control)
            print(f"printer control on tcp://{args.control[0]}:{port}", flush=True)
    except OSError as exc:
        print(f"posterm-sim printer: {exc}", file=sys.stderr)
        server.stop()
        return 2
    signal.signal(signal.SIGTERM, lambda *_: server.stop())
    signal.signal(signal.SIGINT, lambda *_: server.stop())
    print("printer ready", flush=True)
    server.wait()
    return 0


def run_ctl(args: argparse.Namespace) -> int:
    try:
        reply = control.request(args.control, {"action": args.action})
    except (OSError, ValueError) as exc:
        print(f"posterm-sim ctl: cannot reach the printer simulator: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(reply, indent=2))
    return 0 if reply.get("ok") else 1
