"""Webhooks: a JSON POST per chosen event or alert to each `[[webhooks]]` URL, from a
durable queue in the host's database (`webhook_deliveries`, a row per delivery written in
the same transaction as the event or the alert), sent by a thread of its own with
exponential back-off; after `max_attempts` a delivery is `failed` and stays visible
(`posterm-host webhooks --failed`), never dropped.

Delivery is at least once: a receiver may get one delivery twice (the host died after
the POST and before it marked it sent, or the answer was lost) and deduplicates on the
`Posterm-Delivery` header (also `id` in the body). Each POST is signed like Stripe's:

    Posterm-Signature: t=UNIX_SECONDS,v1=HEX(HMAC-SHA256(secret, f"{t}.{body}"))

The receiver recomputes the HMAC over the raw body bytes with the shared secret (the
`secret_file`'s content, surrounding whitespace stripped), compares in constant time,
and refuses a `t` too far from its own clock (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from posterm.host.alerts import KINDS, later
from posterm.host.db import DatabaseError, Row, Tx
from posterm.host.store import Store
from posterm.protocol import config as kit
from posterm.protocol.config import Refused, Section, between, seconds, text
from posterm.protocol.mqtt.events import EVENT_TYPES, rfc3339

log = logging.getLogger("posterm.host")

PERSONAL = ("notify",)  # a customer's contact (refund.requested): never sent to a webhook
NAMESPACE = uuid.UUID("6f1c3c1e-6c4a-4c55-9a53-2f1b8f2d7a10")  # delivery ids: uuid5 in it
TOPICS = frozenset(EVENT_TYPES | {"alert.*"} | {f"alert.{k}" for k in KINDS})
class WebhookConfigError(kit.ConfigError):
    """A `[[webhooks]]` entry that cannot be used: (dotted key, why)."""


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: bytes = field(repr=False)
    events: frozenset[str]
    max_attempts: int = 12
    first_retry_s: float = 5.0
    max_retry_s: float = 3600.0
    timeout_s: float = 10.0

    def wants(self, topic: str) -> bool:
        """An event type (`sale.approved`) or an alert (`alert.double_charge`)."""
        return topic in self.events or (topic.startswith("alert.") and "alert.*" in self.events)

    def delay(self, attempts: int) -> float:
        """Back-off before the next attempt after `attempts` failed ones: doubling, capped."""
        return float(min(self.max_retry_s, self.first_retry_s * 2 ** max(attempts - 1, 0)))


class WebhookEntry(Section, frozen=True):
    """One `[[webhooks]]` table as the file writes it."""

    url: Annotated[str, text(r"https?://[^\s/?#:]+(:\d{1,5})?([/?#]\S*)?",
                             "an http:// or https:// URL", 2000)]  # fmt: skip
    secret_file: Path  # the shared secret, read at start-up: at least 16 bytes
    events: tuple[str, ...]  # event types of docs/mqtt.md, alert.* or alert.KIND
    max_attempts: Annotated[int, between(1, 1000)] = Webhook.max_attempts
    first_retry_s: Annotated[float, seconds(0.01, 86400)] = Webhook.first_retry_s
    max_retry_s: Annotated[float, seconds(0.01, 86400)] = Webhook.max_retry_s
    timeout_s: Annotated[float, seconds(0.5, 300)] = Webhook.timeout_s

    def __post_init__(self) -> None:
        super().__post_init__()
        bad = [e for e in self.events if e not in TOPICS]
        if bad:
            raise Refused(f"unknown {bad!r}: event types of docs/mqtt.md, alert.* or alert.KIND",
                          "events")  # fmt: skip
        if not self.events:
            raise Refused("names no event type or alert", "events")


def parse(entries: Any) -> tuple[Webhook, ...]:
    """`[[webhooks]]` as TOML gives it; a bad entry raises WebhookConfigError."""
    checked = kit.convert(entries, tuple[WebhookEntry, ...], WebhookConfigError,
                          prefix="webhooks")  # fmt: skip
    return build(checked)


def build(entries: tuple[WebhookEntry, ...]) -> tuple[Webhook, ...]:
    """The webhooks of checked entries: each URL once, each secret read (16 bytes or more)."""
    out: list[Webhook] = []
    for i, entry in enumerate(entries):
        name = f"webhooks[{i}]"
        if any(hook.url == entry.url for hook in out):
            raise WebhookConfigError(f"{name}.url", f"{entry.url} is listed twice")
        try:
            secret = entry.secret_file.read_bytes().strip()
        except OSError as exc:
            raise WebhookConfigError(f"{name}.secret_file",
                                     f"{entry.secret_file}: {exc.strerror or exc}") from None
        if len(secret) < 16:
            raise WebhookConfigError(f"{name}.secret_file", f"{entry.secret_file}: under 16 bytes")
        out.append(Webhook(entry.url, secret, frozenset(entry.events),
                           max_attempts=entry.max_attempts, first_retry_s=entry.first_retry_s,
                           max_retry_s=entry.max_retry_s, timeout_s=entry.timeout_s))
    return tuple(out)


def shareable(envelope: dict[str, Any]) -> dict[str, Any]:
    """An event as a webhook gets it: without the customer's personal data."""
    data = envelope.get("data")
    if not isinstance(data, dict) or not any(k in data for k in PERSONAL):
        return envelope
    return {**envelope, "data": {k: v for k, v in data.items() if k not in PERSONAL}}


def sign(secret: bytes, body: bytes, t: int) -> str:
    """The `Posterm-Signature` header's value."""
    mac = hmac.new(secret, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(secret: bytes, body: bytes, header: str, now: float, tolerance_s: float = 300) -> bool:
    """What a receiver does (and the tests): the HMAC matches and `t` is recent."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    want = sign(secret, body, t).split("v1=", 1)[1]
    return hmac.compare_digest(want, parts.get("v1", "")) and abs(now - t) <= tolerance_s


def enqueue(tx: Tx, hooks: tuple[Webhook, ...], topic: str, ref: str, data: dict[str, Any],
            *, at: str) -> int:  # fmt: skip
    """A pending delivery for every webhook that wants `topic`, in the caller's transaction.
    `ref` identifies what is sent (an event id, an alert id and its step): the delivery id
    is derived from it and the URL, so the same thing is queued once per webhook."""
    queued = 0
    for hook in hooks:
        if not hook.wants(topic):
            continue
        delivery_id = str(uuid.uuid5(NAMESPACE, f"{hook.url}\n{ref}"))
        body = json.dumps({"id": delivery_id, "type": topic, "created_at": at, "data": data},
                          separators=(",", ":"))  # fmt: skip
        queued += tx.execute(
            "INSERT INTO webhook_deliveries (delivery_id, url, kind, body, state, attempts,"
            " created_at, next_attempt_at) VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)"
            " ON CONFLICT (delivery_id) DO NOTHING",
            (delivery_id, hook.url, topic, body, at, at))  # fmt: skip
    return queued


def deliveries(store: Store, state: str | None = None, limit: int = 1000) -> list[Row]:
    """The queue for `posterm-host webhooks`, newest first (without the bodies)."""
    where, args = ("WHERE state = ?", [state]) if state else ("", [])
    try:
        return store.db.rows(
            "SELECT delivery_id, url, kind, state, attempts, created_at, next_attempt_at,"
            f" sent_at, last_error FROM webhook_deliveries {where}"
            f" ORDER BY created_at DESC, delivery_id LIMIT {int(limit)}", args)  # fmt: skip
    except DatabaseError as exc:
        raise WebhookError(str(exc)) from exc


class WebhookError(Exception):
    """The webhook queue could not be read or written."""


Post = Callable[[Webhook, str, bytes], None]  # raises OSError (or HTTPError) on failure


def http_post(hook: Webhook, delivery_id: str, body: bytes) -> None:
    """POST `body`; any answer but 2xx raises."""
    request = urllib.request.Request(hook.url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": "posterm-host",
        "Posterm-Delivery": delivery_id,
        "Posterm-Signature": sign(hook.secret, body, int(time.time())),
    })  # fmt: skip
    with urllib.request.urlopen(request, timeout=hook.timeout_s) as resp:  # http(s) only: checked
        resp.read(65536)


class Sender:
    """The delivery thread. It claims a due delivery by moving its `next_attempt_at` past the
    POST's time limit (so another host process on the same database leaves it alone), posts
    it outside any transaction, then marks it sent, or schedules the next attempt, or
    `failed` after the last one."""

    def __init__(self, store: Store, hooks: tuple[Webhook, ...], post: Post = http_post,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:  # fmt: skip
        self.store, self.post, self.clock = store, post, clock
        self.hooks = {h.url: h for h in hooks}
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.hooks:
            self._thread = threading.Thread(target=self._loop, name="webhooks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(30)

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                sent = self.run_due()
            except DatabaseError as exc:
                log.warning("webhooks: the queue failed: %s", exc)
                sent = 0
            except Exception:  # a bug: logged, and the queue is tried again, never dropped
                log.exception("webhooks: the sender failed")
                sent = 0
            if not sent:
                self.wake.wait(0.5)
                self.wake.clear()

    def _now(self) -> str:
        return rfc3339(self.clock())

    def run_due(self, limit: int = 20) -> int:
        """Attempt the deliveries due now; how many were attempted."""
        now = self._now()
        urls = list(self.hooks)  # a webhook removed from the config: its queue waits for it
        if not urls:
            return 0
        rows = self.store.db.rows(
            "SELECT delivery_id, url, body, attempts, next_attempt_at FROM webhook_deliveries"
            f" WHERE state = 'pending' AND next_attempt_at <= ? AND url IN"
            f" ({', '.join('?' for _ in urls)}) ORDER BY next_attempt_at LIMIT {int(limit)}",
            (now, *urls))  # fmt: skip
        done = 0
        for row in rows:
            if self.stopping.is_set():
                break
            hook = self.hooks[row["url"]]
            with self.store.db.tx() as tx:
                claimed = tx.execute(
                    "UPDATE webhook_deliveries SET next_attempt_at = ? WHERE delivery_id = ?"
                    " AND state = 'pending' AND next_attempt_at = ?",
                    (later(now, 2 * hook.timeout_s + 5), row["delivery_id"],
                     row["next_attempt_at"]))  # fmt: skip
            if claimed:
                self._attempt(hook, row)
                done += 1
        return done

    def _attempt(self, hook: Webhook, row: Row) -> None:
        error = None
        try:
            self.post(hook, row["delivery_id"], row["body"].encode())
        except urllib.error.HTTPError as exc:
            error = f"HTTP {exc.code} {exc.reason}"
        except (OSError, ValueError, http.client.HTTPException) as exc:  # a bad answer too
            error = str(getattr(exc, "reason", None) or exc) or type(exc).__name__
        attempts, now = int(row["attempts"]) + 1, self._now()
        with self.store.db.tx() as tx:
            if error is None:
                tx.execute("UPDATE webhook_deliveries SET state = 'sent', attempts = ?,"
                           " sent_at = ?, last_error = NULL WHERE delivery_id = ?",
                           (attempts, now, row["delivery_id"]))  # fmt: skip
            elif attempts >= hook.max_attempts:
                log.error("webhooks: %s to %s failed %d times, given up: %s", row["delivery_id"],
                          hook.url, attempts, error)  # fmt: skip
                tx.execute("UPDATE webhook_deliveries SET state = 'failed', attempts = ?,"
                           " last_error = ? WHERE delivery_id = ?",
                           (attempts, error, row["delivery_id"]))  # fmt: skip
            else:
                if attempts == 1:
                    log.warning("webhooks: %s to %s: %s (retrying)", row["delivery_id"],
                                hook.url, error)  # fmt: skip
                tx.execute("UPDATE webhook_deliveries SET attempts = ?, last_error = ?,"
                           " next_attempt_at = ? WHERE delivery_id = ?",
                           (attempts, error, later(now, hook.delay(attempts)),
                            row["delivery_id"]))  # fmt: skip
