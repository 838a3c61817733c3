"""`posterm-host alerts ack ID [--note TEXT] [--by WHO]` and `alerts mute ID --for 2h
[--by WHO]`: an operator's word on an open alert (host/alerts/acks.py). Exit 0 done, 1 an
alert cleared, 65 an unknown alert or bad input; nothing changes on a refusal."""

from __future__ import annotations

import argparse
import json
from typing import Any

from posterm.host import cli_output
from posterm.host.alerts import acks
from posterm.host.store import Store
from posterm.protocol.mqtt.events import now_rfc3339


def add_parsers(alerts: argparse.ArgumentParser) -> None:
    """The `ack` and `mute` subcommands of `alerts` (without one: the listing)."""
    sub = alerts.add_subparsers(dest="alert_action", metavar="{ack,mute}")
    p = sub.add_parser("ack", help="acknowledge an open alert: someone is on it")
    p.add_argument("alert_id", metavar="ID")
    p.add_argument("--note", default="", help="what is being done (at most 500 characters)")
    p.add_argument("--by", default="back office", help="who acknowledges it")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("mute", help="mute an open alert for a time (no webhook while muted)")
    p.add_argument("alert_id", metavar="ID")
    p.add_argument("--for", dest="duration", required=True, help="30m, 2h, 1d (1 min-30 days)")
    p.add_argument("--by", default="back office", help="who mutes it")
    p.add_argument("--json", action="store_true")


def run(store: Store, args: argparse.Namespace) -> int:
    now = now_rfc3339()
    try:
        if args.alert_action == "ack":
            row = acks.acknowledge(store, args.alert_id, by=args.by, note=args.note, now=now)
        else:
            seconds = acks.duration_s(args.duration)
            row = acks.mute(store, args.alert_id, by=args.by, seconds=seconds, now=now)
    except acks.AlertActionError as exc:
        return cli_output.fail(args.json, exc.code, exc.message)
    if args.json:
        print(json.dumps(row))
    else:
        print(sentence(row))
    return 0


def sentence(row: dict[str, Any]) -> str:
    what = f"{row['name']} on {row['terminal']} (alert {row['alert_id']}, since {row['since']})"
    if row.get("muted"):
        return f"{what}: muted until {row['muted_until']} by {row['muted_by']}"
    note = f": {row['ack_note']}" if row.get("ack_note") else ""
    return f"{what}: acknowledged by {row['acked_by']}{note}"
