"""The topics of docs/mqtt.md; `{tid}` is the terminal id (= MQTT client id = TLS CN)."""

from __future__ import annotations

import re

ROOT = "posterm/v1"
TID = re.compile(r"[A-Za-z0-9_-]{1,32}")  # no '/', '+', '#': safe inside a topic


class TopicError(ValueError):
    """Not a terminal id or topic of docs/mqtt.md."""


RESERVED = frozenset({"host"})  # posterm/v1/host/... is the host's


def check_tid(tid: str) -> str:
    if not isinstance(tid, str) or not TID.fullmatch(tid):
        raise TopicError(f"terminal id {tid!r}: 1-32 of A-Z a-z 0-9 _ -")
    return tid


def check_terminal(tid: str) -> str:
    """A terminal id (not a host's reserved name)."""
    if check_tid(tid) in RESERVED:
        raise TopicError(f"{tid!r} is reserved for the host's topics")
    return tid


def terminal(tid: str, leaf: str) -> str:
    """`posterm/v1/{tid}/{leaf}` for leaf in status, telemetry, events, ack, cmd, reply."""
    if leaf not in TERMINAL_LEAVES:
        raise TopicError(f"no terminal topic {leaf!r}")
    return f"{ROOT}/{check_terminal(tid)}/{leaf}"


def host(host_id: str, leaf: str) -> str:
    """`posterm/v1/host/{host_id}/{leaf}` for leaf in status, alerts."""
    if leaf not in ("status", "alerts"):
        raise TopicError(f"no host topic {leaf!r}")
    return f"{ROOT}/host/{check_tid(host_id)}/{leaf}"


def all_terminals(leaf: str) -> str:
    """The host's subscription to one leaf of every terminal."""
    if leaf not in TERMINAL_LEAVES:
        raise TopicError(f"no terminal topic {leaf!r}")
    return f"{ROOT}/+/{leaf}"


def split(topic: str) -> tuple[str, str]:
    """`posterm/v1/{tid}/{leaf}` -> (tid, leaf)."""
    parts = topic.split("/")
    if len(parts) != 4 or "/".join(parts[:2]) != ROOT or parts[3] not in TERMINAL_LEAVES:
        raise TopicError(f"not a posterm terminal topic: {topic!r}")
    return check_terminal(parts[2]), parts[3]


TERMINAL_LEAVES = ("status", "telemetry", "events", "ack", "cmd", "reply")
