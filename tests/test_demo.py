"""`make demo` — one of the README's two commands — runs through on simulated hardware and
shows what it says: the ledger, the journal and the receipts agree."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_the_demo_runs_and_its_receipts_are_there(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "posterm.hwsim.demo"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    printed = tmp_path / "demo-out" / "printed"
    index = [json.loads(line) for line in (printed / "index.jsonl").read_text().splitlines()]
    assert all((printed / e["png"]).stat().st_size > 0 for e in index)
    texts = [(printed / e["txt"]).read_text() for e in index]
    assert any("PAPER OUT" in t for t in texts) and any("RECOVERED" in t for t in texts)
    assert any("refund without a sale" in t for t in texts)
    assert "refused [over_refund]" in proc.stdout and "Traceback" not in proc.stderr
    assert "refused [in_doubt]" in proc.stdout and "posterm resolve" in proc.stdout
