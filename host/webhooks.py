"""Webhooks: a JSON POST per chosen event or alert to each `[[webhooks]]` URL, from a
durable queue in the host's database (`webhook_deliveries`, a row per delivery written in
the same transaction as the event or the alert), an outbox of the delivery queue
(host/delivery/: sent by its sender, with its back-off); after `max_attempts` a delivery
is `failed` and stays visible (`posterm-host webhooks --failed`), never dropped.

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
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from posterm.host.alerts.rules import KINDS
from posterm.host.db import DatabaseError, Row, Tx
from posterm.host.delivery import backoff
from posterm.host.delivery import sender as delivery
from posterm.host.delivery.outbox import ChannelError, Retries, Session
from posterm.host.delivery.queue import Table
from posterm.host.store import Store
from posterm.protocol import config as kit
from posterm.protocol.config import Refused, Section, between, seconds, text
from posterm.protocol.mqtt.events import EVENT_TYPES

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
        """Back-off before the next attempt after `attempts` failed ones (the delivery
        queue's one back-off: doubling, capped)."""
        return backoff.delay(attempts, self.first_retry_s, self.max_retry_s)


class WebhookEntry(Section, frozen=True):
    """One `[[webhooks]]` table as the file writes it."""

    url: Annotated[
        str, text(r"https?://[^\s/?#:]+(:\d{1,5})?([/?#]\S*)?", "an http:// or https:// URL", 2000)
    ]
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
            raise Refused(
                f"unknown {bad!r}: event types of docs/mqtt.md, alert.* or alert.KIND", "events"
            )
        if not self.events:
            raise Refused("names no event type or alert", "events")


def parse(entries: Any) -> tuple[Webhook, ...]:
    """`[[webhooks]]` as TOML gives it; a bad entry raises WebhookConfigError."""
    checked = kit.convert(entries, tuple[WebhookEntry, ...], WebhookConfigError, prefix="webhooks")
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
            raise WebhookConfigError(
                f"{name}.secret_file", f"{entry.secret_file}: {exc.strerror or exc}"
            ) from None
        if len(secret) < 16:
            raise WebhookConfigError(f"{name}.secret_file", f"{entry.secret_file}: under 16 bytes")
        out.append(
            Webhook(
                entry.url,
                secret,
                frozenset(entry.events),
                max_attempts=entry.max_attempts,
                first_retry_s=entry.first_retry_s,
                max_retry_s=entry.max_retry_s,
                timeout_s=entry.timeout_s,
            )
        )
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


def enqueue(
    tx: Tx, hooks: tuple[Webhook, ...], topic: str, ref: str, data: dict[str, Any], *, at: str
) -> int:
    """A pending delivery for every webhook that wants `topic`, in the caller's transaction.
    `ref` identifies what is sent (an event id, an alert id and its step): the delivery id
    is derived from it and the URL, so the same thing is queued once per webhook."""
    queued = 0
    for hook in hooks:
        if not hook.wants(topic):
            continue
        delivery_id = str(uuid.uuid5(NAMESPACE, f"{hook.url}\n{ref}"))
        body = json.dumps(
            {"id": delivery_id, "type": topic, "created_at": at, "data": data},
            separators=(",", ":"),
        )
        queued += tx.execute(
            "INSERT INTO webhook_deliveries (delivery_id, url, kind, body, state, attempts,"
            " created_at, next_attempt_at) VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)"
            " ON CONFLICT (delivery_id) DO NOTHING",
            (delivery_id, hook.url, topic, body, at, at),
        )
    return queued


def deliveries(store: Store, state: str | None = None, limit: int = 1000) -> list[Row]:
    """The queue for `posterm-host webhooks`, newest first (without the bodies)."""
    where, args = ("WHERE state = ?", [state]) if state else ("", [])
    try:
        return store.db.rows(
            "SELECT delivery_id, url, kind, state, attempts, created_at, next_attempt_at,"
            f" sent_at, last_error FROM webhook_deliveries {where}"
            f" ORDER BY created_at DESC, delivery_id LIMIT {int(limit)}",
            args,
        )
    except DatabaseError as exc:
        raise WebhookError(str(exc)) from exc


class WebhookError(Exception):
    """The webhook queue could not be read or written."""


Post = Callable[[Webhook, str, bytes], None]  # raises OSError (or HTTPError) on failure
TABLE = Table("webhook_deliveries", "delivery_id", "pending")  # in the delivery queue


def http_post(hook: Webhook, delivery_id: str, body: bytes) -> None:
    """POST `body`; any answer but 2xx raises."""
    request = urllib.request.Request(
        hook.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "posterm-host",
            "Posterm-Delivery": delivery_id,
            "Posterm-Signature": sign(hook.secret, body, int(time.time())),
        },
    )
    with urllib.request.urlopen(request, timeout=hook.timeout_s) as resp:  # http(s) only: checked
        resp.read(65536)


class Webhooks:
    """The webhooks' outbox of the delivery queue (host/delivery/): a row per delivery, a
    POST each to its URL; every failure is tried again until the webhook's
    `max_attempts`. A webhook removed from the config: its rows wait for it."""

    name = "webhooks"
    table = TABLE
    batch = 20

    def __init__(self, hooks: tuple[Webhook, ...], post: Post = http_post) -> None:
        self.hooks, self.post = {h.url: h for h in hooks}, post
        # a claim outlives the POSTs it makes (renewed between them)
        self.lease_s = max([120.0, *(2 * h.timeout_s + 5 for h in hooks)])

    def due(self) -> tuple[str, list[Any]] | None:
        urls = list(self.hooks)
        return (f"url IN ({', '.join('?' for _ in urls)})", urls) if urls else None

    def channel(self, row: Row) -> str:
        return str(row["url"])

    @contextmanager
    def session(self, channel: str) -> Iterator[Session]:
        yield _Post(self.hooks[channel], self.post)

    def retries(self, row: Row) -> Retries:
        hook = self.hooks[str(row["url"])]
        return Retries(hook.max_attempts, hook.first_retry_s, hook.max_retry_s)

    def tick(self, now: datetime) -> None:
        pass

    def recorded(self, sent: int) -> None:
        pass


class _Post:
    def __init__(self, hook: Webhook, post: Post) -> None:
        self.hook, self.post = hook, post

    def send(self, row: Row) -> None:
        try:
            self.post(self.hook, str(row["delivery_id"]), str(row["body"]).encode())
        except urllib.error.HTTPError as exc:
            raise ChannelError(f"HTTP {exc.code} {exc.reason}", temporary=True) from None
        except (OSError, ValueError, http.client.HTTPException) as exc:  # a bad answer too
            why = str(getattr(exc, "reason", None) or exc) or type(exc).__name__
            raise ChannelError(why, temporary=True) from None


class Sender(delivery.Sender):
    """The delivery sender of the webhooks alone (tests); `posterm-host run` has one
    sender for every outbox."""

    def __init__(
        self,
        store: Store,
        hooks: tuple[Webhook, ...],
        post: Post = http_post,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(store, (Webhooks(hooks, post),) if hooks else (), clock)
