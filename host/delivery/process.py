"""Which outboxes a `posterm-host run` process sends, and `run --role sender`: the delivery
sender alone, in a process of its own (no MQTT; its only link is the database), so sending
never competes with ingest for the GIL, and at a lower priority (SENDER_NICE), so it
takes only the CPU the ingest leaves. `--role ingest` runs no sender; no role runs both
in one process (the demo, a small install)."""

from __future__ import annotations

import logging
import os
import signal
from typing import Any

from posterm.host import webhooks
from posterm.host.config import HostConfig
from posterm.host.delivery.outbox import Outbox
from posterm.host.delivery.sender import Sender
from posterm.host.notify.sender import Notifications
from posterm.host.public.keys import Links, PublicError
from posterm.host.store import Store

log = logging.getLogger("posterm.host.delivery")
ROLES = ("ingest", "sender")  # no role: both
# `run --role sender` yields the CPU to ingest: on a host busy storing a burst, deliveries
# drain behind it (as the in-process sender's pause does), never slowing the acks
SENDER_NICE = 10


def outboxes(config: HostConfig, store: Store) -> tuple[Outbox, ...]:
    """The configured kinds of delivery: `[[webhooks]]`, `[notify]`."""
    found: list[Outbox] = []
    if config.webhooks:
        found.append(webhooks.Webhooks(config.webhooks))
    if config.notify is not None:  # with [public]: the status page's link in each message
        links = None
        try:
            links = None if config.public is None else Links.of(config.public)
        except PublicError as exc:  # the messages still go, without the link
            log.warning("notify: refund messages go without the status page link: %s", exc)
        found.append(Notifications(store, config.notify, links))
    return tuple(found)


def role_problem(role: str | None, http: object, metrics: object) -> str | None:
    """Why `run --role ROLE` with these options cannot start (None: it can)."""
    if role == "sender" and (http is not None or metrics is not None):
        return (
            "run --role sender: --http and --metrics belong to the ingest process"
            " (run, or run --role ingest)"
        )
    return None


def _yield_cpu() -> None:
    """At least SENDER_NICE (a unit's Nice= may have set it already)."""
    try:
        if os.getpriority(os.PRIO_PROCESS, 0) < SENDER_NICE:
            os.setpriority(os.PRIO_PROCESS, 0, SENDER_NICE)
    except OSError as exc:  # a sandbox without setpriority: sent at the ingest's priority
        log.warning("delivery: cannot lower this process's priority: %s", exc)


def run_sender(config: HostConfig, store: Store, owner: str) -> int:
    """`run --role sender`: deliver until SIGTERM or SIGINT; the exit code."""
    sender = Sender(store, outboxes(config, store), owner=owner)
    _yield_cpu()

    def stop(*_: Any) -> None:
        sender.stopping.set()
        sender.wake.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    kinds = ", ".join(o.name for o in sender.outboxes) or "nothing configured"
    log.info("delivery: %s sending from %s (%s)", owner, store.where, kinds)
    sender.release()
    sender.loop()
    log.info("delivery: %s stopped", owner)
    return 0
