"""Refund notifications under a burst: a merchant refunding a whole event, each refund
with the customer's e-mail. Ingest of their events into SQLite with the notification hook
(the batch's contacts kept in one INSERT; the sender decides and queues the
notifications) while the delivery sender runs in a process of its own (`posterm-host run
--role sender`, as in production) draining to a local SMTP server (aiosmtpd) -- against
the same ingest without notifications. Interleaved rounds (bench/runs.py): the ratio is
the median of the rounds' ratios with its spread (target >= 0.9), each run >= 5 s of
ingest; then the e-mails per second the sender process delivered while the burst was
ingested.

Run: .venv/bin/python bench/bench_notify.py [--refunds N] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.figures import figure  # noqa: E402
from bench.runs import Sample, Spread, interleave  # noqa: E402
from posterm.host.alerts.engine import Alerter  # noqa: E402
from posterm.host.alerts.rules import Limits  # noqa: E402
from posterm.host.notify.queue import take_contacts  # noqa: E402
from posterm.host.notify.sender import IngestHooks  # noqa: E402
from posterm.host.store import Store  # noqa: E402
from posterm.protocol.mqtt.events import envelope  # noqa: E402
from tests.support.broker import free_port, wait_for  # noqa: E402

BATCH = 500  # as posterm-host run stores them
BIN = Path(sys.executable).parent
RUN_S = 6.0  # seconds of bare ingest per run, when --refunds is not given
DRAIN_S = 10.0  # after the burst, the sender's rate is counted this much longer
CPU: list[float] = []  # each ingest's CPU seconds, in the order they ran


PER_TERMINAL = 20  # refunds per terminal in a burst: a busy day's, not thousands


def refund_events(count: int, with_contact: bool) -> list[dict[str, Any]]:
    """`count` refunds spread over the fleet, PER_TERMINAL each, each terminal's seq gapless
    from 1 (a terminal with thousands of refunds a day would time the per-day rule's read
    of that day, which grows with it, not the notifications)."""
    out: list[dict[str, Any]] = []
    for i in range(count):
        tid = f"pos-{i // PER_TERMINAL:05d}"
        txn = f"R{i:06d}"
        seq = 3 * (i % PER_TERMINAL) + 1
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


def ingest(events: list[dict[str, Any]], hooks: IngestHooks | None, store: Store) -> float:
    """Seconds to ingest `events` as `posterm-host run --role ingest` does (and the CPU
    seconds this process spent on it, into CPU)."""
    limits = Limits(refunds_per_day=10**6, refund_minor_per_day=10**12)  # a planned burst
    alerter = Alerter(store, limits, new_event_hooks=(hooks.on_new,) if hooks else ())
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(events), BATCH):
        batch = events[i : i + BATCH]
        contacts, _ = take_contacts(batch)
        if hooks is not None:
            hooks.prepare(contacts)
        alerter.ingest(batch)
    CPU.append(time.process_time() - cpu)
    return time.perf_counter() - start


def _listening(port: int) -> bool:
    import socket  # noqa: PLC0415

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _sent(store: Store) -> int:
    rows = store.db.rows("SELECT COUNT(*) AS n FROM notifications WHERE state = 'sent'")
    return int(rows[0]["n"])


def _config(tmp: Path, db: Path, smtp_port: int) -> Path:
    config = tmp / "host.toml"
    config.write_text(
        f'[host]\nid = "bench"\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\n'
        f'[store]\nurl = "sqlite://{db}"\n[notify]\nmerchant_name = "Bench"\n'
        f'smtp_url = "smtp://127.0.0.1:{smtp_port}"\nsmtp_security = "none"\n'
        f'from = "refunds@bench.example"\n'
    )
    return config


class Arms:
    """The two arms of a round, each on a database of its own; `mails` the sender
    process's rate in each round of `ours`."""

    def __init__(self, tmp: Path, refunds: int, smtp_port: int) -> None:
        self.tmp, self.refunds, self.smtp_port = tmp, refunds, smtp_port
        self.runs = 0
        self.mails: list[Sample] = []
        self.cpu: dict[str, list[float]] = {"ours": [], "bare": []}  # per round

    def _db(self) -> Path:
        self.runs += 1
        return self.tmp / f"run{self.runs}.db"

    def bare(self) -> Sample:
        events = refund_events(self.refunds, False)
        store = Store(f"sqlite://{self._db()}")
        try:
            sample = Sample(len(events), ingest(events, None, store))
            self.cpu["bare"].append(CPU[-1])
            return sample
        finally:
            store.close()

    def ours(self) -> Sample:
        events = refund_events(self.refunds, True)
        db = self._db()
        store = Store(f"sqlite://{db}")  # the schema, before the sender opens it
        log = (self.tmp / f"sender{self.runs}.log").open("w")
        sender = subprocess.Popen(
            [
                *(
                    str(BIN / "posterm-host"),
                    "--config",
                    str(_config(self.tmp, db, self.smtp_port)),
                ),
                *("run", "--role", "sender", "--instance", "sender"),
            ],
            stdout=log,
            stderr=log,
        )
        try:
            wait_for(
                lambda: "sending from" in (self.tmp / f"sender{self.runs}.log").read_text(),
                "the sender process started",
                timeout=60,
            )
            start = time.perf_counter()
            seconds = ingest(events, IngestHooks(None), store)
            self.cpu["ours"].append(CPU[-1])
            time.sleep(DRAIN_S)  # the sender goes on draining (a rate, not a test)
            self.mails.append(Sample(_sent(store), time.perf_counter() - start))
            return Sample(len(events), seconds)
        finally:
            sender.terminate()
            sender.wait(30)
            log.close()
            store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--refunds", type=int, help="per run (default: enough for >= 6 s of bare ingest here)"
    )
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        port = free_port()  # the mail server in a process of its own, as it would be
        smtp = subprocess.Popen(
            [
                *(sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Sink",
            ]
        )
        try:
            wait_for(lambda: _listening(port), "the SMTP server")
            arms = Arms(tmp, args.refunds or 1000, port)
            if args.refunds is None:  # warm-up runs size the burst for this machine now:
                for _ in range(2):  # a small one, then one of about that size (the first
                    rate = arms.bare().rate  # ran colder and slower: its runs came out short)
                    arms.refunds = max(1000, int(rate * RUN_S / 3))
                arms.cpu["bare"].clear()
                args.refunds = arms.refunds
            runs: dict[str, Callable[[], Sample]] = {"ours": arms.ours, "bare": arms.bare}
            result = interleave(runs, rounds=args.rounds)
        finally:
            smtp.terminate()
            smtp.wait(10)
    ratio = result.ratio("ours", "bare")
    ours, bare = result.rate("ours"), result.rate("bare")
    mails = statistics.median(s.rate for s in arms.mails)
    # the ingest process's own CPU per event, bare over ours, round by round: what the
    # hook costs, apart from the CPU the other processes of a loaded machine take from it
    per_round = [b / o for o, b in zip(arms.cpu["ours"], arms.cpu["bare"], strict=True)]
    cpu = Spread(statistics.median(per_round), min(per_round), max(per_round), len(per_round))
    print(
        f"notify: {3 * args.refunds:,} refund events ({args.refunds:,} refunds with an e-mail)"
        f" into SQLite per run, batches of {BATCH}, {args.rounds} interleaved rounds"
    )
    print(
        f"notify: ingest {ours} events/s with the notification hook and the sender process"
        f" running; {bare} events/s without; ratio {ratio}"
        f" (target >= 0.9 -> {'MET' if ratio.median >= 0.9 else 'NOT MET'})"
    )
    print(
        f"notify: the sender process delivered {mails:,.0f} e-mails/s (median of the rounds,"
        f" from the burst's first event to {DRAIN_S:.0f} s after its last)"
    )
    figure(
        "notify: ingest of a refund burst",
        ours.median,
        "events/s",
        baseline=bare.median,
        baseline_name="same ingest, no notifications",
        target="ratio >= 0.9",
        spread=ratio,
    )
    print(
        f"notify: the ingest process's CPU per event, without notifications over with them:"
        f" {cpu} (its wall-clock ratio also carries the CPU the sender process and the"
        f" machine's other load take from it)"
    )
    figure(
        "notify: ingest CPU per event, bare / with notifications",
        cpu.median,
        "ratio",
        target="ratio >= 0.9",
        spread=cpu,
    )
    figure("notify: e-mails delivered by the sender process", mails, "mails/s")


if __name__ == "__main__":
    main()
