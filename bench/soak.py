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
import re
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from posterm.daemon.control.server import ControlError  # noqa: E402
from tests.host.test_host import Host  # noqa: E402
from tests.support.broker import Broker, wait_for  # noqa: E402
from tests.support.money_rules import KIND_OF  # noqa: E402
from tests.support.rig import Rig, make_rig  # noqa: E402

TID = "pos-test"
APPROVAL_LIMIT = 5000  # minor units; the rig's [refunds] approval_limit = "50.00"
PT_FAULTS = ("drop_before_status", "drop_before_completion", "corrupt_byte")
FAULT_KINDS = ("kill_postermd", "kill_host", "broker_restart", "paper_out", "cover_open",
               *PT_FAULTS)  # fmt: skip

# -- the card-data scan ---------------------------------------------------------------------

_DIGITS = re.compile(r"(?<![0-9])[0-9]{13,19}(?![0-9])")
_TRACK2 = re.compile(r"(?<![0-9])[0-9]{12,19}[=D][0-9]{4}", re.IGNORECASE)
_PIN_BLOCK = re.compile(r"(?<![0-9A-F])0[4-9A-C][0-9A-F]{14}(?![0-9A-F])", re.IGNORECASE)
_PIN_WORD = re.compile(r"PIN", re.IGNORECASE)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_data(text: str) -> list[str]:
    """Card data found in `text`: Luhn-valid 13-19 digit numbers whose first digit is a
    card issuer's (ISO/IEC 7812 major industry 2-6: timestamps and ids starting with 1 are
    not cards), track-2 patterns, and ISO 9564 format-0 PIN blocks within 40 characters of
    the word PIN. A masked PAN (6 + ****** + 4) is not a match."""
    found = [m.group() for m in _DIGITS.finditer(text)
             if m.group()[0] in "23456" and luhn_ok(m.group())]  # fmt: skip
    found += [m.group() for m in _TRACK2.finditer(text)]
    for m in _PIN_BLOCK.finditer(text):
        near = text[max(0, m.start() - 40) : m.end() + 40]
        if _PIN_WORD.search(near):
            found.append(m.group())
    return found


def scan_files(paths: Iterable[Path]) -> list[str]:
    """`card_data` over files read as bytes (SQLite databases and their WALs too)."""
    found: list[str] = []
    for path in paths:
        if path.exists():
            found += card_data(path.read_bytes().decode("latin-1"))
    return found


def scan_db(db: Path) -> list[str]:
    """`card_data` over every cell of every table of an SQLite database (its WAL
    included), one cell at a time: a raw scan of the file would join neighbouring cells
    into false numbers (an idempotency key's digits run into the next column's)."""
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        cells: list[str] = []
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                cells += [v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in row]
        return card_data("\n".join(cells))
    finally:
        conn.close()


# -- the MQTT recorder ----------------------------------------------------------------------


class Recorder:
    """A paho subscriber on `#` that keeps every payload published during the soak."""

    def __init__(self, broker: Broker) -> None:
        self.payloads: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                                  client_id="soak-recorder", clean_session=False,
                                  protocol=mqtt.MQTTv311)  # fmt: skip
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 2)
        self.client.connect_async("127.0.0.1", broker.port, keepalive=10)
        self.client.loop_start()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        client.subscribe("#", qos=1)

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        with self.lock:
            self.payloads.append((message.topic, bytes(message.payload)))

    def count(self) -> int:
        with self.lock:
            return len(self.payloads)

    def text(self) -> str:
        with self.lock:
            return "\n".join(f"{t} {p.decode('latin-1')}" for t, p in self.payloads)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


# -- the soak -------------------------------------------------------------------------------


@dataclass
class Sale:
    txn_id: str
    amount: int
    refunded: int = 0
    voided: bool = False


@dataclass
class Soak:
    tmp: Path
    rng: random.Random
    broker: Broker
    host: Host
    rig: Rig
    recorder: Recorder
    ops: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    sales: list[Sale] = field(default_factory=list)
    awaiting: set[str] = field(default_factory=set)
    open_printer: dict[str, float] = field(default_factory=dict)  # fault -> clear at
    replies: dict[str, dict[str, Any]] = field(default_factory=dict)  # idem key -> result
    bag: list[str] = field(default_factory=list)
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

    def one_operation(self) -> None:
        roll = self.rng.random()
        open_sales = [s for s in self.sales if not s.voided and s.refunded < s.amount]
        request: dict[str, Any]
        if roll < 0.55 or not open_sales:
            request = self.sale_request()
        elif roll < 0.75:
            sale = self.rng.choice(open_sales)
            amount = self.amount(1, min(APPROVAL_LIMIT, sale.amount - sale.refunded))
            sale.refunded += amount
            request = {"cmd": "refund", "txn": sale.txn_id, "amount": fmt(amount),
                       "reason": "goods_returned", "key": self.key()}  # fmt: skip
        elif roll < 0.85 and any(s.amount - s.refunded > APPROVAL_LIMIT for s in open_sales):
            sale = self.rng.choice([s for s in open_sales
                                    if s.amount - s.refunded > APPROVAL_LIMIT])  # fmt: skip
            amount = self.amount(APPROVAL_LIMIT + 1, sale.amount - sale.refunded)
            sale.refunded += amount
            request = {"cmd": "refund", "txn": sale.txn_id, "amount": fmt(amount),
                       "reason": "goods_returned", "key": self.key()}  # fmt: skip
        elif roll < 0.88:
            sale = self.rng.choice(self.sales or open_sales)  # asked to refund more than paid
            request = {"cmd": "refund", "txn": sale.txn_id, "amount": fmt(sale.amount + 1),
                       "reason": "goods_returned", "key": self.key(), "over": True}  # fmt: skip
        else:
            fresh = [s for s in open_sales if s.refunded == 0]
            if not fresh:
                request = self.sale_request()
            else:
                request = {"cmd": "void", "txn": self.rng.choice(fresh).txn_id,
                           "key": self.key()}  # fmt: skip
        kind = request["cmd"]
        if request.pop("over", False):
            kind = "refund (more than the sale)"
        elif kind == "refund" and minor(request["amount"]) > APPROVAL_LIMIT:
            kind = "refund (host approval)"
        self.note(request, self.ask(kind, request))

    def approve_pending(self) -> None:
        """`posterm-host approve` every refund awaiting it (retried while the link is down)."""
        for txn in sorted(self.awaiting):
            code, reply = self.host.cli("approve", txn, "--by", "soak", "--json")
            # unknown_txn: the request has not reached the host yet (ask again later)
            if code == 0 or (isinstance(reply, dict) and reply.get("code") == "not_awaiting"):
                self.awaiting.discard(txn)
                self.outcomes[f"host approve: {'ok' if code == 0 else reply.get('code')}"] += 1

    # -- faults ------------------------------------------------------------------------------
    def inject(self, kind: str) -> None:
        self.faults[kind] += 1
        if kind == "kill_postermd":
            self.kill_mid_operation()
        elif kind == "kill_host":
            self.host.kill()
            self.host.start()
        elif kind == "broker_restart":
            self.broker.stop()
            time.sleep(self.rng.uniform(0.0, 2.0))  # deliberate: the broker stays away a while
            self.broker.start()
        elif kind in ("paper_out", "cover_open"):
            action = "paper-out" if kind == "paper_out" else "cover-open"
            self.rig.printer.ctl(action)
            self.open_printer[kind] = time.monotonic() + self.rng.uniform(1.0, 6.0)
        else:
            self.rig.pt.fault(kind, True)

    def kill_mid_operation(self) -> None:
        """SIGKILL postermd at a random moment of a sale; restart it and ask again with the
        same idempotency key (what an ECR does after losing its answer)."""
        request = self.sale_request()
        thread = threading.Thread(target=lambda: self.ask("sale", request), daemon=True)
        thread.start()
        time.sleep(self.rng.uniform(0.0, 1.5))  # deliberate: the kill lands at a random step
        self.rig.kill()
        thread.join(30)
        self.rig.start()
        self.note(request, self.ask("sale (same key again)", request))

    def clear_printer(self, now: float | None = None) -> None:
        for kind, at in list(self.open_printer.items()):
            if now is None or now >= at:
                self.rig.printer.ctl("refill" if kind == "paper_out" else "cover-close")
                del self.open_printer[kind]

    def clear_all(self) -> None:
        self.clear_printer()
        for name in PT_FAULTS:
            self.rig.pt.fault(name, False)
        if self.broker.proc is None:
            self.broker.start()
        if self.host.proc is None or self.host.proc.poll() is not None:
            self.host.start()

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
            self.rig.wait_status(lambda s: s["state"] == "ready" and s["pending_receipts"] == 0
                                 and s["in_doubt"] == 0 and not s["awaiting_operator"],
                                 "ready with nothing pending", timeout)  # fmt: skip
        except AssertionError as exc:
            problems.append(str(exc))
        try:
            wait_for(lambda: unacked(self.rig) == 0
                     and len(host_events(self.host)) >= len(self.rig.events()),
                     "the outbox drained at the host", timeout)  # fmt: skip
        except AssertionError as exc:
            problems.append(str(exc))
        # what the terminal published last (status, telemetry) reaches the recorder
        seen = self.recorder.count()
        with contextlib.suppress(AssertionError):
            wait_for(lambda: self.recorder.count() > seen, "one more MQTT message", 10)
        return problems


def fmt(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def minor(amount: str) -> int:
    units, _, cents = amount.partition(".")
    return int(units) * 100 + int(cents or 0)


def unacked(rig: Rig) -> int:
    db = sqlite3.connect(rig.journal)
    try:
        return int(db.execute("SELECT COUNT(*) FROM outbox WHERE acked_at IS NULL").fetchone()[0])
    finally:
        db.close()


def host_events(host: Host) -> list[tuple[str, int]]:
    if not host.db.exists():
        return []
    db = sqlite3.connect(host.db)
    try:
        rows = db.execute("SELECT event_id, seq FROM events WHERE terminal = ?", (TID,))
        return [(r[0], int(r[1])) for r in rows]
    finally:
        db.close()


# -- the checks -----------------------------------------------------------------------------


_QR = re.compile(r"\[QR: ([^\]]+)\]")


def customer_receipts(rig: Rig) -> dict[str, list[str]]:
    """money_rules.receipts_for for every transaction at once (the printer's pages are
    read once: a soak prints thousands)."""
    out: dict[str, list[str]] = {}
    for page in rig.printer.printed():
        for txn_id in set(_QR.findall(page)):
            blocks = page.split(f"[QR: {txn_id}]")
            out.setdefault(txn_id, []).extend(
                b for b in blocks[:-1] if "CUSTOMER COPY" in b.rsplit("Test Shop", 1)[-1]
            )
    return out


def money_rule_violations(rig: Rig) -> list[str]:
    """tests/support/money_rules.check's rules, counted instead of asserted."""
    txns, ledger = rig.txns(), rig.ledger()
    out = [f"unresolved {t['txn_id']} {t['state']}" for t in txns
           if t["state"] in ("in_doubt", "approved_unconfirmed")]  # fmt: skip
    kept = Counter((e["receipt_no"], e["amount"], KIND_OF[e["kind"]]) for e in ledger
                   if e["state"] in ("booked", "reversed"))  # fmt: skip
    journaled = Counter((t["receipt_no"], t["amount"], t["kind"]) for t in txns
                        if t["kind"] != "eod" and t["state"] in ("approved", "voided"))  # fmt: skip
    out += [f"PT kept {k} x{n}, journal has it x{journaled[k]}" for k, n in kept.items()
            if journaled[k] != n]  # fmt: skip
    out += [f"journal has {k} x{n}, PT kept it x{kept[k]}" for k, n in journaled.items()
            if kept[k] != n]  # fmt: skip
    receipts = customer_receipts(rig)
    for txn in txns:
        got = receipts.get(txn["txn_id"], [])
        if (txn["kind"] == "eod" or txn["state"] not in ("approved", "voided")) and got:
            out.append(f"receipt printed for {txn['state']} {txn['txn_id']}")
        unmarked = [r for r in got if "RECOVERED" not in r and "DUPLICATE" not in r]
        if len(unmarked) > 1:
            out.append(f"{txn['txn_id']} printed unmarked {len(unmarked)} times")
    return out


def debits_without_one_receipt(rig: Rig) -> list[str]:
    """Approved operations without exactly one customer receipt that is the original or
    marked RECOVERED (DUPLICATE reprints aside)."""
    out = []
    receipts = customer_receipts(rig)
    for txn in rig.txns():
        if txn["kind"] == "eod" or txn["state"] not in ("approved", "voided"):
            continue
        got = [r for r in receipts.get(txn["txn_id"], []) if "DUPLICATE" not in r]
        if len(got) != 1:
            out.append(f"{txn['kind']} {txn['txn_id']}: {len(got)} customer receipts")
    return out


def refunds_over_sale(rig: Rig) -> list[str]:
    txns = rig.txns()
    refunded: Counter[str] = Counter()
    for t in txns:
        if t["kind"] == "refund" and t["state"] == "approved" and t["ref_txn"]:
            refunded[t["ref_txn"]] += t["amount"]
    sales = {t["txn_id"]: t for t in txns if t["kind"] == "sale"}
    return [f"{ref}: refunded {n} of {sales[ref]['amount'] if ref in sales else '?'}"
            for ref, n in refunded.items()
            if ref not in sales or n > sales[ref]["amount"]]  # fmt: skip


def event_figures(rig: Rig, host: Host) -> tuple[list[str], list[str], list[str]]:
    """(lost, stored twice, unknown at the host): outbox seqs missing at the host, seqs or
    event ids the host stored more than once, events the host has that the outbox never had."""
    outbox = {(e["event_id"], int(e["seq"])) for e in rig.events()}
    stored = host_events(host)
    seqs = Counter(seq for _, seq in stored)
    ids = Counter(eid for eid, _ in stored)
    lost = [f"seq {seq}" for _, seq in sorted(outbox, key=lambda x: x[1]) if seqs[seq] == 0]
    twice = [f"seq {s} x{n}" for s, n in seqs.items() if n > 1]
    twice += [f"event {e} x{n}" for e, n in ids.items() if n > 1]
    unknown = [f"{e} seq {s}" for e, s in stored if (e, s) not in outbox]
    return lost, twice, unknown


def scan_places(soak: Soak) -> dict[str, list[str]]:
    tmp = soak.tmp
    return {
        "journal": scan_db(soak.rig.journal),
        "postermd logs": scan_files(soak.rig.logs),
        "posterm-host logs": scan_files(sorted(tmp.glob("host-*.log"))),
        "host database": scan_db(soak.host.db),
        "receipts": card_data("\n".join(soak.rig.printer.printed())),
        "MQTT payloads": card_data(soak.recorder.text()),
    }


# -- the table ------------------------------------------------------------------------------


def report(soak: Soak, seconds: float, problems: list[str]) -> tuple[str, dict[str, int]]:
    rig = soak.rig
    lost, twice, unknown = event_figures(rig, soak.host)
    violations = money_rule_violations(rig) + problems + unknown
    if soak.replay_mismatch:
        violations.append(f"{soak.replay_mismatch} idempotency keys answered differently")
    checks: dict[str, list[str]] = {
        "money-rule violations": violations,
        "events lost (outbox seq missing at the host)": lost,
        "events stored twice at the host": twice,
        "debits without exactly one customer receipt": debits_without_one_receipt(rig),
        "refunds over their sale": refunds_over_sale(rig),
    }
    scans = {f"card data in {k}": v for k, v in scan_places(soak).items()}
    lines = [f"chaos soak: {seconds / 60:.1f} min, {sum(soak.ops.values())} operations, "
             f"{sum(soak.faults.values())} faults, {len(rig.events())} events, "
             f"{soak.recorder.count()} MQTT messages recorded"]  # fmt: skip
    lines.append("operations by kind")
    lines += [f"  {k:<50} {n:>6}" for k, n in sorted(soak.ops.items())]
    lines.append("outcomes")
    lines += [f"  {k:<50} {n:>6}" for k, n in sorted(soak.outcomes.items())]
    lines.append("faults injected by kind")
    lines += [f"  {k:<50} {soak.faults[k]:>6}" for k in FAULT_KINDS]
    lines.append("must be 0")
    figures: dict[str, int] = {}
    for name, found in {**checks, **scans}.items():
        figures[name] = len(found)
        lines.append(f"  {name:<50} {len(found):>6}")
    for name, found in {**checks, **scans}.items():
        for item in found[:10]:
            lines.append(f"  ! {name}: {item}")
    return "\n".join(lines), figures


def soak(minutes: float, seed: int, workdir: Path, fault_every: float = 6.0,
         settle_timeout: float = 90.0) -> tuple[Soak, str, dict[str, int]]:  # fmt: skip
    """Run the soak in `workdir`; (the soak, its table, the figures that must be 0)."""
    broker = Broker(workdir)
    broker.start()
    host = Host(workdir, broker)
    if host.cli("keygen")[0] != 0:
        raise RuntimeError("posterm-host keygen failed")
    host.start()
    recorder = Recorder(broker)
    extra = (f'\n[mqtt]\nurl = "{broker.url}"\ntelemetry_s = 1\nkeepalive_s = 5\n'
             f'host_public_key = "{host.key.with_suffix(".pub")}"\n')  # fmt: skip
    rig = make_rig(workdir, extra_config=extra)
    state = Soak(workdir, random.Random(seed), broker, host, rig, recorder)
    try:
        rig.start()
        started = time.monotonic()
        state.run(minutes * 60, fault_every)
        problems = state.settle(settle_timeout)
        table, figures = report(state, time.monotonic() - started, problems)
    finally:
        recorder.close()
        rig.close()
        host.stop()
        broker.stop()
    return state, table, figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fault-every", type=float, default=6.0,
                        help="mean seconds between faults (default 6)")  # fmt: skip
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
