"""`posterm-host [--config FILE] run | keygen | fleet | alerts | webhooks | events | approve TXN
[--terminal TID] | reject TXN [--terminal TID] | reprint TID TXN | eod TID | ping TID | refunds |
receipts find|show | reconcile`: the back office.
A transaction is named by its terminal and its id (an id is unique only per terminal): an id
that several terminals used is refused without `--terminal` (exit 65, naming them).
`--json` on every read; the exit code is 0 only on success (1: refused or failed, 2: the
config is unusable, 64: a wrong command line, 65: wrong input: a bad value, an unknown or
ambiguous transaction, terminal or alert)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from posterm.host import (
    cli_commands,
    cli_fleet,
    cli_lookup,
    metrics,
    quarantine,
    webhooks,
)
from posterm.host import cli_output as out
from posterm.host.alerts import engine as alert_engine
from posterm.host.cli_alerts import add_parsers as add_alert_parsers
from posterm.host.cli_alerts import run as alert_action
from posterm.host.cli_output import show as _print
from posterm.host.config import HostConfig, HostConfigError, load, parse_bind
from posterm.host.delivery.process import ROLES, role_problem, run_sender
from posterm.host.enrol import cli as enrol_cli
from posterm.host.public import cli as public_cli
from posterm.host.service import HostService, process_name
from posterm.host.store import Store, StoreError
from posterm.protocol.clitext import EX_DATAERR, EX_USAGE, Parser, quiet_on_broken_pipe, table
from posterm.protocol.mqtt import commands, topics

DEFAULT_CONFIG = Path("/etc/posterm/posterm-host.toml")  # where the package installs it


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="posterm-host", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG,
        help=f"TOML configuration file (default {DEFAULT_CONFIG})",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="ingest events, ack them after the commit, track the fleet")
    p.add_argument(
        "--metrics",
        metavar="ADDR",
        type=metrics.parse_address,
        help="serve Prometheus metrics on HOST:PORT (e.g. 127.0.0.1:9464)",
    )
    p.add_argument(
        "--http",
        metavar="ADDR",
        nargs="?",
        const="",
        type=_http_address,
        help="serve the dashboard on HOST:PORT (port 0: one the kernel picks, logged; "
        "no value: [web] bind)",
    )
    sub.add_parser(
        "hash-password",
        help="an argon2 hash of the password read from stdin, for [[web.users]] password_hash",
    )
    p.add_argument(
        "--instance",
        metavar="N",
        type=_instance,
        help="this process's name among several sharing [mqtt] share_group (required with"
        " it): MQTT client id posterm-host-{id}-{N}, status on posterm/v1/host/{id}-{N}/status",
    )
    p.add_argument(
        "--role",
        choices=ROLES,
        help="ingest: send no webhook or notification;"
        " sender: only send them (no MQTT); none: both",
    )
    sub.add_parser("keygen", help="write the Ed25519 key pair ([keys] private_key and .pub)")
    for name, text in (("fleet", "terminals and their state"), ("events", "stored events")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--json", action="store_true")
        if name == "events":
            p.add_argument("--terminal")
            p.add_argument("--type")
            p.add_argument("--since", help="RFC 3339 time")
    p = sub.add_parser("alerts", help="alerts raised and cleared, worst first, then newest")
    p.add_argument("--open", action="store_true", help="only those still open")
    p.add_argument("--limit", type=_count, help="at most N (all when not given)")
    p.add_argument("--offset", type=_count, default=0, help="skip the first N")
    p.add_argument("--json", action="store_true")
    add_alert_parsers(p)
    p = sub.add_parser("quarantine", help="messages refused by the wire schemas, newest first")
    p.add_argument("--terminal")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("webhooks", help="the webhook deliveries' queue, newest first")
    p.add_argument("--state", choices=("pending", "sent", "failed"))
    p.add_argument("--json", action="store_true")
    for name in ("approve", "reject"):
        p = sub.add_parser(name, help=f"{name} a refund awaiting approval (signed)")
        p.add_argument("txn")
        p.add_argument(
            "--terminal",
            help="the terminal of the refund (required when several terminals used the id)",
        )
        p.add_argument("--by", default="back office")
        p.add_argument("--json", action="store_true")
    p = sub.add_parser("reprint", help="reprint a receipt on a terminal (DUPLICATE)")
    p.add_argument("tid")
    p.add_argument("txn")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("ping", help="is a terminal there?")  # eod: cli_fleet.py
    p.add_argument("tid")
    p.add_argument("--json", action="store_true")
    cli_lookup.add_lookup_parsers(sub)
    enrol_cli.add_parsers(sub)
    cli_fleet.add_parsers(sub)
    public_cli.add_parsers(sub)
    return parser


def _instance(value: str) -> str:
    if not topics.TID.fullmatch(value):
        raise argparse.ArgumentTypeError("1-32 of A-Z a-z 0-9 _ -")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Exit code of the command; 141 when stdout's reader went away (`| head`)."""
    return quiet_on_broken_pipe(lambda: _main(argv))


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    try:
        config = load(args.config)
    except HostConfigError as exc:
        print(f"posterm-host: {exc}", file=sys.stderr)
        return 2
    if args.command == "keygen":
        return _keygen(config)
    if args.command in enrol_cli.COMMANDS:
        return enrol_cli.run(config, args)
    if args.command in public_cli.COMMANDS:
        return public_cli.run(config, args)
    if args.command == "hash-password":
        return _hash_password()
    if args.command == "run" and (
        problem := _instance_problem(config, args.instance)
        or role_problem(args.role, args.http, args.metrics)
    ):
        print(f"posterm-host: {problem}", file=sys.stderr)
        return EX_USAGE
    try:
        store = Store(config.store_url)
    except StoreError as exc:
        print(f"posterm-host: {exc}", file=sys.stderr)
        return 1
    try:
        if args.command == "run" and args.role == "sender":
            return run_sender(config, store, process_name(config.host_id, args.instance))
        if args.command == "run":
            return _run(
                config, store, args.metrics, args.instance, args.http, sends=args.role != "ingest"
            )
        if args.command == "fleet":
            _fleet(config, store, args.json)
            return 0
        if args.command == "alerts" and args.alert_action is not None:
            return alert_action(store, args)
        if args.command == "alerts":
            return _alerts(store, args)
        if args.command == "quarantine":
            rows = quarantine.listing(store.db, args.terminal)
            _print(rows, args.json, out.QUARANTINE, "no quarantined messages")
            return 0
        if args.command == "webhooks":
            rows = webhooks.deliveries(store, args.state)
            _print(rows, args.json, out.WEBHOOKS, "no webhook deliveries")
            return 0
        if args.command == "events":
            rows = store.events(terminal=args.terminal, type_=args.type, since=args.since)
            _print(rows, args.json, out.EVENTS, "no events match")
            return 0
        if args.command in ("refunds", "receipts"):
            return cli_lookup.lookup_command(store, args)
        if args.command == "reconcile":
            return cli_lookup.reconcile_command(config, store, args)
        if args.command in cli_fleet.COMMANDS:
            return cli_fleet.run(config, store, args)
        return cli_commands.command(config, store, args)
    finally:
        store.close()


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"a whole number >= 0, not {text!r}")
    return int(text)


def _alerts(store: Store, args: argparse.Namespace) -> int:
    """The alerts, worst first; a page (`--limit`, `--offset`) says how many more there
    are (on stderr with --json, whose stdout stays the list)."""
    rows = alert_engine.listing(store, open_only=args.open, limit=args.limit, offset=args.offset)
    empty = "no open alerts" if args.open else "no alerts"
    _print(rows if args.json else out.alert_rows(rows), args.json, out.ALERTS, empty)
    if args.limit is not None:
        more = alert_engine.count(store, open_only=args.open) - args.offset - len(rows)
        if more > 0:
            print(
                f"... {more} more: posterm-host alerts --offset {args.offset + len(rows)}",
                file=sys.stderr if args.json else sys.stdout,
            )
    return 0


def _instance_problem(config: HostConfig, instance: str | None) -> str | None:
    if config.share_group and not instance:
        return (
            f"{config.path}: mqtt.share_group: several processes share it, each needs"
            " its own name: run --instance N"
        )
    if instance and not topics.TID.fullmatch(process_name(config.host_id, instance)):
        return f"--instance {instance}: '{config.host_id}-{instance}' is over 32 characters"
    return None


def _run(
    config: HostConfig,
    store: Store,
    metrics_at: tuple[str, int] | None = None,
    instance: str | None = None,
    http: str | None = None,
    *,
    sends: bool = True,
) -> int:
    exporter, server = None, None
    if metrics_at is not None:
        exporter = metrics.Metrics(store)
        try:
            server = exporter.serve(metrics_at)
        except OSError as exc:
            print(
                f"posterm-host: --metrics {metrics_at[0]}:{metrics_at[1]}: {exc}", file=sys.stderr
            )
            return 1
    service = HostService(config, store, exporter, instance, sends=sends)
    public = public_cli.beside_run(config, store)  # [public] listen: the refund status page
    if isinstance(public, str):
        print(f"posterm-host: {public}", file=sys.stderr)
        if server is not None:
            server.shutdown()
        return 1
    web = None
    if http is not None:
        try:  # posterm[web]: a host without the dashboard needs none of it
            from posterm.host.web.auth import WebAuthError  # noqa: PLC0415
            from posterm.host.web.server import WebServer  # noqa: PLC0415
        except ImportError as exc:
            print(f"posterm-host: --http needs posterm[web]: {exc}", file=sys.stderr)
            if public is not None:
                public.stop()
            if server is not None:
                server.shutdown()
            return 2
        bind = http or config.web.bind
        try:
            web = WebServer(config, store, service, parse_bind(bind, any_port=bool(http)))
        except (OSError, WebAuthError) as exc:
            print(f"posterm-host: --http {bind}: {exc}", file=sys.stderr)
            if public is not None:
                public.stop()
            if server is not None:
                server.shutdown()
            return 1
        web.start()
    signal.signal(signal.SIGTERM, lambda *_: service.stopping.set())
    signal.signal(signal.SIGINT, lambda *_: service.stopping.set())
    try:
        service.run()
    finally:
        if web is not None:
            web.stop()
        if public is not None:
            public.stop()
        if server is not None:
            server.shutdown()
    return 0


FLEET_COLUMNS = (
    ("terminal", "TERMINAL"),
    ("state", "STATE"),
    ("pt_link", "PT"),
    ("paper", "PAPER"),
    ("mode", "MODE"),
    ("outbox_depth", "OUTBOX"),
    ("oldest_unsent_age_s", "OLDEST_S"),
    ("pending_receipts", "PENDING"),
    ("in_doubt", "IN_DOUBT"),
    ("awaiting_approval", "APPROVAL"),
    ("last_sale_at", "LAST_SALE"),
    ("version", "VERSION"),
    ("last_seen", "LAST_SEEN"),
)


def _fleet(config: HostConfig, store: Store, as_json: bool) -> None:
    """The fleet with each terminal's open alerts: a table, or JSON rows with `alerts`."""
    rows = store.fleet(stale_after_s=config.stale_after_s)
    open_alerts = alert_engine.listing(store, open_only=True)  # all of them, worst first
    for row in rows:
        row["alerts"] = [
            {k: a[k] for k in ("alert_id", "kind", "raised_at", "detail")}
            for a in open_alerts
            if a["terminal"] == row["terminal"]
        ]
    if as_json:
        print(json.dumps(rows))
        return
    if not rows:
        print("no terminals yet")
        return
    shown = [
        row
        | {
            "pay": "yes" if row["payments"]["ok"] else "NO",
            "alert_kinds": ",".join(a["kind"] for a in row["alerts"]),
        }
        for row in rows
    ]
    print(table(shown, [("pay", "PAYMENTS"), *FLEET_COLUMNS, ("alert_kinds", "ALERTS")]))
    for row in rows:  # why a terminal cannot take payments, and its printer
        if not row["payments"]["ok"]:
            print(f"{row['terminal']}: cannot take payments: {row['payments']['why']}")
        elif row["paper"] not in (None, "ok"):
            print(f"{row['terminal']}: printer: {row['printer']}")


def _http_address(text: str) -> str:
    if text:
        try:
            parse_bind(text, any_port=True)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _hash_password() -> int:
    """The password is the first line of stdin (never an argument: it would show in ps)."""
    from posterm.host.web.auth import hash_password  # noqa: PLC0415 (posterm[web])

    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        print("posterm-host: hash-password reads the password from stdin", file=sys.stderr)
        return EX_DATAERR
    print(hash_password(password))
    return 0


def _keygen(config: HostConfig) -> int:
    if config.private_key is None:
        print("posterm-host: keygen needs [keys] private_key", file=sys.stderr)
        return 2
    if config.private_key.exists():
        print(f"posterm-host: {config.private_key} exists: not overwritten", file=sys.stderr)
        return 1
    key = Ed25519PrivateKey.generate()
    config.private_key.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(config.private_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(commands.private_pem(key))
    public = config.private_key.with_suffix(".pub")
    public.write_bytes(commands.public_pem(key))
    print(f"private key {config.private_key}; terminals trust {public}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
