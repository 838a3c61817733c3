"""`posterm-host resolve TERMINAL TXN charged|not-charged --by NAME` and
`posterm-host eod TERMINAL | --site SITE`: fleet operations, each a signed command like
`approve`.

`eod --site` closes the day on every terminal enrolled at the site at once
(`host/sitebatch.py`) and prints each terminal's progress as it changes: offline (not sent),
sent, done with its batch's net total, failed and why, no reply; exit 0 only when every
terminal closed its day.

`resolve` settles an in-doubt operation remotely with the same effect as `posterm resolve`
on the terminal (the terminal refuses an unknown transaction or one not in doubt). Bad
input exits 65 (EX_DATAERR) and sends nothing."""

from __future__ import annotations

import argparse
import json
from typing import Any

from posterm.host import cli_commands, sitebatch
from posterm.host.bulk_replies import BulkReplyError, BulkSession
from posterm.host.cli_output import fail
from posterm.host.config import HostConfig
from posterm.host.store import Store
from posterm.protocol.clitext import EX_DATAERR
from posterm.protocol.errorcodes import ErrorCode
from posterm.protocol.mqtt import commands, topics, wire

COMMANDS = frozenset({"resolve", "eod"})
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
    p = sub.add_parser(
        "eod", help="close the day on a terminal, or on every terminal of a site (signed)"
    )
    p.add_argument("tid", nargs="?", metavar="TERMINAL")
    p.add_argument("--site", help="every terminal enrolled at this site, with its progress")
    p.add_argument("--json", action="store_true")


def run(config: HostConfig, store: Store, args: argparse.Namespace) -> int:
    if args.command == "eod":
        return _eod(config, store, args)
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


def _eod(config: HostConfig, store: Store, args: argparse.Namespace) -> int:
    if (args.tid is None) == (args.site is None):
        return _bad(args.json, "eod: name one TERMINAL or --site SITE, not both nor neither")
    if args.tid is not None:
        return cli_commands.command(config, store, args)
    try:
        plan = sitebatch.start(store, config, args.site)
    except sitebatch.SiteBatchError as exc:
        fail(args.json, exc.code, exc.message)
        return EX_DATAERR if exc.code == ErrorCode.BAD_REQUEST else 1
    key = cli_commands.signing_key(config, args.json)
    if isinstance(key, int):
        return key
    show = (lambda p: None) if args.json else (lambda p: print(p.sentence(), flush=True))
    if not plan[1]:  # every terminal offline: no broker needed to tell so
        final = sitebatch.close_site(
            store, config, plan, key=key, publish=_unused, reply=_unused, on_change=show
        )
    else:
        try:
            session = BulkSession(config, plan[1])
        except BulkReplyError as exc:
            return fail(args.json, ErrorCode.NO_REPLY, str(exc))
        try:
            final = sitebatch.close_site(
                store,
                config,
                plan,
                key=key,
                publish=session.publish,
                reply=session.reply,
                on_change=show,
            )
        finally:
            session.close()
    done = sum(p.status == "done" for p in final)
    if args.json:
        print(json.dumps({"site": args.site, "terminals": [p.as_dict() for p in final]}))
    else:
        print(f"site {args.site}: {done} of {len(final)} terminals closed their day")
    return 0 if done == len(final) else 1


def _unused(*args: Any) -> Any:
    raise AssertionError("nothing is sent when every terminal is offline")
