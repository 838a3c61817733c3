"""A command the operator was told failed never runs later (DESIGN, money rule 10): every
command the back office sends (CLI or dashboard) expires when the operator stops waiting
for its reply, so a terminal that gets it later refuses it (`expired`), and an unanswered
one is reported with that moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from posterm.protocol.mqtt import commands


def build(
    terminal: str,
    name: str,
    args: dict[str, Any],
    *,
    wait_s: float,
    key: Ed25519PrivateKey | None = None,
) -> dict[str, Any]:
    """The command envelope, expiring `wait_s` after it is issued: the caller waits for its
    reply at least that long after this call."""
    return commands.build(terminal, name, args, key=key, ttl=timedelta(seconds=wait_s))


def unanswered(terminal: str, envelope: dict[str, Any], wait_s: float) -> str:
    """What the operator is told when no reply came in time: exactly what happens next."""
    expired = datetime.fromisoformat(envelope["expires_at"]).astimezone(UTC)
    return (
        f"{terminal} did not answer within {wait_s:g} s: the command expired unanswered at"
        f" {expired:%H:%M:%S} UTC: the terminal will refuse it (if it was already running"
        " it before then, its events tell the outcome)"
    )
