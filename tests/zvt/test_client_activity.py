"""`PaymentTerminal(on_activity=…)`: the client tells how long it will wait for the PT
every time the exchange moves on — the hook that keeps postermd's watchdog fed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from posterm.drivers.zvt import client as zvt_client
from posterm.drivers.zvt.client import PaymentTerminal
from posterm.protocol.zvt.apdu import Apdu
from tests.support.sim import PtSim, start_pt

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

Event = tuple[str, Any]


def _recording(monkeypatch: pytest.MonkeyPatch, events: list[Event]) -> None:
    """Every APDU the client receives from the PT is recorded in `events`, in order."""
    real_open = zvt_client.open_transport

    def open_transport(url: Any, timeout: float) -> Any:
        transport = real_open(url, timeout)
        real_receive = transport.receive

        def receive(wait: float) -> Apdu:
            apdu = real_receive(wait)
            events.append(("rx", f"{apdu.cls:02X} {apdu.instr:02X}"))
            return apdu

        transport.receive = receive  # type: ignore[method-assign]
        return transport

    monkeypatch.setattr(zvt_client, "open_transport", open_transport)


def test_every_pt_message_of_a_sale_is_followed_by_activity(
    link: str, sim: PtSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a client with an activity hook WHEN a sale runs THEN the hook is called before
    the command goes out (T3 + the connect timeout on a new link) and after every message
    from the PT but the last (T4: how long the client then waits), never more than that."""
    events: list[Event] = []
    _recording(monkeypatch, events)

    def on_activity(seconds: float) -> None:
        events.append(("act", seconds))

    with PaymentTerminal(link, t3=4.0, t4=20.0, connect_timeout=3.0) as pt:
        pt.register()
        events.clear()
        pt.on_activity = on_activity
        assert pt.authorize(1250).approved
    kinds = [kind for kind, _ in events]
    received = [value for kind, value in events if kind == "rx"]
    assert received[0] == "80 00" and received[-1] == "06 0F" and len(received) >= 6
    assert kinds == ["act", "rx"] * len(received), events
    waits = [value for kind, value in events if kind == "act"]
    assert waits[0] == pytest.approx(4.0)  # the link was open: T3 only
    assert all(19.0 < w <= 20.0 for w in waits[1:]), waits


def test_a_new_link_adds_the_connect_timeout(link: str, sim: PtSim) -> None:
    waits: list[float] = []
    with PaymentTerminal(link, t3=4.0, connect_timeout=3.0, on_activity=waits.append) as pt:
        pt.register()
    assert waits[0] == pytest.approx(7.0)


def test_the_pt_timeout_byte_sets_the_wait(tmp_path: Path) -> None:
    """GIVEN a PT whose 04 FF carry a timeout of 1 minute THEN after each 04 FF the client
    reports a 60 s wait, and T4 again after the 04 0F."""
    sim = start_pt(tmp_path, "--status-timeout", "1")
    try:
        assert sim.tcp_url is not None
        waits: list[float] = []
        with PaymentTerminal(sim.tcp_url, t4=20.0) as pt:
            pt.register()
            pt.on_activity = waits.append
            assert pt.authorize(1250).approved
        long_waits = [w for w in waits if w > 30]
        assert len(long_waits) >= 2 and all(59.0 < w <= 60.0 for w in long_waits), waits
        assert 19.0 < waits[-1] <= 20.0, waits
    finally:
        sim.stop()
