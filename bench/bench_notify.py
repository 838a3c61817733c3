"""Refund notifications under a burst: 10,000 refunds with a customer's e-mail complete
within minutes (a merchant refunding a whole event). Ingest of their events into SQLite
with the notification queue filling and its sender draining to a local SMTP server
(aiosmtpd), against the same ingest without notifications in the same run (ratio, target
>= 0.9); then how many notifications per second the sender delivers.

Run: .venv/bin/python bench/bench_notify.py [--refunds 10000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.figures import figure  # noqa: E402
from posterm.host.alerts.engine import Alerter  # noqa: E402
from posterm.host.alerts.rules import Limits  # noqa: E402
from posterm.host.notify.config import parse  # noqa: E402
from posterm.host.notify.queue import take_contacts  # noqa: E402
from posterm.host.notify.sender import Notifier  # noqa: E402
from posterm.host.store import Store  # noqa: E402
from posterm.protocol.mqtt.events import envelope  # noqa: E402
from tests.support.broker import free_port, wait_for  # noqa: E402

BATCH = 500  # as posterm-host run stores them


def refund_events(count: int, with_contact: bool) -> list[dict[str, Any]]:
    out, seq = [], 0
    for i in range(count):
        tid = f"pos-{i % 50:04d}"
        txn = f"R{i:06d}"
        seq += 1
        data: dict[str, Any] = {
            "txn_id": txn,
            "kind": "refund",
            "amount": "12.50",
            "currency": "EUR",
            "reason": "goods_returned",
            "state": "in_doubt",
            "ref_txn": f"S{i:06d}",
        }
        if with_contact:
            data["notify"] = {"email": f"customer{i}@example.org"}
        out.append(envelope(tid, seq, "refund.requested", data))
        seq += 1  # sent at the PT's commit, before its completion: not final yet
        out.append(
            envelope(
                tid,
                seq,
                "refund.completed",
                {
                    "txn_id": txn,
                    "kind": "refund",
                    "amount": "12.50",
                    "currency": "EUR",
                    "reason": "goods_returned",
                    "state": "approved_unconfirmed",
                    "masked_pan": "476173******0119",
                },
            )
        )
        seq += 1  # the voucher, printed after the completion: the outcome is final
        out.append(
            envelope(
                tid,
                seq,
                "receipt.printed",
                {"txn_id": txn, "copy": "customer", "mark": "original", "lines": []},
            )
        )
    return out


def ingest_rate(events: list[dict[str, Any]], notifier: Notifier | None, store: Store) -> float:
    limits = Limits(refunds_per_day=10**6, refund_minor_per_day=10**12)  # a planned burst
    alerter = Alerter(store, limits, new_event_hooks=(notifier.on_new,) if notifier else ())
    start = time.perf_counter()
    for i in range(0, len(events), BATCH):
        batch = events[i : i + BATCH]
        contacts, _ = take_contacts(batch)
        if notifier is not None:
            notifier.prepare(contacts)
        alerter.ingest(batch)
    return len(events) / (time.perf_counter() - start)


def _listening(port: int) -> bool:
    import socket  # noqa: PLC0415

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _sent(store: Store) -> int:
    rows = store.db.rows("SELECT COUNT(*) AS n FROM notifications WHERE state = 'sent'")
    return int(rows[0]["n"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--refunds", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        port = free_port()  # the mail server in a process of its own, as it would be
        smtp = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                f"127.0.0.1:{port}",
                "-c",
                "aiosmtpd.handlers.Sink",
            ]
        )
        try:
            wait_for(lambda: _listening(port), "the SMTP server")
            bare_store = Store(f"sqlite://{tmp / 'bare.db'}")
            bare = ingest_rate(refund_events(args.refunds, False), None, bare_store)
            bare_store.close()
            store = Store(f"sqlite://{tmp / 'notify.db'}")
            config = parse(
                {
                    "merchant_name": "Bench",
                    "smtp_url": f"smtp://127.0.0.1:{port}",
                    "from": "refunds@bench.example",
                    "smtp_security": "none",
                }
            )
            notifier = Notifier(store, config)
            notifier.start()  # the sender drains while the burst is ingested
            start = time.perf_counter()
            ours = ingest_rate(refund_events(args.refunds, True), notifier, store)
            wait_for(
                lambda: _sent(store) >= args.refunds,
                f"{args.refunds:,} e-mails sent",
                timeout=max(120.0, args.refunds / 10),
            )  # never hang `make bench`
            drained = time.perf_counter() - start
            notifier.stop()
            store.close()
        finally:
            smtp.terminate()
            smtp.wait(10)
    events = 3 * args.refunds
    print(
        f"notify: {events:,} refund events ({args.refunds:,} refunds with an e-mail) into "
        f"SQLite, batches of {BATCH}"
    )
    print(
        f"notify: ingest {ours:,.0f} events/s with the notification queue and its sender "
        f"running; {bare:,.0f} events/s without; ratio {ours / bare:.2f} "
        f"(target >= 0.9 -> {'MET' if ours / bare >= 0.9 else 'NOT MET'})"
    )
    print(
        f"notify: {args.refunds:,} e-mails delivered to a local SMTP server in {drained:.1f} s"
        f" from the first event: {args.refunds / drained:,.0f} notifications/s"
    )
    figure(
        "notify: ingest of a refund burst",
        ours,
        "events/s",
        baseline=bare,
        baseline_name="same ingest, no notifications",
        target="ratio >= 0.9",
    )
    figure("notify: e-mails delivered", args.refunds / drained, "mails/s")


if __name__ == "__main__":
    main()
