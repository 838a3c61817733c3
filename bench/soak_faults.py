"""The chaos soak's faults (bench/soak.py): what it injects and how it clears them.

`Faults` is a mixin of `bench.soak.Soak`: it uses the soak's rig, host, broker and seeded
RNG, and the soak's operations (`ask`, `note`, `request_of`, `sale_request`, `kind_of`) to
ask again, after a kill, with the same idempotency key.
"""

from __future__ import annotations

import contextlib
import random
import subprocess
import threading
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.mqtt_recorder import Recorder
    from tests.host.test_host import Host
    from tests.support.broker import Broker
    from tests.support.rig import Rig

PT_FAULTS = (
    "drop_before_status",
    "drop_before_completion",
    "corrupt_byte",
    "nak_first",
    "withhold_acks",
)
FAULT_KINDS = (
    "kill_postermd",
    "kill_at_step",
    "kill_host",
    "broker_restart",
    "paper_out",
    "cover_open",
    "hold_at_pin",
    *PT_FAULTS,
)
# postermd's crash points (daemon/crash.py) the soak kills it at, with the operation that
# passes there: every step of a payment, its receipt and the print job
CRASH_STEPS = {
    **{
        f"{kind}.{step}": kind
        for kind in ("sale", "refund", "void")
        for step in ("journaled", "before_commit", "after_commit", "completed", "receipt_journaled")
    },
    **dict.fromkeys(("receipt.printing", "receipt.mid_print", "receipt.printed"), "sale"),
}


class Faults:
    """Fault injection, mixed into the soak (its state lives in the soak's dataclass)."""

    rng: random.Random
    broker: Broker
    host: Host
    rig: Rig
    recorder: Recorder
    faults: Counter[str]
    open_printer: dict[str, float]
    steps: Counter[str]
    timers: list[threading.Timer]

    if TYPE_CHECKING:  # the soak's operations (bench/soak.py)

        def ask(self, kind: str, request: dict[str, Any]) -> dict[str, Any] | None: ...
        def note(self, request: dict[str, Any], reply: dict[str, Any] | None) -> None: ...
        def request_of(self, kind: str) -> dict[str, Any] | None: ...
        def sale_request(self) -> dict[str, Any]: ...
        def kind_of(self, request: dict[str, Any]) -> str: ...

    def inject(self, kind: str) -> None:
        self.faults[kind] += 1
        if kind == "kill_postermd":
            self.kill_mid_operation()
        elif kind == "kill_at_step":
            self.kill_at_step()
        elif kind == "hold_at_pin":
            self.hold_at_pin()
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

    def kill_at_step(self) -> None:
        """Restart postermd to SIGKILL itself at a named step (POSTERM_CRASH_AT), run an
        operation that passes there, restart it clean and ask again with the same key."""
        step = self.rng.choice(sorted(CRASH_STEPS))
        request = self.request_of(CRASH_STEPS[step])
        if request is None:  # nothing to refund or void yet: a sale's step instead
            step = self.rng.choice([s for s, k in CRASH_STEPS.items() if k == "sale"])
            request = self.sale_request()
        self.steps[step] += 1
        kind = self.kind_of(request)
        self.rig.stop()
        try:
            self.rig.start(crash_at=step)
        except RuntimeError:  # died at start-up: recovery passed the step (printing, say)
            if self.rig.daemon is None or self.rig.daemon.poll() != -9:
                raise  # not our crash point: a real failure to start
        else:
            self.ask(kind, request)
        code = None
        if self.rig.daemon is not None:
            # the answer's socket closes as the process dies; poll() may not see it yet
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = self.rig.daemon.wait(3)
        if code is None:
            self.rig.stop()  # the operation never reached the step (refused, or held)
        self.rig.start()
        self.note(request, self.ask(f"{kind} (same key again)", request))

    def hold_at_pin(self) -> None:
        """The customer takes a while at the PIN pad: the PT holds payments there for 1-8 s
        (released by a timer, the driver's request is waiting meanwhile)."""
        self.rig.pt.fault("hold_at_pin", True)
        timer = threading.Timer(self.rng.uniform(1.0, 8.0), self.release_pin)
        timer.daemon = True
        timer.start()
        self.timers.append(timer)

    def release_pin(self) -> None:
        with contextlib.suppress(OSError, AssertionError):
            self.rig.pt.fault("hold_at_pin", False)

    def clear_printer(self, now: float | None = None) -> None:
        for kind, at in list(self.open_printer.items()):
            if now is None or now >= at:
                self.rig.printer.ctl("refill" if kind == "paper_out" else "cover-close")
                del self.open_printer[kind]

    def clear_all(self) -> None:
        self.clear_printer()
        for timer in self.timers:
            timer.cancel()
        self.release_pin()
        for name in PT_FAULTS:
            self.rig.pt.fault(name, False)
        if self.broker.proc is None:
            self.broker.start()
        if self.host.proc is None or self.host.proc.poll() is not None:
            self.host.start()
