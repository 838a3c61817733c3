"""`posterm-host public init | link-key TID | serve`: the refund status page's master key,
a terminal's link key (hex, for its config by hand), and the page's listener alone (behind a
reverse proxy). Exit 0 on success, 1 when refused, 2 on bad input or config."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any

from posterm.host.config import HostConfig
from posterm.host.public import keys
from posterm.protocol.mqtt.topics import TID

if TYPE_CHECKING:
    from posterm.host.public.server import PublicServer
    from posterm.host.store import Store

COMMANDS = ("public",)


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("public", help="the customer's refund status page ([public])")
    what = p.add_subparsers(dest="public", required=True)
    what.add_parser("init", help="make the refund link master key ([public] key_file, 0600)")
    q = what.add_parser("link-key", help="a terminal's refund link key (hex), for its config")
    q.add_argument("tid", help="the terminal id")
    what.add_parser("serve", help="serve the status page alone on [public] listen")


def run(config: HostConfig, args: argparse.Namespace) -> int:
    section = config.public
    if section is None:
        print(f"posterm-host: {config.path}: no [public] section", file=sys.stderr)
        return 2
    try:
        if args.public == "init":
            keys.init(section.key_file)
            print(f"refund link key written to {section.key_file} (0600)")
            return 0
        if args.public == "link-key":
            if not TID.fullmatch(args.tid):
                print(f"posterm-host: not a terminal id: {args.tid!r}", file=sys.stderr)
                return 2
            print(keys.Links.of(section).terminal_key(args.tid).hex())
            return 0
        return _serve(config)
    except keys.PublicError as exc:
        print(f"posterm-host: {exc}", file=sys.stderr)
        return 1


def beside_run(config: HostConfig, store: Store) -> PublicServer | str | None:
    """`posterm-host run` with `[public] listen`: the status page's server, started; None
    without it; the reason (text) when it cannot start."""
    if config.public is None or config.public.listen is None:
        return None
    from posterm.host.public import server as public_server  # noqa: PLC0415 (posterm[web])

    try:
        server = public_server.PublicServer(config.public, store)
    except keys.PublicError as exc:
        return str(exc)
    except OSError as exc:
        return f"public.listen {config.public.listen}: {exc}"
    server.start()
    return server


def _serve(config: HostConfig) -> int:
    from posterm.host.public.server import PublicServer  # noqa: PLC0415 (posterm[web])
    from posterm.host.store import Store, StoreError  # noqa: PLC0415

    assert config.public is not None
    if config.public.listen is None:
        print(
            f"posterm-host: {config.path}: public.listen: needed by `public serve`", file=sys.stderr
        )
        return 2
    try:
        store = Store(config.store_url)
    except StoreError as exc:
        print(f"posterm-host: {exc}", file=sys.stderr)
        return 1
    try:
        try:
            server = PublicServer(config.public, store)
        except OSError as exc:
            print(f"posterm-host: public.listen {config.public.listen}: {exc}", file=sys.stderr)
            return 1
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        server.start()
        stop.wait()
        server.stop()
        return 0
    finally:
        store.close()
