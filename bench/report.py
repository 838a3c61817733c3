"""`make bench`: run every benchmark in bench/ and print one table of their figures, each
with its baseline from the same run and the ratio; then an idle postermd (PT and printer
simulators, MQTT link to a local Mosquitto): its start-up time to READY=1, its resident
memory idle and after its first sale (the first receipt loads python-escpos, Pillow and
qrcode) and the CPU it uses idle per minute.

Run: .venv/bin/python bench/report.py [--idle-seconds 60] [--only NAME]
Targets: idle RSS < 60 MB (issue 22; < 50 MB in issue 13 before python-escpos printed),
READY within 1.5 s of start, < 1 % of a core idle.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench.figures import parse  # noqa: E402
from posterm.daemon.control.client import ControlClient  # noqa: E402
from tests.support.broker import Broker  # noqa: E402
from tests.support.rig import make_rig  # noqa: E402
from tests.support.sim import BIN  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def run_benches(only: str | None) -> tuple[list[dict[str, Any]], int]:
    rows: list[dict[str, Any]] = []
    failed = 0
    for script in sorted(HERE.glob("bench_*.py")):
        if only and only not in script.name:
            continue
        print(f"== {script.name}", flush=True)
        proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            found = parse(line)
            if found is None:
                print(line, end="", flush=True)
            else:
                rows.append(found | {"bench": script.name})
        failed |= proc.wait()
    return rows, failed


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def idle_postermd(seconds: float) -> list[dict[str, Any]]:
    """Start postermd as systemd would (NOTIFY_SOCKET), time READY=1, then sit idle."""
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        broker = Broker(tmp)
        broker.start()
        rig = make_rig(tmp, link="tcp", extra_config=f'\n[mqtt]\nurl = "{broker.url}"\n')
        notify = tmp / "notify.sock"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(notify))
        sock.settimeout(30)
        env = {**os.environ, "NOTIFY_SOCKET": str(notify)}
        env.pop("WATCHDOG_USEC", None)
        start = time.perf_counter()
        daemon = subprocess.Popen(
            [str(BIN / "postermd"), "--config", str(rig.config)], env=env, stderr=subprocess.DEVNULL
        )
        try:
            while "READY=1" not in sock.recv(4096).decode():
                pass
            ready = time.perf_counter() - start
            python = _python_start()
            time.sleep(min(5.0, seconds))  # settle: the first telemetry, the relay's session
            ticks0, t0 = _cpu_ticks(daemon.pid), time.perf_counter()
            time.sleep(seconds)
            ticks1, t1 = _cpu_ticks(daemon.pid), time.perf_counter()
            rss = _rss_mb(daemon.pid)
            reply = ControlClient(rig.socket, timeout=120).request(
                {"cmd": "sale", "amount": "12.50"}
            )
            assert reply["ok"], reply
            time.sleep(min(5.0, seconds))  # settle: the sale's events sent and acked
            rss_sale = _rss_mb(daemon.pid)
        finally:
            daemon.terminate()
            daemon.wait(30)
            sock.close()
            rig.close()
            broker.stop()
    cpu_share = (ticks1 - ticks0) / TICKS / (t1 - t0)  # of one core
    return [
        {
            "name": "postermd: start to READY=1",
            "value": ready,
            "unit": "s",
            "baseline": python,
            "baseline_name": "python -c 'import posterm'",
            "target": "<= 1.5 s",
        },
        {
            "name": "postermd: idle RSS",
            "value": rss,
            "unit": "MB",
            "baseline": None,
            "baseline_name": "",
            "target": "< 60 MB",
        },
        {
            "name": "postermd: RSS after a sale (python-escpos)",
            "value": rss_sale,
            "unit": "MB",
            "baseline": rss,
            "baseline_name": "idle RSS, before its first receipt",
            "target": "",
        },
        {
            "name": f"postermd: idle CPU (over {seconds:.0f} s)",
            "value": cpu_share * 60,
            "unit": "CPU s/min",
            "baseline": None,
            "baseline_name": "",
            "target": "< 0.6 CPU s/min (1 % of a core)",
        },
    ]


def _python_start() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import posterm.daemon.main"], check=True)
    return time.perf_counter() - start


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith(("model name", "Model")):  # x86; a Pi says "Model"
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def table(rows: list[dict[str, Any]]) -> str:
    head = f"{'figure':44} {'value':>12} {'unit':11} {'baseline':>12} {'ratio':>6}  target"
    lines = [head, "-" * len(head)]
    for row in rows:
        base = row.get("baseline")
        ratio = f"{row.get('ratio') or row['value'] / base:6.2f}" if base else f"{'':6}"
        shown = f"{base:12,.3f}" if base is not None else f"{'':12}"
        lines.append(
            f"{row['name'][:44]:44} {row['value']:12,.3f} {row['unit'][:11]:11} "
            f"{shown} {ratio}  {row.get('target', '')}"
        )
        if base is not None and row.get("baseline_name"):
            lines.append(f"{'':44} {'':12} {'':11} ^ {row['baseline_name']}")
        if spread := row.get("spread"):
            low, high, rounds = spread
            lines.append(f"{'':44} {'':12} {'':11} ratio {low:.2f}-{high:.2f} over {rounds} runs")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--only", help="run only the benchmarks whose file name contains this")
    parser.add_argument("--no-idle", action="store_true", help="skip the idle postermd figures")
    args = parser.parse_args()
    rows, failed = run_benches(args.only)
    if not args.no_idle:
        rows += idle_postermd(args.idle_seconds)
    print()
    print(
        f"posterm benchmarks, {time.strftime('%Y-%m-%d %H:%M %Z')}, on {platform.node()}: "
        f"{cpu_model()}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.platform()}"
    )
    print(table(rows))
    return failed


if __name__ == "__main__":
    sys.exit(main())
