"""A chaos soak of the whole rig: `python bench/soak.py [--minutes N] [--seed S]`.

The PT and printer simulators, a real Mosquitto, `posterm-host run` and `postermd`, while a
driver keeps selling, refunding (small ones, and ones above the approval limit approved from
the host with `posterm-host approve`) and voiding, and faults are injected at random times
from a seeded RNG: SIGKILL of postermd mid-operation (restarted, the operation asked again
with its idempotency key), SIGKILL of posterm-host (restarted), broker restarts, printer
paper-out/refill and cover-open/close, PT link drops before and after the debit, and a
corrupted byte from the PT. At the end (faults cleared, postermd restarted and settled)
every money rule is checked across the PT's ledger, the journal, the printed receipts and
the host's database, and the card-data scan runs over everything written or published.
Prints a table; exit 1 if any figure after the first two (operations, faults) is not 0.

Not named bench_*.py: `make bench` does not run it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.mqtt_recorder import Recorder  # noqa: E402
from bench.soak_checks import (  # noqa: E402
    TID,
    contacts_left,
    host_events,
    queued_notifications,
)
from bench.soak_faults import FAULT_KINDS, Faults  # noqa: E402
from bench.soak_report import report  # noqa: E402
from posterm.daemon.control.client import ControlError  # noqa: E402
from tests.host.test_host import Host, unacked  # noqa: E402
from tests.support.broker import Broker, wait_for  # noqa: E402
from tests.support.rig import Rig, make_rig  # noqa: E402
from tests.support.smtp import SmtpServer  # noqa: E402

APPROVAL_LIMIT = 5000  # minor units; the rig's [refunds] approval_limit = "50.00"
# -- the soak -------------------------------------------------------------------------------


@dataclass
class Sale:
    txn_id: str
    amount: int
    refunded: int = 0
    voided: bool = False


@dataclass
class Soak(Faults):
    tmp: Path
    rng: random.Random
    broker: Broker
    host: Host
    rig: Rig
    recorder: Recorder
    smtp: SmtpServer
    ops: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    sales: list[Sale] = field(default_factory=list)
    awaiting: set[str] = field(default_factory=set)
    open_printer: dict[str, float] = field(default_factory=dict)  # fault -> clear at
    replies: dict[str, dict[str, Any]] = field(default_factory=dict)  # idem key -> result
    bag: list[str] = field(default_factory=list)
    steps: Counter[str] = field(default_factory=Counter)  # kill_at_step's steps
    timers: list[threading.Timer] = field(default_factory=list)
    contacts: dict[str, str] = field(default_factory=dict)  # idempotency key -> e-mail
    replay_mismatch: int = 0
    keys: int = 0

    # -- operations --------------------------------------------------------------------------
    def key(self) -> str:
        self.keys += 1
        return f"soak-{self.keys}"

    def ask(self, kind: str, request: dict[str, Any]) -> dict[str, Any] | None:
        """One operation through the control socket; None when postermd did not answer."""
        self.ops[kind] += 1
        try:
            reply = self.rig.request(**request)
        except (OSError, ValueError, RuntimeError, ControlError) as exc:
            self.outcomes[f"{kind}: no answer ({type(exc).__name__})"] += 1
            return None
        if not reply.get("ok"):
            self.outcomes[f"{kind}: refused ({reply.get('code')})"] += 1
            return reply
        result: dict[str, Any] = reply["result"]
        self.outcomes[f"{kind}: {result.get('state')}"] += 1
        key = request.get("key")
        if isinstance(key, str):
            first = self.replies.setdefault(key, result)
            if first.get("txn_id") != result.get("txn_id"):
                self.replay_mismatch += 1
        return reply

    def amount(self, low: int, high: int) -> int:
        cents = self.rng.randint(low, high)
        return cents - 1 if cents % 100 == 99 else cents  # .99 is the PT's slow host

    def sale_request(self) -> dict[str, Any]:
        return {"cmd": "sale", "amount": fmt(self.amount(100, 12000)), "key": self.key()}

    def note(self, request: dict[str, Any], reply: dict[str, Any] | None) -> None:
        """Track what was sold, refunded and voided for the driver's next choices."""
        if reply is None or not reply.get("ok"):
            return
        result = reply["result"]
        cmd, state = request["cmd"], result.get("state")
        if cmd == "sale" and state == "approved":
            if not any(s.txn_id == result["txn_id"] for s in self.sales):
                self.sales.append(Sale(result["txn_id"], minor(request["amount"])))
        elif cmd == "refund" and state == "awaiting_approval":
            self.awaiting.add(result["txn_id"])
        elif cmd == "void" and state == "approved":
            for s in self.sales:
                s.voided = s.voided or s.txn_id == request["txn"]

    def refund_request(self, sale: Sale, low: int, high: int) -> dict[str, Any]:
        amount = self.amount(low, high)
        sale.refunded += amount
        request = {
            "cmd": "refund",
            "txn": sale.txn_id,
            "amount": fmt(amount),
            "reason": "goods_returned",
            "key": self.key(),
        }
        if self.rng.random() < 0.3:  # the customer wants to hear how it ends
            address = self.contacts[request["key"]] = f"{request['key']}@example.org"
            request["notify_email"] = address
        return request

    def request_of(self, kind: str) -> dict[str, Any] | None:
        """A request of `kind` (sale, refund, large refund, over refund, void) that makes
        sense for what has been sold so far; None when nothing fits."""
        open_sales = [s for s in self.sales if not s.voided and s.refunded < s.amount]
        large = [s for s in open_sales if s.amount - s.refunded > APPROVAL_LIMIT]
        fresh = [s for s in open_sales if s.refunded == 0]
        if kind == "sale":
            return self.sale_request()
        if kind == "refund" and open_sales:
            sale = self.rng.choice(open_sales)
            return self.refund_request(sale, 1, min(APPROVAL_LIMIT, sale.amount - sale.refunded))
        if kind == "large refund" and large:
            sale = self.rng.choice(large)
            return self.refund_request(sale, APPROVAL_LIMIT + 1, sale.amount - sale.refunded)
        if kind == "over refund" and self.sales:
            sale = self.rng.choice(self.sales)  # asked to refund more than was paid
            return {
                "cmd": "refund",
                "txn": sale.txn_id,
                "amount": fmt(sale.amount + 1),
                "reason": "goods_returned",
                "key": self.key(),
                "over": True,
            }
        if kind == "void" and fresh:
            return {"cmd": "void", "txn": self.rng.choice(fresh).txn_id, "key": self.key()}
        return None

    def kind_of(self, request: dict[str, Any]) -> str:
        if request.pop("over", False):
            return "refund (more than the sale)"
        if request["cmd"] == "refund" and minor(request["amount"]) > APPROVAL_LIMIT:
            return "refund (host approval)"
        return str(request["cmd"])

    def one_operation(self) -> None:
        roll = self.rng.random()
        kind = (
            "sale"
            if roll < 0.55
            else "refund"
            if roll < 0.75
            else "large refund"
            if roll < 0.85
            else "over refund"
            if roll < 0.88
            else "void"
        )
        request = self.request_of(kind) or self.sale_request()
        self.note(request, self.ask(self.kind_of(request), request))

    def approve_pending(self) -> None:
        """`posterm-host approve` every refund awaiting it (retried while the link is down)."""
        for txn in sorted(self.awaiting):
            code, reply = self.host.cli("approve", txn, "--by", "soak", "--json")
            # unknown_txn: the request has not reached the host yet (ask again later)
            if code == 0 or (isinstance(reply, dict) and reply.get("code") == "not_awaiting"):
                self.awaiting.discard(txn)
                self.outcomes[f"host approve: {'ok' if code == 0 else reply.get('code')}"] += 1

    # -- the run -----------------------------------------------------------------------------
    def run(self, seconds: float, fault_every: float) -> None:
        end = time.monotonic() + seconds
        next_fault = time.monotonic() + self.rng.expovariate(1 / fault_every)
        while time.monotonic() < end:
            now = time.monotonic()
            self.clear_printer(now)
            if now >= next_fault:
                if not self.bag:  # a shuffled bag: every kind as often, in a seeded order
                    self.bag = self.rng.sample(FAULT_KINDS, len(FAULT_KINDS))
                self.inject(self.bag.pop())
                next_fault = time.monotonic() + self.rng.expovariate(1 / fault_every)
            self.one_operation()
            if self.awaiting and self.rng.random() < 0.5:
                self.approve_pending()
            time.sleep(self.rng.uniform(0.05, 0.3))  # deliberate pacing of the driver

    def settle(self, timeout: float) -> list[str]:
        """Faults cleared, postermd restarted, everything drained; what did not settle."""
        self.clear_all()
        self.rig.stop()
        self.rig.start()
        problems: list[str] = []
        deadline = time.monotonic() + timeout
        while self.awaiting and time.monotonic() < deadline:
            self.approve_pending()
        if self.awaiting:
            problems.append(f"refunds never approved: {sorted(self.awaiting)}")
        try:
            self.rig.wait_status(
                lambda s: (
                    s["state"] == "ready"
                    and s["pending_receipts"] == 0
                    and s["in_doubt"] == 0
                    and not s["awaiting_operator"]
                ),
                "ready with nothing pending",
                timeout,
            )
        except AssertionError as exc:
            problems.append(str(exc))
        try:
            wait_for(
                lambda: (
                    unacked(self.rig) == 0 and len(host_events(self.host)) >= len(self.rig.events())
                ),
                "the outbox drained at the host",
                timeout,
            )
        except AssertionError as exc:
            problems.append(str(exc))
        problems += self.close_day(timeout)
        try:
            wait_for(
                lambda: queued_notifications(self.host) == 0,
                "every refund notification sent",
                timeout,
            )
        except AssertionError as exc:
            problems.append(str(exc))
        with contextlib.suppress(AssertionError):  # else the table counts what is left
            wait_for(
                lambda: not contacts_left(self.rig, self.host), "the contacts forgotten on disk", 30
            )
        # what the terminal published last (status, telemetry) reaches the recorder
        seen = self.recorder.count()
        with contextlib.suppress(AssertionError):
            wait_for(lambda: self.recorder.count() > seen, "one more MQTT message", 10)
        return problems

    def close_day(self, timeout: float) -> list[str]:
        """End of day on the settled terminal, then `posterm-host reconcile` of its batch:
        the events the host stored must add up to the terminal's and the PT's totals."""
        reply = self.ask("end of day", {"cmd": "eod"})
        if reply is None or not reply.get("ok"):
            return [f"end of day failed: {reply}"]
        try:
            wait_for(
                lambda: (
                    unacked(self.rig) == 0 and len(host_events(self.host)) >= len(self.rig.events())
                ),
                "the batch's close drained at the host",
                timeout,
            )
        except AssertionError as exc:
            return [str(exc)]
        closes = [e for e in self.rig.events() if e["type"] == "batch.closed"]
        if not closes:
            return ["no batch.closed event after the end of day"]
        day = str(closes[-1]["occurred_at"])[:10]
        code, batches = self.host.cli("reconcile", "--terminal", TID, "--date", day, "--json")
        if code != 0 or not isinstance(batches, list) or not batches:
            return [f"posterm-host reconcile --date {day}: {code} {batches}"]
        return [
            f"reconcile batch {b.get('batch_no')}: {d.get('detail') or d.get('what')}"
            for b in batches
            for d in b.get("differences") or []
        ]


def fmt(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def minor(amount: str) -> int:
    units, _, cents = amount.partition(".")
    return int(units) * 100 + int(cents or 0)


def soak(
    minutes: float, seed: int, workdir: Path, fault_every: float = 6.0, settle_timeout: float = 90.0
) -> tuple[Soak, str, dict[str, int]]:
    """Run the soak in `workdir`; (the soak, its table, the figures that must be 0)."""
    broker = Broker(workdir)
    broker.start()
    host = Host(workdir, broker)
    if host.cli("keygen")[0] != 0:
        raise RuntimeError("posterm-host keygen failed")
    smtp = SmtpServer().start()
    host.config.write_text(
        host.config.read_text()
        + (
            f'[notify]\nmerchant_name = "Test Shop"\nsmtp_url = "{smtp.url}"\n'
            f'smtp_security = "none"\nfrom = "refunds@shop.example"\n'
            f"first_retry_s = 0.5\nmax_retry_s = 2\n"
        )
    )
    host.start()
    recorder = Recorder(broker)
    extra = (
        f'\n[mqtt]\nurl = "{broker.url}"\ntelemetry_s = 1\nkeepalive_s = 5\n'
        f'host_public_key = "{host.key.with_suffix(".pub")}"\n'
    )
    rig = make_rig(workdir, extra_config=extra)
    state = Soak(workdir, random.Random(seed), broker, host, rig, recorder, smtp)
    try:
        rig.start()
        started = time.monotonic()
        state.run(minutes * 60, fault_every)
        problems = state.settle(settle_timeout)
        table, figures = report(state, time.monotonic() - started, problems, FAULT_KINDS)
    finally:
        recorder.close()
        smtp.stop()
        rig.close()
        host.stop()
        broker.stop()
    return state, table, figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--fault-every", type=float, default=6.0, help="mean seconds between faults (default 6)"
    )
    parser.add_argument("--workdir", type=Path, help="keep the rig's files here")
    args = parser.parse_args(argv)
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        _, table, figures = soak(args.minutes, args.seed, args.workdir, args.fault_every)
    else:
        with tempfile.TemporaryDirectory(prefix="posterm-soak-") as tmp:
            _, table, figures = soak(args.minutes, args.seed, Path(tmp), args.fault_every)
    print(table)
    print(json.dumps({"seed": args.seed, "figures": figures}))
    return 0 if not any(figures.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
