#!/usr/bin/env python3
"""Write the access rules of posterm's Mosquitto: the dynamic-security plugin's JSON file.

    make-dynsec.py /etc/mosquitto/posterm-dynsec.json --host posterm-host \\
        --terminal pos-0001 --terminal pos-0002      # or --terminals-file FILE

writes the file ``plugin_opt_config_file`` of posterm.conf names (atomically; an existing
file is replaced only with ``--force``). Mosquitto reads it at start: after adding a
terminal, write it again with the whole list and restart the broker (sessions and queues
are persisted, the clients reconnect).

Why not an ``acl_file``: Mosquitto 2.0's acl_file grants every SUBSCRIBE
(security_default.c: "FIXME - implement ACL subscription strings") and checks ``read``
only when a message is delivered. For a shared subscription that is too late: the broker
gives each message of ``$share/posterm/posterm/v1/+/events`` to one member of the group,
checks ``read`` for that member alone and drops the message when it is denied — a
terminal that joins the host's group swallows its share of every terminal's events and
replies. The dynamic-security plugin checks the subscription itself, so here a terminal
may subscribe only its own ``cmd`` and ``ack`` and the hosts' ``status``; anything else
gets SUBACK 0x80.

Who may do what (everything not listed is denied; ``defaultACLAccess`` is all false but
unsubscribe):

- terminal ID (CN = terminal id): write ``posterm/v1/ID/{events,status,telemetry,reply}``
  (its last will too), subscribe and read ``posterm/v1/ID/{cmd,ack}``, subscribe and read
  ``posterm/v1/host/+/status`` (group ``terminals``). Never the hosts' alerts: they name
  other terminals' transactions and masked card numbers.
- the host identity (CN posterm-host): subscribe and read every terminal's
  ``events``/``status``/``telemetry``/``reply``, plainly or through any ``$share`` group;
  write every ``cmd`` and ``ack``; read and write ``posterm/v1/host/+/{status,alerts}``.

A client whose CN is in no list gets nothing at all (fail closed): a terminal the operator
forgot to list connects but can neither publish nor subscribe. Nobody is granted the
plugin's ``$CONTROL`` topics, so the rules cannot be changed over MQTT.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ID_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")  # as make-certs.py and postermd's [terminal] id
RESERVED_TERMINAL_IDS = frozenset({"host"})  # posterm/v1/host/... is the hosts'
DEFAULT_HOST_CN = "posterm-host"
ROOT = "posterm/v1"
TERMINAL_WRITES = ("events", "status", "telemetry", "reply")
TERMINAL_READS = ("cmd", "ack")
HOST_READS = ("events", "status", "telemetry", "reply")
HOST_SHARED = ("events", "telemetry", "reply")  # what host processes split ([mqtt] share_group)
HOST_WRITES = ("cmd", "ack")
HOST_OWN = ("status", "alerts")


class DynsecError(Exception):
    """A request this script refuses (bad id, a file it would overwrite)."""


def _acl(acltype: str, topic: str) -> dict[str, Any]:
    return {"acltype": acltype, "topic": topic, "allow": True}


def _read(topic: str) -> list[dict[str, Any]]:
    """Subscribe to topic (a filter: wildcards match levels, not '#') and receive it."""
    return [_acl("subscribePattern", topic), _acl("publishClientReceive", topic)]


def terminal_role(tid: str) -> dict[str, Any]:
    acls = [_acl("publishClientSend", f"{ROOT}/{tid}/{leaf}") for leaf in TERMINAL_WRITES]
    for leaf in TERMINAL_READS:
        acls += _read(f"{ROOT}/{tid}/{leaf}")
    return {
        "rolename": f"terminal-{tid}",
        "textname": f"terminal {tid}: its own topics",
        "acls": acls,
    }


def host_role() -> dict[str, Any]:
    acls: list[dict[str, Any]] = []
    for leaf in HOST_READS:
        acls += _read(f"{ROOT}/+/{leaf}")
    acls += [_acl("subscribePattern", f"$share/+/{ROOT}/+/{leaf}") for leaf in HOST_SHARED]
    acls += [_acl("publishClientSend", f"{ROOT}/+/{leaf}") for leaf in HOST_WRITES]
    for leaf in HOST_OWN:
        own = f"{ROOT}/host/+/{leaf}"
        acls += [*_read(own), _acl("publishClientSend", own)]
    return {"rolename": "posterm-host", "textname": "the back office", "acls": acls}


def check_ids(host: str, terminals: Sequence[str]) -> None:
    """Refuse ids that are not topic-safe or that collide with the host's."""
    for cn in [host, *terminals]:
        if not ID_RE.fullmatch(cn):
            raise DynsecError(f"{cn!r}: an id is 1-32 of A-Z a-z 0-9 - _")
    for tid in terminals:
        if tid in {*RESERVED_TERMINAL_IDS, host, DEFAULT_HOST_CN}:
            raise DynsecError(f"{tid!r} cannot be a terminal id: it is the host's name")
    if len(set(terminals)) != len(terminals):
        raise DynsecError("a terminal id is given twice")


def config(host: str, terminals: Sequence[str]) -> dict[str, Any]:
    """The plugin's JSON document for the host identity and these terminals."""
    check_ids(host, terminals)
    common = {
        "rolename": "terminals",
        "textname": "every terminal: the hosts' status",
        "acls": _read(f"{ROOT}/host/+/status"),
    }
    clients = [
        {
            "username": host,
            "textname": "posterm back office",
            "roles": [{"rolename": "posterm-host"}],
        }
    ]
    clients += [
        {"username": tid, "textname": f"terminal {tid}", "roles": [{"rolename": f"terminal-{tid}"}]}
        for tid in terminals
    ]
    deny = {
        "publishClientSend": False,
        "publishClientReceive": False,
        "subscribe": False,
        "unsubscribe": True,
    }
    group = {
        "groupname": "terminals",
        "textname": "every posterm terminal",
        "roles": [{"rolename": "terminals"}],
        "clients": [{"username": tid} for tid in terminals],
    }
    roles = [host_role(), common, *(terminal_role(tid) for tid in terminals)]
    return {"defaultACLAccess": deny, "clients": clients, "groups": [group], "roles": roles}


def write(out: Path, document: dict[str, Any], *, force: bool) -> None:
    if out.exists() and not force:
        raise DynsecError(f"would overwrite {out} (use --force to replace it)")
    tmp = out.with_name(out.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)  # no secrets in it
    with os.fdopen(fd, "w") as f:
        json.dump(document, f, indent=2)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, out)


def _ids_from(path: Path) -> list[str]:
    """One terminal id a line; blank lines and lines starting with # are skipped."""
    try:
        lines = path.read_text().splitlines()
    except OSError as e:
        raise DynsecError(f"{path}: {e.strerror}") from None
    return [s for s in (line.strip() for line in lines) if s and not s.startswith("#")]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write posterm's Mosquitto dynamic-security rules (see docstring)."
    )
    parser.add_argument("out", type=Path, help="the JSON file (plugin_opt_config_file)")
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST_CN,
        metavar="CN",
        help=f"the host identity's CN (default {DEFAULT_HOST_CN})",
    )
    parser.add_argument(
        "--terminal",
        action="append",
        default=[],
        metavar="ID",
        help="a terminal's id = its certificate's CN (repeatable)",
    )
    parser.add_argument(
        "--terminals-file", type=Path, metavar="FILE", help="terminal ids, one a line (# comments)"
    )
    parser.add_argument("--force", action="store_true", help="replace an existing file")
    args = parser.parse_args(argv)
    try:
        terminals = [
            *args.terminal,
            *(_ids_from(args.terminals_file) if args.terminals_file else []),
        ]
        write(args.out, config(args.host, terminals), force=args.force)
    except DynsecError as e:
        print(f"make-dynsec.py: {e}", file=sys.stderr)
        return 2
    print(f"{args.out}: {args.host} and {len(terminals)} terminals")
    return 0


if __name__ == "__main__":
    sys.exit(main())
