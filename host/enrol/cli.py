"""`posterm-host ca init | broker-cert --host NAME…`, `terminals revoke|set ID` and
`posterm-host enroll new [--site S] [--tags a,b] [--expires 24h] [--terminal ID] [--no-qr]
| list`:
the fleet CA, its CRL and enrolment codes. Exit 0 on success, 1 when refused, 65 on bad
input."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from posterm.host.config import HostConfig
from posterm.host.enrol import EnrolError, broker, ca, codes, keys, qr
from posterm.host.store import Store, StoreError
from posterm.protocol.clitext import EX_DATAERR

COMMANDS = ("ca", "enroll", "terminals", "keys")


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("ca", help="the fleet CA: init, the broker's certificate")
    what = p.add_subparsers(dest="ca", required=True)
    q = what.add_parser("init", help="make the CA key (0600) and certificate in [enrol] ca_dir")
    q.add_argument("--name", default="posterm fleet CA", help="the CA certificate's CN")
    q = what.add_parser("broker-cert", help="a key and server certificate for the broker")
    q.add_argument("--host", action="append", required=True, help="DNS name or IP (repeatable)")
    q.add_argument("--out", type=Path, help="directory for broker.key/broker.pem (ca_dir)")
    p = sub.add_parser("terminals", help="enrolled terminals: revoke")
    what = p.add_subparsers(dest="terminals", required=True)
    q = what.add_parser("revoke", help="revoke a terminal's certificate (the CA's crl.pem)")
    q.add_argument("tid")
    q = what.add_parser("set", help="change an enrolled terminal's site and/or tags")
    q.add_argument("tid")
    q.add_argument("--site", help="1-24 of A-Z a-z 0-9 _ -")
    q.add_argument("--tags", help="comma-separated; an empty value removes them all")
    q.add_argument("--json", action="store_true")
    p = sub.add_parser("keys", help="the host's command signing key: rotate, push")
    what = p.add_subparsers(dest="keys", required=True)
    q = what.add_parser("rotate", help="a new signing key, announced to every terminal first")
    q.add_argument("--window", default="7d", help="how long the old key is accepted: 1m-30d")
    q.add_argument("--json", action="store_true")
    q = what.add_parser("push", help="send the rotation again to terminals it missed")
    q.add_argument("tids", nargs="+", metavar="TID")
    q.add_argument("--json", action="store_true")
    p = sub.add_parser("enroll", help="one-time enrolment codes for new terminals")
    what = p.add_subparsers(dest="enroll", required=True)
    q = what.add_parser("new", help="a one-time code: `posterm enroll URL CODE` on the Pi")
    q.add_argument("--site", help="the terminal's site (store): 1-24 of A-Z a-z 0-9 _ -")
    q.add_argument("--tags", help="comma-separated tags, e.g. till,front")
    q.add_argument("--expires", default="24h", help="the code's lifetime: 30m, 24h, 7d")
    q.add_argument("--terminal", help="the terminal id to give (default SITE-NNNN)")
    q.add_argument("--no-qr", action="store_true", help="no QR code of the code")
    q.add_argument("--json", action="store_true", help="one JSON object (no QR code)")
    q = what.add_parser("list", help="the enrolments, newest first")
    q.add_argument("--json", action="store_true")


def run(config: HostConfig, args: argparse.Namespace) -> int:
    try:
        if args.command == "ca":
            return _ca(config, args)
        if args.command == "keys":
            return _keys(config, args)
        if args.command == "terminals" and args.terminals == "set":
            return _relabel(config, args)
        if args.command == "terminals":
            return _revoke(config, args.tid)
        return _enroll(config, args)
    except EnrolError as exc:
        print(f"posterm-host: {exc.message}", file=sys.stderr)
        return EX_DATAERR if exc.status == 400 else 1


def _ca(config: HostConfig, args: argparse.Namespace) -> int:
    directory = config.enrol.ca_dir
    if args.ca == "init":
        fleet = ca.init(directory, args.name)
        print(f"fleet CA {args.name} in {directory}: ca.key (0600), ca.pem")
        print(f"valid until {fleet.cert.not_valid_after_utc:%Y-%m-%d}")
        return 0
    key_pem, cert_pem = ca.load(directory).server_cert(args.host)
    key_path, cert_path = ca.write_pair(args.out or directory, "broker", key_pem, cert_pem)
    print(f"broker certificate for {', '.join(args.host)}: {cert_path}, key {key_path} (0600)")
    print(f"Mosquitto: cafile {directory / ca.CERT_NAME}, certfile {cert_path}, keyfile {key_path}")
    return 0


def _keys(config: HostConfig, args: argparse.Namespace) -> int:
    if args.keys == "rotate":
        window_s = codes.duration(args.window, "window")
        try:
            store = Store(config.store_url)
        except StoreError as exc:
            print(f"posterm-host: {exc}", file=sys.stderr)
            return 1
        try:
            sent, until = keys.rotate(config, store, window_s)
        finally:
            store.close()
    else:
        sent, until = keys.push(config, args.tids)
    done = keys.report(sent, until)
    if args.json:
        print(json.dumps(done))
    else:
        if args.keys == "rotate":
            print(
                f"new signing key in {config.private_key}; the old one is accepted until"
                f" {done['old_key_until']}"
            )
        for s in sent:
            print(f"{s.terminal}: {s.detail}")
        missed = [s.terminal for s in sent if not s.ok]
        if missed:
            print(
                f"not reached: run `posterm-host keys push {' '.join(missed)}` before"
                " the window ends"
            )
    return 0 if done["ok"] else 1


def _relabel(config: HostConfig, args: argparse.Namespace) -> int:
    tags = None if args.tags is None else codes.parse_tags(args.tags)
    try:
        store = Store(config.store_url)
    except StoreError as exc:
        print(f"posterm-host: {exc}", file=sys.stderr)
        return 1
    try:
        row = codes.relabel(store, args.tid, args.site, tags)
    finally:
        store.close()
    if args.json:
        print(json.dumps({"ok": True, **row}))
    else:
        print(f"{row['terminal']}: site {row['site'] or '-'}, tags {','.join(row['tags']) or '-'}")
    return 0


def _revoke(config: HostConfig, tid: str) -> int:
    """The enrolment marked revoked and the CRL written again, in that order: a CRL that
    could not be written is written by the next revoke (it lists every revoked serial)."""
    fleet = ca.load(config.enrol.ca_dir)
    try:
        store = Store(config.store_url)
    except StoreError as exc:
        print(f"posterm-host: {exc}", file=sys.stderr)
        return 1
    try:
        serials = codes.revoke(store, tid)
    finally:
        store.close()
    path = ca.write_crl(fleet, config.enrol.ca_dir, serials)
    print(f"terminal {tid} revoked; {path} lists {len(serials)} certificate(s)")
    copied = broker.publish_crl(config, path)
    if copied is not None:
        print(f"the CRL is also in {copied}")
    ran = broker.reload(config)
    if ran is None:
        print(
            "the broker refuses it once it reads the CRL again: set [enrol] broker_reload"
            " (or restart Mosquitto)"
        )
        return 0
    print(f"the broker was told to read it again ({ran}): it refuses the certificate")
    print(f"terminal {tid}: {broker.kick(config, tid)}")
    return 0


def _enroll(config: HostConfig, args: argparse.Namespace) -> int:
    if args.enroll == "new":  # check the input before opening the store
        tags = codes.parse_tags(args.tags)
        expires_s = codes.duration(args.expires)
    try:
        store = Store(config.store_url)
    except StoreError as exc:
        print(f"posterm-host: {exc}", file=sys.stderr)
        return 1
    try:
        if args.enroll == "list":
            rows = codes.listing(store)
            if args.json:
                print(json.dumps(rows))
            elif not rows:
                print("no enrolments")
            for row in [] if args.json else rows:
                state = "revoked" if row["revoked_at"] else "used" if row["used_at"] else "unused"
                shown = ",".join(row["tags"]) or "-"
                print(
                    f"{row['terminal']:20} {row['site'] or '-':12} {shown:20} {state:8}"
                    f" expires {row['expires_at']}"
                )
            return 0
        made = codes.new(
            store, site=args.site, tags=tags, expires_s=expires_s, terminal=args.terminal
        )
    finally:
        store.close()
    if args.json:
        print(json.dumps({"ok": True, **made.__dict__, "tags": list(made.tags)}))
        return 0
    print(f"enrolment code: {made.code}")
    print(f"terminal {made.terminal}, site {made.site or '-'}, tags {','.join(made.tags) or '-'}")
    print(f"single use, expires {made.expires_at}")
    print(f"on the Pi: sudo posterm enroll https://BACKOFFICE/ {made.code}")
    if not args.no_qr:
        print("the code as a QR code (a phone or a USB scanner on the Pi reads it):")
        print(qr.render(made.code, unicode=qr.fits(sys.stdout.encoding)))
    return 0
