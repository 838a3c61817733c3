"""posterm-host against a real Mosquitto and the real postermd: every event stored once and
acknowledged only after the commit (the terminal's outbox drains), exactly once across a
host SIGKILL and restart, a late will of an old session never marks a terminal offline,
and an approval from the CLI reaching the terminal and running once."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from posterm.hwsim.demo_host import announced
from posterm.protocol.mqtt import topics
from tests.support.broker import Broker, wait_for
from tests.support.rig import Rig, trusting_rig
from tests.support.sim import BIN

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

TID = "pos-test"


class Host:
    """`posterm-host` as the fleet operator runs it."""

    def __init__(self, tmp: Path, broker: Broker) -> None:
        self.tmp = tmp
        self.db = tmp / "host.db"
        self.config = tmp / "host.toml"
        self.key = tmp / "keys" / "host.key"
        self.config.write_text(
            f'[host]\nid = "hq"\nreply_timeout_s = 20\n[mqtt]\nurl = "{broker.url}"\n'
            f'[store]\nurl = "sqlite://{self.db}"\n[keys]\nprivate_key = "{self.key}"\n'
        )
        self.proc: subprocess.Popen[str] | None = None
        self.logs = 0
        self.metrics_port = 0  # `run --metrics` (metrics_page)

    def cli(self, *args: str) -> tuple[int, Any]:
        proc = subprocess.run(
            [str(BIN / "posterm-host"), "--config", str(self.config), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        out = proc.stdout.strip()
        try:
            return proc.returncode, json.loads(out) if out else proc.stderr
        except json.JSONDecodeError:
            return proc.returncode, out

    def start(self) -> None:
        self.logs += 1
        log = (self.tmp / f"host-{self.logs}.log").open("w")
        self.proc = subprocess.Popen(
            [str(BIN / "posterm-host"), "--config", str(self.config), "run"],
            stdout=log,
            stderr=log,
            text=True,
        )

    def metrics_page(self, log: Path) -> str:
        """The /metrics page of `run --metrics 127.0.0.1:{metrics_port}` writing `log` (""
        while it is not up). Port 0 at the first start: the one it announces, kept after."""
        if not self.metrics_port:
            said = log.exists() and announced(  # one look: the caller polls
                log, 0, r"metrics on http://127\.0\.0\.1:(\d+)/metrics", lambda: False, 0
            )
            if not said:
                return ""
            self.metrics_port = int(said)
        try:
            url = f"http://127.0.0.1:{self.metrics_port}/metrics"
            with urllib.request.urlopen(url, timeout=2) as resp:
                return str(resp.read().decode())
        except OSError:
            return ""

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def stored(self) -> list[tuple[str, int]]:
        if not self.db.exists():
            return []
        db = sqlite3.connect(self.db)
        try:
            return [(r[0], r[1]) for r in db.execute("SELECT event_id, seq FROM events")]
        finally:
            db.close()


@pytest.fixture
def host(tmp_path: Path, broker: Broker) -> Iterator[Host]:
    h = Host(tmp_path, broker)
    assert h.cli("keygen")[0] == 0
    h.start()
    yield h
    h.stop()


@pytest.fixture
def rig(tmp_path: Path, broker: Broker, host: Host) -> Iterator[Rig]:
    with trusting_rig(tmp_path, broker, host.key.with_suffix(".pub")) as r:
        yield r


def unacked(rig: Rig) -> int:
    db = sqlite3.connect(rig.journal)
    try:
        return int(db.execute("SELECT COUNT(*) FROM outbox WHERE acked_at IS NULL").fetchone()[0])
    finally:
        db.close()


def test_events_are_stored_once_and_acked_after_the_commit(rig: Rig, host: Host) -> None:
    for amount in ("3.00", "4.00", "5.00"):
        assert rig.cli("sale", amount)[0] == 0
    wait_for(lambda: unacked(rig) == 0, "the outbox drained by the host's acks")
    stored = host.stored()
    assert sorted(seq for _, seq in stored) == list(range(1, len(rig.events()) + 1))
    assert {e for e, _ in stored} == {e["event_id"] for e in rig.events()}
    code, fleet = host.cli("fleet", "--json")
    assert code == 0
    (terminal,) = fleet
    assert terminal["terminal"] == TID and terminal["online"] is True
    assert terminal["gap_at"] is None and terminal["contiguous_seq"] == len(stored)
    code, events = host.cli("events", "--terminal", TID, "--type", "sale.approved", "--json")
    assert code == 0 and len(events) == 3


def test_host_killed_and_restarted_stores_each_event_once(rig: Rig, host: Host) -> None:
    assert rig.cli("sale", "6.00")[0] == 0
    wait_for(lambda: unacked(rig) == 0, "first events acked")
    host.kill()
    for amount in ("7.00", "8.00"):
        assert rig.cli("sale", amount)[0] == 0
    assert unacked(rig) > 0
    host.start()
    wait_for(lambda: unacked(rig) == 0, "the rest acked after the host's restart")
    ids = [e for e, _ in host.stored()]
    assert len(ids) == len(set(ids)) == len(rig.events())


def test_a_late_will_of_an_old_session_never_marks_a_newer_one_offline(
    rig: Rig, host: Host, broker: Broker
) -> None:
    wait_for(lambda: host.cli("fleet", "--json")[1], "the terminal in the fleet")
    session = host.cli("fleet", "--json")[1][0]["session"]
    late = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="late-will")
    late.connect("127.0.0.1", broker.port)
    late.loop_start()
    info = late.publish(
        topics.terminal(TID, "status"), json.dumps({"online": False, "session": session - 1}), qos=1
    )
    info.wait_for_publish(5)
    ping = host.cli("ping", TID, "--json")  # a round trip later the old will is in
    assert ping[0] == 0 and ping[1]["result"]["pong"] is True
    late.loop_stop()
    late.disconnect()
    (terminal,) = host.cli("fleet", "--json")[1]
    assert terminal["online"] is True and terminal["session"] == session


def test_an_approval_from_the_cli_reaches_the_terminal_and_runs_once(rig: Rig, host: Host) -> None:
    code, sale = rig.cli("sale", "90.00")
    code, refund = rig.cli("refund", sale["txn_id"], "70.00", "--reason", "goods_returned")
    assert refund["state"] == "awaiting_approval"
    wait_for(lambda: unacked(rig) == 0, "the refund request at the host")
    code, reply = host.cli("approve", refund["txn_id"], "--by", "alice", "--json")
    assert code == 0 and reply["ok"] and reply["result"]["state"] == "approved", reply
    code, again = host.cli("approve", refund["txn_id"], "--json")
    assert code == 1 and again["code"] == "not_awaiting"
    assert [e["state"] for e in rig.ledger() if e["kind"] == "refund"] == ["booked"]
    code, unknown = host.cli("approve", "TNOSUCH", "--json")
    assert code == 65 and unknown["code"] == "unknown_txn"
    host.config.write_text(  # nobody answers: wait 2 s for that, not the fixture's 20
        host.config.read_text().replace("reply_timeout_s = 20", "reply_timeout_s = 2")
    )
    code, offline = host.cli("ping", "pos-nobody", "--json")
    assert code == 1 and offline["code"] == "no_reply"


def test_bad_host_config_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    for text, key in (
        ('[host]\nid = "hq"\n[mqtt]\nurl = "http://x"\n', "mqtt.url"),
        ('[host]\nid = "hq"\nidd = 1\n[mqtt]\nurl = "mqtt://x"\n', "host.idd"),
        ('[mqtt]\nurl = "mqtt://x"\n', "host: required section [host]"),
        (
            '[host]\nid = "hq"\n[mqtt]\nurl = "mqtt://x"\n[store]\nurl = "mysql://db/x"\n',
            "store.url",
        ),
    ):
        config.write_text(text)
        proc = subprocess.run(
            [str(BIN / "posterm-host"), "--config", str(config), "fleet"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 2 and key in proc.stderr, proc.stderr


def replies(host: Host, *cmd_ids: str) -> dict[str, dict[str, Any]]:
    """The terminal's replies the running host stored, by cmd_id."""
    db = sqlite3.connect(host.db)
    try:
        rows = db.execute(
            f"SELECT cmd_id, reply FROM replies WHERE cmd_id IN"
            f" ({', '.join('?' for _ in cmd_ids)})",
            cmd_ids,
        ).fetchall()
    finally:
        db.close()
    return {r[0]: json.loads(r[1]) for r in rows}


def test_an_approval_the_cli_reported_unanswered_never_runs_when_the_terminal_returns(
    rig: Rig, host: Host
) -> None:
    """GIVEN a 70.00 refund awaiting approval and its terminal stopped (its MQTT session,
    and so the commands sent to it, kept by the broker)
    WHEN the operator approves it (no reply: exit 1), then rejects it (also no reply), and
    the terminal comes back
    THEN the CLI said when each expired unanswered and that the terminal will refuse it;
    the terminal refuses both (`expired`) and the PT never booked the refund."""
    code, sale = rig.cli("sale", "90.00")
    code, refund = rig.cli("refund", sale["txn_id"], "70.00", "--reason", "goods_returned")
    assert refund["state"] == "awaiting_approval"
    wait_for(lambda: unacked(rig) == 0, "the refund request at the host")
    rig.stop()
    host.config.write_text(
        host.config.read_text().replace("reply_timeout_s = 20", "reply_timeout_s = 2")
    )
    code, approve = host.cli("approve", refund["txn_id"], "--json")
    assert code == 1 and approve["code"] == "no_reply", approve
    said = re.search(
        r"expired unanswered at (\d\d:\d\d:\d\d) UTC: the terminal will refuse it", approve["error"]
    )
    assert said and approve["expires_at"][11:19] == said[1], approve
    code, reject = host.cli("reject", refund["txn_id"], "--json")
    assert code == 1 and reject["code"] == "no_reply", reject
    rig.start()
    sent = (approve["cmd_id"], reject["cmd_id"])
    wait_for(lambda: len(replies(host, *sent)) == 2, "the terminal's replies to both")
    assert [r["code"] for r in replies(host, *sent).values()] == ["expired", "expired"]
    assert [e for e in rig.ledger() if e["kind"] == "refund"] == []
    assert [t["state"] for t in rig.txns() if t["txn_id"] == refund["txn_id"]] == [
        "awaiting_approval"
    ]


def test_a_re_flashed_terminal_is_followed_in_a_new_life(rig: Rig, host: Host) -> None:
    """GIVEN a terminal that sold (its events acked, the host at its seq) and stops
    WHEN it is re-flashed (its journal gone: seq and session start from 1 again), comes
    back and sells
    THEN the host shows it online in life 1, counts its new seqs from 1, and raises
    `terminal_reset`."""
    for amount in ("3.00", "4.00"):
        assert rig.cli("sale", amount)[0] == 0
    wait_for(lambda: unacked(rig) == 0, "the first life's events acked")
    (before,) = host.cli("fleet", "--json")[1]
    assert before["life"] == 0 and before["contiguous_seq"] == len(rig.events())
    rig.stop()
    for path in rig.journal.parent.glob(rig.journal.name + "*"):  # the db, its -wal, -shm
        path.unlink()
    rig.start()
    assert rig.cli("sale", "5.00")[0] == 0
    wait_for(lambda: unacked(rig) == 0, "the new life's events acked")

    def followed() -> dict[str, Any] | None:
        (now,) = host.cli("fleet", "--json")[1]
        return now if now["online"] and now["life"] == 1 else None

    now = wait_for(followed, "the terminal online in its new life")
    assert now["contiguous_seq"] == len(rig.events()) and now["gap_at"] is None
    assert now["session"] == 1  # its sessions start again too
    reset = wait_for(
        lambda: [
            a for a in host.cli("alerts", "--open", "--json")[1] if a["kind"] == "terminal_reset"
        ],
        "terminal_reset raised",
    )
    assert reset[0]["terminal"] == TID and reset[0]["detail"]["life"] == 1
