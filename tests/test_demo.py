"""`make demo` — one of the README's two commands — runs through on simulated hardware and
shows what it says: the ledger, the journal and the receipts agree, and every event reached
the back office over MQTT through the embedded broker, which is gone when the demo ends;
the fleet dashboard (posterm-host run --http) stored them too and its URL is printed."""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest


def test_the_demo_runs_and_its_receipts_are_there(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "POSTERM_DEMO_MQTT"}  # amqtt, embedded
    proc = subprocess.run([sys.executable, "-m", "posterm.hwsim.demo"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = tmp_path / "demo-out"
    printed = out / "printed"
    index = [json.loads(line) for line in (printed / "index.jsonl").read_text().splitlines()]
    assert all((printed / e["png"]).stat().st_size > 0 for e in index)
    texts = [(printed / e["txt"]).read_text() for e in index]
    assert any("PAPER OUT" in t for t in texts) and any("RECOVERED" in t for t in texts)
    assert any("refund without a sale" in t for t in texts)
    assert "refused [over_refund]" in proc.stdout and "Traceback" not in proc.stderr
    assert "refused [in_doubt]" in proc.stdout and "posterm resolve" in proc.stdout
    check_the_back_office(out, proc.stdout)
    check_the_dashboard(out, proc.stdout)


def check_the_back_office(out: Path, stdout: str) -> None:
    """Every event of the journal arrived at the subscriber, gapless, and was acknowledged."""
    received = [json.loads(line) for line in (out / "backoffice.jsonl").read_text().splitlines()]
    seqs = sorted({e["seq"] for e in received})
    assert seqs, "the back office received no event"
    with closing(sqlite3.connect((out / "journal.db").as_uri() + "?mode=ro", uri=True)) as db:
        journal = [row[0] for row in db.execute("SELECT seq FROM outbox ORDER BY seq")]
        unacked = db.execute("SELECT COUNT(*) FROM outbox WHERE acked_at IS NULL").fetchone()[0]
    assert seqs == journal == list(range(1, len(journal) + 1))
    assert unacked == 0
    types = {e["type"] for e in received}
    assert {"sale.approved", "receipt.pending", "receipt.recovered", "batch.closed"} <= types
    section = stdout.split("What the back office received over MQTT", 1)[1]
    assert f"seq 1..{len(journal)} gapless: yes" in section
    assert "postermd's outbox: empty" in section and "status (retained): online True" in section
    assert re.search(r"seq +\d+  sale\.approved +T\w+  24\.90 EUR", section)
    broker = re.search(r"MQTT broker: amqtt, embedded, pid \d+, on mqtt://127\.0\.0\.1:(\d+)",
                       stdout)  # fmt: skip
    assert broker, "the demo did not start its embedded broker"
    with pytest.raises(ConnectionRefusedError):  # the demo stopped amqtt
        socket.create_connection(("127.0.0.1", int(broker.group(1))), timeout=1).close()


def check_the_dashboard(out: Path, stdout: str) -> None:
    """posterm-host run --http stored every event from the start, and the demo ends with its
    URL and the demo user; it is stopped with the demo."""
    found = re.search(r"(http://127\.0\.0\.1:(\d+)/)  user 'demo', password 'demo'", stdout)
    assert found, stdout[-2000:]
    with closing(sqlite3.connect((out / "host.db").as_uri() + "?mode=ro", uri=True)) as db:
        stored = sorted(row[0] for row in db.execute("SELECT seq FROM events"))
    with closing(sqlite3.connect((out / "journal.db").as_uri() + "?mode=ro", uri=True)) as db:
        journal = [row[0] for row in db.execute("SELECT seq FROM outbox ORDER BY seq")]
    assert stored == journal
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", int(found.group(2))), timeout=1).close()
