"""`posterm-host approve | reject | reprint | eod | ping`: a command to one terminal, signed
when it moves money, that expires when the wait for its reply ends (money rule 10), and
the reply, which counts only from that terminal's reply topic and only when it fits its
wire schema."""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from posterm.host import crash, expiry, lookup
from posterm.host.cli_output import fail as _fail
from posterm.host.cli_output import reply_text
from posterm.host.config import HostConfig
from posterm.host.mqtt_client import broker_address, make_client
from posterm.host.store import Store
from posterm.protocol.clitext import exit_code
from posterm.protocol.errorcodes import ErrorCode
from posterm.protocol.mqtt import commands, topics, wire


def command(config: HostConfig, store: Store, args: argparse.Namespace) -> int:
    if args.command in ("approve", "reject"):
        try:
            tid = lookup.refund_terminal(store, args.txn, args.terminal)
        except lookup.LookupFailed as exc:
            return _fail(args.json, exc.code, exc.message)
        name, cmd_args = f"refund.{args.command}", {"txn": args.txn, "by": args.by}
    elif args.command == "reprint":
        tid, name, cmd_args = args.tid, "receipt.reprint", {"txn": args.txn}
    else:
        tid, name, cmd_args = args.tid, "batch.close" if args.command == "eod" else "ping", {}
    try:
        topics.check_terminal(tid)
    except topics.TopicError as exc:
        return _fail(args.json, ErrorCode.BAD_REQUEST, str(exc))
    key = None
    if name in commands.SIGNED:
        loaded = signing_key(config, args.json)
        if isinstance(loaded, int):
            return loaded
        key = loaded
    return send(config, store, tid, name, cmd_args, key=key, as_json=args.json)


def signing_key(config: HostConfig, as_json: bool) -> Ed25519PrivateKey | int:
    """The host's key for a signed command, or the exit code after saying it is missing."""
    if config.private_key is None or not config.private_key.exists():
        return _fail(
            as_json,
            ErrorCode.NO_KEY,
            "signed commands need [keys] private_key (posterm-host keygen)",
        )
    return commands.load_private_key(config.private_key.read_bytes())


def send(
    config: HostConfig,
    store: Store,
    tid: str,
    name: str,
    cmd_args: dict[str, Any],
    *,
    key: Ed25519PrivateKey | None,
    as_json: bool,
) -> int:
    """Send a command (this module's or another CLI module's) that expires when the wait
    for its reply ends (a terminal that gets it later refuses it), and print the reply;
    exit 1 when there was none or it refused."""
    envelope = expiry.build(tid, name, cmd_args, key=key, wait_s=config.reply_timeout_s)
    store.sent_command(envelope["cmd_id"], tid, name)  # only `tid`'s reply counts
    crash.crashpoint("command.recorded")
    reply = send_and_wait(config, tid, envelope)
    if reply is None:
        why = expiry.unanswered(tid, envelope, config.reply_timeout_s)
        if not as_json:
            return _fail(as_json, ErrorCode.NO_REPLY, why)
        print(
            json.dumps(
                {
                    "ok": False,
                    "code": ErrorCode.NO_REPLY,
                    "error": why,
                    "cmd_id": envelope["cmd_id"],
                    "expires_at": envelope["expires_at"],
                }
            )
        )
        return 1
    print(json.dumps(reply) if as_json else reply_text(tid, name, reply))
    if reply.get("ok"):
        return 0
    return exit_code(reply.get("code"))


def send_and_wait(config: HostConfig, tid: str, envelope: dict[str, Any]) -> dict[str, Any] | None:
    """Publish a command and wait for its reply on `tid`'s reply topic (None: no reply in
    time); another terminal's reply to it does not count."""
    got: list[dict[str, Any]] = []
    done = threading.Event()
    client = make_client(config, f"posterm-host-{config.host_id}-cli-{os.getpid()}", clean=True)

    def on_connect(c: Any, u: Any, f: Any, reason: Any, p: Any) -> None:
        c.subscribe(topics.terminal(tid, "reply"), qos=1)

    def on_subscribe(c: Any, u: Any, mid: int, codes: Any, p: Any) -> None:
        c.publish(topics.terminal(tid, "cmd"), json.dumps(envelope), qos=1)

    def on_message(c: Any, u: Any, message: Any) -> None:
        try:
            reply = wire.decode(bytes(message.payload), "reply")
        except wire.WireError as exc:  # a terminal's bytes: only a reply that fits counts
            print(
                f"posterm-host: a reply that does not fit its schema: {exc.reason}", file=sys.stderr
            )
            return
        if (
            message.topic == topics.terminal(tid, "reply")
            and reply.get("cmd_id") == envelope["cmd_id"]
        ):
            got.append(reply)
            done.set()

    def on_publish(c: Any, u: Any, mid: int, reason: Any, p: Any) -> None:
        crash.crashpoint("command.published")  # the broker has it: the terminal will run it

    client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
    client.on_publish = on_publish
    host, port = broker_address(config)
    try:
        client.connect(host, port, keepalive=30)
    except OSError as exc:
        print(f"posterm-host: broker {host}:{port}: {exc}", file=sys.stderr)
        return None
    client.loop_start()
    try:
        done.wait(config.reply_timeout_s)
    finally:
        client.disconnect()
        client.loop_stop()
    return got[0] if got else None
