"""`posterm-sim pt`, `posterm-sim pt-ctl` and `posterm-sim ledger`: the simulated ZVT PT."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from posterm.hwsim import control
from posterm.hwsim.pt import ledger as ledger_mod
from posterm.hwsim.pt.engine import PtConfig, PtEngine
from posterm.hwsim.pt.faults import FAULTS, Faults
from posterm.hwsim.pt.outcomes import CARDS, HELP
from posterm.hwsim.pt.server import PtServer

FAULT_HELP = "faults (--fault NAME at start, or at run time with pt-ctl):\n" + "\n".join(
    f"  {name:24} {text}" for name, text in FAULTS.items()
)


def register(sub: Any) -> None:
    pt = sub.add_parser(
        "pt",
        help="simulated ZVT payment terminal (TCP and/or pty)",
        description="A ZVT payment terminal that speaks the real protocol, with a ledger.",
        epilog=HELP + "\n\n" + FAULT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    pt.add_argument(
        "--listen", type=control.hostport, help="tcp://HOST:PORT (port 0: any free port)"
    )
    pt.add_argument("--pty", type=Path, help="create a pty; LINK becomes a symlink to its slave")
    pt.add_argument("--ledger", type=Path, required=True, help="SQLite ledger file")
    pt.add_argument("--control", type=control.hostport, help="tcp://HOST:PORT control socket")
    pt.add_argument("--terminal-id", default="29001234")
    pt.add_argument("--password", default="000000")
    pt.add_argument("--card", choices=sorted(CARDS), default="visa")
    pt.add_argument("--ack-timeout", type=float, default=5.0, help="wait for the ECR's acks (s)")
    pt.add_argument("--slow-seconds", type=float, default=1.0, help="slow host delay (.99)")
    pt.add_argument("--step-delay", type=float, default=0.0, help="pause between messages (s)")
    pt.add_argument(
        "--baud",
        type=int,
        default=0,
        help="make the pty take 8N2 line time at this baud rate (both ways)",
    )
    pt.add_argument(
        "--status-timeout",
        type=int,
        default=0,
        metavar="MIN",
        help="timeout byte of every 04 FF: sets the ECR's T4 in minutes (0-99; 0 = unchanged)",
    )
    pt.add_argument("--fault", action="append", default=[], choices=sorted(FAULTS))
    pt.add_argument("-v", "--verbose", action="store_true")
    pt.set_defaults(run=run_pt)

    ctl = sub.add_parser("pt-ctl", help="set faults of a running simulated PT")
    ctl.add_argument("--control", type=control.hostport, required=True)
    ctl.add_argument("action", help="FAULT-NAME[=off] | drop | faults | ledger", metavar="ACTION")
    ctl.set_defaults(run=run_ctl)

    led = sub.add_parser("ledger", help="print a simulated PT's ledger")
    led.add_argument("file", type=Path)
    led.add_argument("--json", action="store_true", help="JSON (the default and only format)")
    led.set_defaults(run=run_ledger)


def run_pt(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(message)s",
        stream=sys.stderr,
    )
    if not args.listen and not args.pty:
        print("posterm-sim pt: give --listen and/or --pty", file=sys.stderr)
        return 2
    config = PtConfig(
        terminal_id=args.terminal_id,
        password=args.password,
        card=args.card,
        ack_timeout=args.ack_timeout,
        slow_seconds=args.slow_seconds,
        step_delay=args.step_delay,
        status_timeout_min=args.status_timeout,
    )
    faults = Faults()
    for name in args.fault:
        faults.set(name)
    server = PtServer(PtEngine(ledger_mod.Ledger(args.ledger), config, faults))
    if args.listen:
        port = server.listen_tcp(*args.listen)
        print(f"pt listening on tcp://{args.listen[0]}:{port}", flush=True)
    if args.pty:
        slave = server.open_pty(args.pty, args.baud)
        print(f"pt pty {args.pty} -> {slave}", flush=True)
    if args.control:
        port = server.listen_control(*args.control)
        print(f"pt control on tcp://{args.control[0]}:{port}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: server.stop())
    signal.signal(signal.SIGINT, lambda *_: server.stop())
    print("pt ready", flush=True)
    server.wait()
    return 0


def run_ctl(args: argparse.Namespace) -> int:
    action: str = args.action
    if action in ("drop", "faults", "ledger"):
        request: dict[str, Any] = {action: True}
    else:
        name, _, value = action.partition("=")
        request = {"fault": name, "on": value != "off"}
    try:
        reply = control.request(args.control, request)
    except OSError as exc:
        print(f"posterm-sim pt-ctl: cannot reach the simulator: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(reply, indent=2))
    return 0 if reply.get("ok") else 1


def run_ledger(args: argparse.Namespace) -> int:
    if not args.file.exists():
        print(f"posterm-sim ledger: no ledger at {args.file}", file=sys.stderr)
        return 1
    print(ledger_mod.dump(args.file))
    return 0
