"""Close the day for a whole site: every terminal enrolled at the site (`enrolments`, not
revoked) that is online gets the signed `batch.close` at once; one that is offline is not
sent it. The progress of each terminal: offline (not sent), sent, done (its batch's net
total), failed (and why), no reply (its command expired unanswered, money rule 10).

How commands go out and replies come back is the caller's (`publish`, `reply`): the CLI
listens on the broker itself, the dashboard reads the replies its service stores."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from posterm.host import expiry
from posterm.host.config import HostConfig
from posterm.host.enrol.codes import SITE
from posterm.host.store import Store
from posterm.protocol.errorcodes import ErrorCode
from posterm.protocol.mqtt.events import rfc3339

STATUSES = ("offline", "sent", "done", "failed", "no_reply")
FINAL = frozenset({"offline", "done", "failed", "no_reply"})
POLL_S = 0.05


class SiteBatchError(Exception):
    """A site close that cannot start (bad or empty site); nothing was sent."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Progress:
    """Where one terminal's close of the day stands."""

    terminal: str
    status: str  # one of STATUSES
    why: str | None = None  # offline, failed, no_reply: what the operator is told
    txn_id: str | None = None  # done: the terminal's end-of-day transaction
    net: str | None = None  # done: the closed batch's net total (decimal string)
    currency: str | None = None
    cmd_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def sentence(self) -> str:
        """One line for a person."""
        if self.status == "done":
            return f"{self.terminal}: done, batch net {self.net} {self.currency} ({self.txn_id})"
        if self.status == "sent":
            return f"{self.terminal}: sent, waiting for its reply"
        label = {"offline": "offline, not sent", "failed": "failed", "no_reply": "no reply"}
        return f"{self.terminal}: {label[self.status]}: {self.why}"


def members(store: Store, site: str) -> list[str]:
    """The terminals enrolled at `site` (not revoked), by id; SiteBatchError when the site
    is malformed or has none."""
    if not SITE.fullmatch(site):
        raise SiteBatchError(
            ErrorCode.BAD_REQUEST, f"site: {site[:40]!r} is not 1-24 of A-Z a-z 0-9 _ -"
        )
    with store.transaction() as tx:
        rows = tx.rows(
            "SELECT terminal FROM enrolments WHERE site = ? AND revoked_at IS NULL"
            " ORDER BY terminal",
            (site,),
        )
    if not rows:
        raise SiteBatchError(ErrorCode.UNKNOWN_TERMINAL, f"no terminal is enrolled at site {site}")
    return [str(r["terminal"]) for r in rows]


def start(store: Store, config: HostConfig, site: str) -> tuple[list[Progress], list[str]]:
    """Each member's first progress (offline ones final) and the ones to send it to."""
    online = {
        t["terminal"]
        for t in store.fleet(rfc3339(datetime.now(UTC)), stale_after_s=config.stale_after_s)
        if t["online"]
    }
    first, to_send = [], []
    for tid in members(store, site):
        if tid in online:
            to_send.append(tid)
            first.append(Progress(tid, "sent"))
        else:
            first.append(Progress(tid, "offline", why="the terminal is offline"))
    return first, to_send


def close_site(
    store: Store,
    config: HostConfig,
    plan: tuple[list[Progress], list[str]],
    *,
    key: Ed25519PrivateKey,
    publish: Callable[[str, dict[str, Any]], None],
    reply: Callable[[str, str], dict[str, Any] | None],
    on_change: Callable[[Progress], None] = lambda p: None,
) -> list[Progress]:
    """Close the day on the online terminals of a site's `plan` (`start`) at once and wait
    for their replies (until the commands expire); each change of a terminal's progress
    goes to `on_change`. The final progress of every member, in terminal order."""
    first, to_send = plan
    state = {p.terminal: p for p in first}
    for p in first:
        on_change(p)
    envelopes: dict[str, dict[str, Any]] = {}
    for tid in to_send:
        envelope = expiry.build(tid, "batch.close", {}, key=key, wait_s=config.reply_timeout_s)
        store.sent_command(envelope["cmd_id"], tid, "batch.close")  # only tid's reply counts
        publish(tid, envelope)
        envelopes[tid] = envelope
        state[tid] = replace(state[tid], cmd_id=envelope["cmd_id"])
    deadline = time.monotonic() + config.reply_timeout_s
    waiting = set(to_send)
    while waiting:
        for tid in sorted(waiting):
            got = reply(envelopes[tid]["cmd_id"], tid)
            if got is not None:
                state[tid] = _answered(state[tid], got)
                waiting.discard(tid)
                on_change(state[tid])
        if waiting and time.monotonic() >= deadline:
            for tid in sorted(waiting):
                why = expiry.unanswered(tid, envelopes[tid], config.reply_timeout_s)
                state[tid] = replace(state[tid], status="no_reply", why=why)
                on_change(state[tid])
            waiting.clear()
        elif waiting:
            time.sleep(POLL_S)
    return [state[tid] for tid in sorted(state)]


def _answered(p: Progress, got: dict[str, Any]) -> Progress:
    if not got.get("ok"):
        why = f"{got.get('error') or 'refused'} ({got.get('code') or 'error'})"
        return replace(p, status="failed", why=why)
    result: dict[str, Any] = got["result"] if isinstance(got.get("result"), dict) else {}
    return replace(
        p,
        status="done",
        txn_id=str(result.get("txn_id") or "?"),
        net=str(result.get("amount") or "?"),
        currency=str(result.get("currency") or ""),
    )
