"""`posterm-host resolve TERMINAL TXN charged|not-charged --by NAME`: fleet operations, each
a signed command like `approve`.

`resolve` settles an in-doubt operation remotely with the same effect as `posterm resolve`
on the terminal (the terminal refuses an unknown transaction or one not in doubt). Bad
input exits 65 (EX_DATAERR) and sends nothing."""

from __future__ import annotations

import argparse
from typing import Any

from posterm.host import cli_commands
from posterm.host.cli_output import fail
from posterm.host.config import HostConfig
from posterm.host.store import Store
from posterm.protocol.clitext import EX_DATAERR
from posterm.protocol.errorcodes import ErrorCode
from posterm.protocol.mqtt import commands, topics, wire

COMMANDS = frozenset({"resolve"})
VERDICTS = ("charged", "not-charged")


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "resolve",
        help="settle an in-doubt operation on a terminal after checking the PT (signed)",
    )
    p.add_argument("tid", metavar="TERMINAL")
    p.add_argument("txn", metavar="TXN")
    p.add_argument("verdict", metavar="charged|not-charged", help="what the PT's journal says")
    p.add_argument("--by", required=True, help="who checked the PT and decides (journaled)")
    p.add_argument("--json", action="store_true")


def run(config: HostConfig, store: Store, args: argparse.Namespace) -> int:
    return _resolve(config, store, args)


def _bad(as_json: bool, message: str) -> int:
    fail(as_json, ErrorCode.BAD_REQUEST, message)
    return EX_DATAERR


def _resolve(config: HostConfig, store: Store, args: argparse.Namespace) -> int:
    if args.verdict not in VERDICTS:
        return _bad(args.json, f"the verdict is 'charged' or 'not-charged', not {args.verdict!r}")
    try:
        topics.check_terminal(args.tid)
    except topics.TopicError as exc:
        return _bad(args.json, str(exc))
    cmd_args = {"txn": args.txn, "outcome": args.verdict, "by": args.by.strip()}
    if not cmd_args["by"]:
        return _bad(args.json, "--by names who checked the PT")
    try:  # the terminal would refuse it anyway: say so before anything is sent
        wire.check_command(commands.build(args.tid, "txn.resolve", cmd_args))
    except wire.WireError as exc:
        return _bad(args.json, f"TXN or --by does not fit: {exc.reason}")
    key = cli_commands.signing_key(config, args.json)
    if isinstance(key, int):
        return key
    return cli_commands.send(
        config, store, args.tid, "txn.resolve", cmd_args, key=key, as_json=args.json
    )
