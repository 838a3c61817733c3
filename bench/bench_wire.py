"""The wire schemas' cost at the host (protocol/mqtt/wire.py): decoding and checking one
message against its declared schema (msgspec, in C) next to the least any host does with
it, `json.loads` alone, and next to what the host did before the schemas (its
`commands.loads` and the hand checks of `valid_event`, read from git at commit b405123 and
run here: an event only, and it checked the envelope, never the data).

Messages as postermd sends them: a `sale.approved`, a `receipt.printed` with 40 receipt
lines, a telemetry. Interleaved (bench/runs.py): 5 rounds, each arm >= 5 s of work a
round; the median per-message time of each, and each ratio the median of the rounds' own
ratios with its spread.

Run: .venv/bin/python bench/bench_wire.py (about 3 minutes)
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.figures import figure  # noqa: E402
from bench.runs import Interleaved, interleave  # noqa: E402
from bench.timed import timed  # noqa: E402
from posterm.protocol.mqtt import commands, wire  # noqa: E402
from posterm.protocol.mqtt.events import EVENT_TYPES, UUID7, envelope  # noqa: E402
from tests.support.fleet import receipt_data, sale_data  # noqa: E402

TID = "pos-bench"
BATCH = 2000


def messages() -> dict[str, tuple[bytes, Callable[[bytes], object]]]:
    sale = json.dumps(envelope(TID, 1, "sale.approved", sale_data(1))).encode()
    lines = [f"{n:02d} Espresso doppio            3.20 EUR" for n in range(40)]
    receipt = json.dumps(envelope(TID, 2, "receipt.printed", receipt_data(7, lines=lines))).encode()
    telemetry = json.dumps(
        {
            "ts": "2026-12-04T10:00:00.000Z",
            "terminal": TID,
            "period_s": 60,
            "mode": "ready",
            "reason": "ready",
            "selling": True,
            "pt_link": "up",
            "printer": "online, paper ok",
            "paper": "ok",
            "outbox_depth": 0,
            "oldest_unsent_age_s": None,
            "pending_receipts": 0,
            "in_doubt": 0,
            "awaiting_approval": 0,
            "journal_bytes": 123456,
            "disk_free_bytes": 10**10,
            "uptime_s": 3600.5,
            "version": "0.1.0",
            "cpu_temp_c": 48.3,
            "clock_synchronized": True,
            "throttled_now": [],
            "throttled_since_boot": [],
            "update_lock": "free",
        }
    ).encode()
    return {
        "sale.approved": (sale, lambda p: wire.decode_event(p, TID)),
        "receipt.printed (40 lines)": (receipt, lambda p: wire.decode_event(p, TID)),
        "telemetry": (telemetry, lambda p: wire.decode(p, "telemetry")),
    }


BEFORE = "b405123"  # main before the wire schemas


def old_check() -> Callable[[bytes], object] | None:
    """The host's event check before the schemas, from git (None without the history)."""
    try:
        source = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{BEFORE}:host/service.py"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    tree = ast.parse(source)
    func = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "valid_event")
    scope: dict[str, object] = {
        "Any": object,
        "EVENT_TYPES": EVENT_TYPES,
        "UUID7": UUID7,
        "MAX_SEQ": 2**63 - 1,
        "RFC3339": re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)"),
    }
    exec(compile(ast.Module([func], []), "valid_event@" + BEFORE, "exec"), scope)
    valid = scope["valid_event"]

    def before(payload: bytes) -> object:
        data = commands.loads(payload)
        ok = valid(data, TID)  # type: ignore[operator]
        return payload.decode() if ok else None

    return before


def per_message(runs: Interleaved, arm: str) -> float:
    """Microseconds per call: the median of the arm's rounds."""
    return 1e6 / runs.rate(arm).median


def main() -> None:
    for name, (payload, schema) in messages().items():
        schema(payload)  # fits: it would raise otherwise
        arms = {
            "json": timed(lambda p=payload: json.loads(p), batch=BATCH),
            "schema": timed(lambda p=payload, f=schema: f(p), batch=BATCH),
        }
        before = old_check() if name != "telemetry" else None
        if before is not None:
            arms["before"] = timed(lambda p=payload, f=before: f(p), batch=BATCH)
        print(f"{name}:")
        runs = interleave(arms)  # a busy moment hits every arm alike
        plain, checked = per_message(runs, "json"), per_message(runs, "schema")
        ratio = runs.ratio("json", "schema")  # schema µs / json µs
        print(
            f"{name}: {len(payload)} bytes; json.loads {plain:.2f} µs, "
            f"schema {checked:.2f} µs; ratio {ratio}"
        )
        figure(
            f"wire schema decode+check, {name}",
            checked,
            "µs/msg",
            baseline=plain,
            baseline_name="json.loads alone",
            spread=ratio,
        )
        if before is not None:
            old = per_message(runs, "before")
            ratio = runs.ratio("before", "schema")  # schema µs / before µs
            print(f"{name}: before the schemas ({BEFORE}) {old:.2f} µs, ratio {ratio}")
            figure(
                f"wire schema vs the host before it, {name}",
                checked,
                "µs/msg",
                baseline=old,
                baseline_name=f"json + valid_event ({BEFORE})",
                target="ratio <= 1.0 (issue 19: no slower)",
                spread=ratio,
            )


if __name__ == "__main__":
    main()
