"""The alerts of a terminal that cannot take payments (host/alerts/modes.py): `pt_down`,
`fault` and `printer_problem` after their grace, `in_doubt` at once with the next step,
each cleared when its condition ends, "since" when it began, friendly names. On a real
Store (SQLite and PostgreSQL) with a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from posterm.host.alerts import names, rules
from posterm.host.alerts.engine import Alerter, listing
from posterm.host.alerts.rules import Limits
from posterm.host.config import HostConfigError, load
from posterm.host.store import Store
from posterm.protocol.mqtt.events import envelope
from tests.host.test_alerts import Clock

TID = "pos-a"


class Rig:
    def __init__(self, store: Store, limits: Limits) -> None:
        self.store, self.clock = store, Clock()
        self.alerter = Alerter(store, limits, clock=self.clock)
        assert store.saw_status(TID, {"online": True, "session": 1}, at=self.clock.iso)

    def tele(self, **data: Any) -> None:
        base = {"paper": "ok", "printer": "online, paper ok", "period_s": 10}
        self.store.saw_telemetry(TID, {**base, **data}, at=self.clock.iso)

    def tick(self) -> list[dict[str, Any]]:
        assert self.alerter.tick(force=True)
        return self.alerter.take()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store(store_url)
    yield s
    s.close()


@pytest.mark.parametrize(("mode", "grace"), [("pt_down", 30.0), ("fault", 10.0)])
def test_a_mode_that_stops_payments_past_its_grace(store: Store, mode: str, grace: float) -> None:
    """GIVEN a ready terminal WHEN its telemetry says `mode` for its grace THEN nothing;
    a moment past it THEN the alert of that kind, since the first such telemetry; WHEN it
    is ready again THEN it clears."""
    rig = Rig(store, Limits())
    rig.tele(mode="ready")
    assert rig.tick() == []
    began = rig.clock.advance(5)
    rig.tele(mode=mode, reason="payment terminal unreachable: timeout")
    rig.clock.advance(grace)
    rig.tele(mode=mode, reason="payment terminal unreachable: timeout")
    assert rig.tick() == []
    raised_at = rig.clock.advance(0.5)
    (msg,) = rig.tick()
    assert (msg["kind"], msg["terminal"], msg["raised_at"]) == (mode, TID, raised_at)
    assert msg["detail"] == {"since": began, "reason": "payment terminal unreachable: timeout"}
    (row,) = listing(store, open_only=True)
    assert row["since"] == began and row["name"] == names.NAMES[mode]
    assert row["severity"] == "critical"
    back = rig.clock.advance(3)
    rig.tele(mode="ready")
    (cleared,) = rig.tick()
    assert cleared["alert_id"] == msg["alert_id"] and cleared["cleared_at"] == back


def test_the_grace_is_configurable(tmp_path: Path) -> None:
    """GIVEN [alerts] pt_down_s = 5, fault_s = 0 THEN the limits say so; WHEN pt_down_s is
    negative THEN the config is refused naming the key."""
    config = tmp_path / "host.toml"
    head = '[host]\nid = "hq"\n[mqtt]\nurl = "mqtt://x"\n[alerts]\n'
    config.write_text(head + "pt_down_s = 5\nfault_s = 0\nprinter_s = 120\n")
    assert load(config).alerts == Limits(pt_down_s=5, fault_s=0, printer_s=120)
    config.write_text(head + "pt_down_s = -1\n")
    with pytest.raises(HostConfigError) as err:
        load(config)
    assert "alerts.pt_down_s" in str(err.value)


def test_a_printer_problem_past_its_grace(store: Store) -> None:
    """GIVEN a ready terminal WHEN its printer is offline with its cover open past
    `printer_s` THEN printer_problem since it began; paper out alone is paper_out, not a
    printer problem; WHEN the printer is fine THEN it clears."""
    rig = Rig(store, Limits(printer_s=60))
    rig.tele(mode="ready", printer="online, paper out", paper="out")
    assert [m["kind"] for m in rig.tick()] == ["paper_out"]
    began = rig.clock.advance(1)
    rig.tele(mode="ready", printer="offline, paper ok, cover open")
    assert [m["kind"] for m in rig.tick()] == ["paper_out"]  # cleared: paper is back
    rig.clock.advance(60)
    rig.tele(mode="ready", printer="unknown (no valid answer)")  # still a problem
    assert rig.tick() == []
    rig.clock.advance(1)
    (msg,) = rig.tick()
    assert msg["kind"] == "printer_problem" and msg["detail"]["since"] == began
    assert msg["detail"]["printer"] == "unknown (no valid answer)"
    rig.clock.advance(1)
    rig.tele(mode="ready", printer="online, paper near_end")
    (cleared,) = rig.tick()
    assert cleared["kind"] == "printer_problem" and "cleared_at" in cleared


def test_in_doubt_is_raised_at_once_with_the_next_step(store: Store) -> None:
    """GIVEN default limits WHEN a sale.in_doubt arrives THEN the next tick raises in_doubt
    for its txn with the next step (posterm resolve TXN on the terminal, posterm-host resolve
    TERMINAL TXN from the back office); WHEN the terminal's mode is
    in_doubt with no operation known at the host THEN one for the terminal, naming the PT."""
    rig = Rig(store, Limits())
    rig.tele(mode="in_doubt", reason="1 operation(s) in doubt; PT: timeout")
    (bare,) = rig.tick()
    assert bare["kind"] == "in_doubt" and bare["detail"]["next_step"].startswith("check the PT")
    sale = {"txn_id": "T7", "kind": "sale", "state": "in_doubt", "amount": "5.00"}
    rig.alerter.ingest([envelope(TID, 1, "sale.in_doubt", {**sale, "currency": "EUR"})])
    got = rig.tick()
    by_kind = {(m["kind"], "cleared_at" in m): m for m in got}
    assert set(by_kind) == {("in_doubt", True), ("in_doubt", False)}  # the bare one clears
    txn = by_kind["in_doubt", False]
    assert txn["detail"]["txn_id"] == "T7"
    assert "posterm resolve T7 charged|not-charged" in txn["detail"]["next_step"]
    assert f"posterm-host resolve {TID} T7 charged|not-charged" in txn["detail"]["next_step"]


def test_every_kind_has_a_friendly_name() -> None:
    """GIVEN every alert kind THEN it has a friendly name that is not the kind itself."""
    assert set(names.NAMES) == set(rules.KINDS)
    assert all(names.name(k) != k and names.name(k)[0].isupper() for k in rules.KINDS)
