"""The systemd watchdog: fed while the owner makes progress (a slow payment, a slow
printer), starved when the owner is stuck — the unit, then the real postermd under a real
notify socket (NOTIFY_SOCKET, WATCHDOG_USEC)."""

from __future__ import annotations

import itertools
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from posterm.daemon.watchdog import Watchdog, WatchdogError
from tests.support.rig import Rig, make_rig
from tests.support.sim import BIN


# -- the unit -------------------------------------------------------------------------------
class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_pings_only_while_alive() -> None:
    """GIVEN a beat of 3 s THEN ticks ping until 3 s have passed, and not after."""
    clock, pings = FakeClock(), []
    dog = Watchdog(1.0, send=lambda: pings.append(clock.now), clock=clock)
    dog.beat(3.0)
    for _ in range(6):
        dog.tick()
        clock.now += 1.0
    assert pings == [100.0, 101.0, 102.0]


def test_a_beat_never_shortens_what_an_earlier_one_promised() -> None:
    clock = FakeClock()
    dog = Watchdog(1.0, send=lambda: None, clock=clock)
    dog.beat(180.0)  # a PT message: T4
    dog.beat(1.5)  # the idle tick right after
    assert dog.alive_until == 280.0
    clock.now = 279.0
    assert dog.tick()
    clock.now = 280.0
    assert not dog.tick()


def test_an_idle_owner_voids_the_promise_of_a_finished_wait() -> None:
    """GIVEN a PT exchange that promised a T4 wait WHEN the owner is idle again THEN only
    the idle beat counts: an owner that hangs after the payment is not covered for T4."""
    clock = FakeClock()
    dog = Watchdog(1.0, send=lambda: None, clock=clock)
    dog.beat(180.0)
    clock.now += 0.2
    dog.idle(1.5)
    assert dog.alive_until == 101.7
    clock.now = 101.7
    assert not dog.tick()


def test_disabled_without_an_interval() -> None:
    sent: list[int] = []
    dog = Watchdog(0.0, send=lambda: sent.append(1))
    dog.start()
    dog.beat(10.0)
    assert not dog.enabled and dog._thread is None
    dog.close()
    dog.close()
    assert sent == []


def test_nonsense_times_are_refused() -> None:
    with pytest.raises(WatchdogError):
        Watchdog(-1.0)
    with pytest.raises(WatchdogError):
        Watchdog(1.0).beat(-0.1)
    with pytest.raises(WatchdogError):
        Watchdog(1.0).idle(-0.1)


def test_the_thread_pings_while_beaten_then_stops() -> None:
    """GIVEN a running watchdog (50 ms interval) beaten for 0.3 s THEN it pings for about
    0.3 s and then never again; close() is idempotent."""
    pings: list[float] = []
    dog = Watchdog(0.05, send=lambda: pings.append(time.monotonic()))
    dog.start()
    started = time.monotonic()
    dog.beat(0.3)
    time.sleep(0.6)
    count = len(pings)
    time.sleep(0.3)
    dog.close()
    dog.close()
    assert count >= 4 and len(pings) == count
    assert pings[-1] - started < 0.35


# -- the real daemon -----------------------------------------------------------------------------
WATCHDOG_USEC = 2_000_000
WATCHDOG_SEC = WATCHDOG_USEC / 1_000_000


class NotifyListener:
    """A bound AF_UNIX datagram socket, like systemd's: every datagram with its arrival."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.received: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            self.received.append((time.monotonic(), data.decode()))

    def pings(self, since: float = 0.0, until: float = float("inf")) -> list[float]:
        return [
            t
            for t, text in list(self.received)
            if "WATCHDOG=1" in text.splitlines() and since <= t <= until
        ]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def start_notified(rig: Rig, listener: NotifyListener, **extra: str) -> None:
    """`Rig.start`, with systemd's notify socket and watchdog in the environment."""
    rig.start(
        env={"NOTIFY_SOCKET": str(listener.path), "WATCHDOG_USEC": str(WATCHDOG_USEC), **extra}
    )


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[NotifyListener]:
    n = NotifyListener(tmp_path / "notify.sock")
    yield n
    n.close()


def _gaps(points: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(points)]


@pytest.mark.slow
@pytest.mark.long
def test_a_sale_slower_than_watchdogsec_keeps_the_pings_coming(
    tmp_path: Path, listener: NotifyListener
) -> None:
    """GIVEN WatchdogSec=2 s and a PT pausing 2.5 s before each of its messages WHEN a
    sale runs (the owner blocked ~20 s) THEN it is approved and WATCHDOG=1 never paused
    for WatchdogSec: systemd would not have killed postermd in the middle of a payment."""
    rig = make_rig(tmp_path, pt_args=("--step-delay", "2.5"))
    try:
        start_notified(rig, listener)
        began = time.monotonic()
        code, sale = rig.cli("sale", "12.00")
        ended = time.monotonic()
        assert code == 0 and sale["state"] in ("approved", "completed"), sale
        assert ended - began > 3 * WATCHDOG_SEC  # the sale really was slow
        during = listener.pings(began, ended)
        gaps = _gaps([began, *during, ended])
        assert max(gaps) < WATCHDOG_SEC, gaps
    finally:
        rig.close()


@pytest.mark.slow
def test_a_hung_owner_stops_the_pings(tmp_path: Path, listener: NotifyListener) -> None:
    """GIVEN a postermd whose owner thread hangs right after journaling a sale WHEN the
    sale comes in THEN no WATCHDOG=1 arrives later than one WatchdogSec after the hang (so
    systemd restarts it), while `status`, which does not need the owner, still answers."""
    rig = make_rig(tmp_path)
    sale: subprocess.Popen[str] | None = None
    try:
        start_notified(rig, listener, POSTERM_HANG_AT="sale.journaled")
        deadline = time.monotonic() + 10
        while not listener.pings():  # an idle owner keeps the pings coming
            assert time.monotonic() < deadline, "no pings while idle"
            time.sleep(0.05)
        sale = subprocess.Popen(
            [str(BIN / "posterm"), "--socket", str(rig.socket), "sale", "12.00"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        deadline = time.monotonic() + 30
        while "hang point sale.journaled" not in rig.logs[-1].read_text():
            assert time.monotonic() < deadline, rig.logs[-1].read_text()
            time.sleep(0.05)
        hung = time.monotonic()
        # the event: the watchdog says it stopped pinging; from then on it cannot ping
        while "watchdog: the owner thread stopped making progress" not in (
            rig.logs[-1].read_text()
        ):
            assert time.monotonic() < hung + 10 * WATCHDOG_SEC, "the pings never stopped"
            time.sleep(0.05)
        late = listener.pings(since=hung + WATCHDOG_SEC)
        assert late == [], (hung, late)
        code, status = rig.cli("status")
        assert code == 0 and status["terminal"] == "pos-test", status
    finally:
        if sale is not None:
            sale.kill()
            sale.wait(10)
        rig.kill()  # as systemd would: a SIGTERM waits for the hung owner until it times out
        rig.close()
