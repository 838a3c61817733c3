"""`make demo` — one of the README's two commands — runs the whole terminal and back office
on simulated hardware (its time is printed, not judged: a busy machine is slower), and
what its tour says happened did happen: the
paper-out receipt came out RECOVERED and the back office's lookup finds it, the sale whose
completion the PT link lost was recovered, the refund approved from the back office ran
once (and the one approved with the panel's supervisor key too), the double charge raised
its alert, the back office stored every event exactly once and the day reconciles. Then
everything it started is gone. `--interactive` leaves the rig running until Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from posterm.host.alerts import names
from posterm.hwsim import demo, demo_host

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

BIN = Path(sys.executable).parent
TID = "demo-0001"


def demo_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "POSTERM_DEMO_MQTT"}  # amqtt, embedded
    # not the defaults: two demos run at once under xdist (8080 free when one looked, taken
    # when its posterm-host bound it: the other demo's). Port 0, not a port probed free
    # here: a simulator binding port 0 in between was once handed the same one
    env["POSTERM_SIM_PANEL"] = "tcp://127.0.0.1:0"
    env["POSTERM_DEMO_WEB_PORT"] = "0"
    return env


def rows(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db.as_uri() + "?mode=ro", uri=True)) as conn:
        return list(conn.execute(sql, params))


def host_cli(out: Path, *args: str) -> Any:
    proc = subprocess.run(
        [str(BIN / "posterm-host"), "--config", str(out / "posterm-host.toml"), *args, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return proc.returncode, json.loads(proc.stdout)


def txn_of(stdout: str, command: str) -> str:
    """The transaction id the tour's `$ posterm COMMAND` answered with."""
    found = re.search(re.escape(f"$ posterm {command}") + r"\n  -> (T\w+) ", stdout)
    assert found, f"no answer to {command!r} in the tour"
    return found.group(1)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def started_pids(stdout: str) -> list[int]:
    return [int(p) for p in re.findall(r"pid (\d+)", stdout)]


@pytest.mark.long
def test_the_tour_runs_and_its_claims_hold(tmp_path: Path) -> None:
    began = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "posterm.hwsim.demo"],
        cwd=tmp_path,
        env=demo_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    took = time.monotonic() - began
    stdout = proc.stdout
    assert proc.returncode == 0, stdout[-4000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "THE TOUR FAILED" not in stdout
    print(f"the demo's tour took {took:.1f} s")  # a figure, not a verdict (a busy machine)
    out = tmp_path / "demo-out"
    journal, host_db = out / "journal.db", out / "host.db"

    # the receipts: paper out mid-receipt, then RECOVERED after the refill, as text and PNG
    printed = out / "printed"
    index = [json.loads(line) for line in (printed / "index.jsonl").read_text().splitlines()]
    assert all((printed / e["png"]).stat().st_size > 0 for e in index)
    texts = [(printed / e["txt"]).read_text() for e in index]
    paper = txn_of(stdout, "sale 15.00")
    lost_line = re.search(
        r"-> (T\w+) approved, receipt printed: printed/\S+ marked RECOVERED", stdout
    )
    assert lost_line, "the sale whose completion was lost is not shown recovered"
    lost = lost_line.group(1)
    for txn in (paper, lost):
        (receipt,) = [
            t
            for t in texts
            if f"[QR: {txn}]" in t and "DUPLICATE" not in t and "PAPER OUT" not in t
        ]
        assert "** RECOVERED **" in receipt
    assert any("PAPER OUT" in t for t in texts)
    first = txn_of(stdout, "sale 24.90 --key order-1001")
    assert sum(f"[QR: {first}]" in t and "DUPLICATE" in t for t in texts) == 1  # the reprint
    # the declined card, the refund over what is left and the sale while in doubt: refused
    assert "10.78 EUR" not in "".join(texts) and "refused [over_refund]" in stdout
    assert "refused [not_ready]" in stdout and "posterm resolve" in stdout

    # the back office's lookup finds the recovered receipt
    code, found = host_cli(out, "receipts", "find", "--terminal", TID, "--amount", "15.00")
    assert code == 0 and [r["txn_id"] for r in found] == [paper]
    assert found[0]["receipt"]["state"] == "recovered"
    code, shown = host_cli(out, "receipts", "show", paper)
    assert code == 0 and any("** RECOVERED **" in line for line in shown["receipt"]["lines"])
    assert f"-> {paper} sale 15.00 EUR receipt recovered" in stdout

    # the PT's ledger: the lost completion kept once, each approved refund booked once
    ledger = subprocess.run(
        [str(BIN / "posterm-sim"), "ledger", str(out / "pt-ledger.db")],
        capture_output=True,
        text=True,
        check=True,
    )
    entries = json.loads(ledger.stdout)["entries"]
    refunds = sorted(e["amount"] for e in entries if e["kind"] == "refund")
    assert refunds == [6000, 8000]
    assert all(e["state"] == "booked" for e in entries if e["kind"] == "refund")
    for lost_amount in (3100, 3300):  # the link dropped after the debit: kept, once
        assert [e["state"] for e in entries if e["amount"] == lost_amount] == ["booked"]

    # the refund approved from the back office: approved by it, completed once, once refused
    host_refund = re.search(
        r"\$ posterm-host approve (T\w+) --by 'back office'\n"
        r"  -> ok True: \1 approved",
        stdout,
    )
    assert host_refund, "the back office's approval is not in the tour"
    refund = host_refund.group(1)
    assert "-> not_awaiting" in stdout
    events = [
        json.loads(r[0])
        for r in rows(host_db, "SELECT envelope FROM events WHERE terminal = ? ORDER BY seq", TID)
    ]
    of_refund = [e["type"] for e in events if e["data"].get("txn_id") == refund]
    assert of_refund.count("refund.completed") == 1 and of_refund.count("refund.approved") == 1
    approved = next(
        e for e in events if e["type"] == "refund.approved" and e["data"]["txn_id"] == refund
    )
    assert approved["data"].get("by") == "host (back office)", approved
    keyed = [e for e in events if e["type"] == "refund.approved" and e["data"]["txn_id"] != refund]
    assert [e["data"].get("by") for e in keyed] == ["panel supervisor key"]

    # the double charge: two sales of 12.50 on the same card, one alert naming both
    alerts = rows(host_db, "SELECT detail FROM alerts WHERE kind = 'double_charge'")
    assert len(alerts) == 1
    detail = json.loads(alerts[0][0])
    assert detail["amount"] == "12.50" and len(detail["txns"]) == 2
    listed = stdout.split("$ posterm-host alerts --open", 1)[1]
    assert names.name("double_charge") in listed and "12.50" in listed

    # the back office stored every event of the journal exactly once, all acknowledged
    seqs = [r[0] for r in rows(journal, "SELECT seq FROM outbox ORDER BY seq")]
    assert rows(journal, "SELECT COUNT(*) FROM outbox WHERE acked_at IS NULL") == [(0,)]
    stored = rows(host_db, "SELECT event_id, seq FROM events WHERE terminal = ?", TID)
    assert sorted(s for _, s in stored) == seqs == list(range(1, len(seqs) + 1))
    assert len({e for e, _ in stored}) == len(stored)
    assert {"sale.recovered", "receipt.recovered", "batch.closed"} <= {e["type"] for e in events}

    # end of day reconciles: events, the terminal's totals and the PT's agree
    code, days = host_cli(out, "reconcile")
    assert code == 0 and len(days) == 1 and days[0]["ok"], days
    assert "agrees" in stdout

    # the fleet table was shown, and everything the demo started is gone
    assert re.search(rf"{TID}\s+online\s+up\s+ok\s+ready", stdout)
    pids = started_pids(stdout)
    assert len(pids) == 3 and all(gone(pid) for pid in pids)  # amqtt, posterm-host, postermd
    broker = re.search(r"on mqtt://127\.0\.0\.1:(\d+)", stdout)
    assert broker
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", int(broker.group(1))), timeout=1).close()


def test_interactive_leaves_the_rig_running_until_ctrl_c(tmp_path: Path) -> None:
    """GIVEN `make demo ARGS='--interactive --no-tour'` (the tour itself is the test above)
    WHEN its rig is up THEN the terminal, its panel and the back office answer, and Ctrl-C
    stops the demo and every process it started."""
    env = demo_env()
    proc = subprocess.Popen(
        [sys.executable, "-m", "posterm.hwsim.demo", "--interactive", "--no-tour"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl-C stops everything" in line:
                break
        stdout = "".join(lines)
        assert "Ctrl-C stops everything" in stdout, stdout[-3000:]
        out = tmp_path / "demo-out"
        # the rig answers: the terminal, its panel from another process, the back office
        status = subprocess.run(
            [str(BIN / "posterm"), "--socket", str(out / "control.sock"), "status", "--json"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert status.returncode == 0 and json.loads(status.stdout)["state"] == "ready"
        panel = re.search(r"pressed through (tcp://\S+)", stdout)
        assert panel, stdout[-3000:]
        leds = subprocess.run(
            [str(BIN / "posterm-sim"), "panel", "--control", panel.group(1), "leds"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert leds.returncode == 0, leds.stderr
        assert json.loads(leds.stdout) == {
            "ready": True,
            "busy": False,
            "fault": False,
            "host": True,
            "buzzer": False,
        }
        code, fleet = host_cli(out, "fleet")
        assert code == 0 and fleet[0]["terminal"] == TID and fleet[0]["online"] is True
        rest = proc.stdout.read
        proc.send_signal(signal.SIGINT)  # Ctrl-C reaches the demo alone: it stops the rest
        assert proc.wait(60) == 0
        tail = rest()
        assert "stopping postermd" in tail and "Everything the demo started has stopped" in tail
        pids = started_pids(stdout)
        assert len(pids) == 3 and all(gone(pid) for pid in pids)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_no_tour_without_interactive_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """GIVEN `make demo ARGS=--no-tour` (no tour and nothing left running: nothing to do)
    WHEN it starts THEN it exits 2 saying --no-tour is for --interactive, starting nothing."""
    with pytest.raises(SystemExit) as ended:
        demo.main(["--no-tour"])
    assert ended.value.code == 2
    assert "--no-tour is for --interactive" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["", "http", "70000", "-1"])
def test_a_bad_dashboard_port_is_refused_with_its_name(
    bad: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN POSTERM_DEMO_WEB_PORT that is not a port WHEN the demo picks its dashboard's
    port THEN it stops saying which variable and value, starting nothing."""
    monkeypatch.setenv("POSTERM_DEMO_WEB_PORT", bad)
    with pytest.raises(SystemExit, match="POSTERM_DEMO_WEB_PORT is a port"):
        demo_host._web_port()
