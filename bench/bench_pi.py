"""The Pi's architecture under emulation: postermd's idle RSS, start to ready and CPU time
(user+sys from /proc) per sale, for the arm64 package in an emulated bookworm root
(tools/pi_smoke.py: qemu-user via binfmt_misc) beside the same run of this machine's
native build. The ratio of the CPU figures is the emulation factor: divide the arm64 figure
by it for the native cost on this CPU; a Pi Zero 2 / Pi 3 (Cortex-A53) is slower again.

The two arms run in interleaved rounds (bench/runs.py: each round runs both, the order
rotating), at least 5; every figure is the median of the rounds, every ratio the median of
the rounds' own ratios (arm64 over native, measured side by side), with its spread. The
CPU a native run spends is well under the 5 s runs.py asks (20 sales at a few ms each):
it says so; the spread shows what that costs.

Run (root): .venv/bin/python bench/bench_pi.py [--deb posterm_*_arm64.deb] [--sales N]
[--rounds N]
Without --deb (or PI_DEB) it builds the arm64 package first (packaging/build-deb.sh).
Without root, qemu-user-static or debootstrap it says so and measures nothing (under CI,
the `CI` variable set, that is a failure).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

from pi_root import missing_tools  # noqa: E402
from pi_sale import Postermd, sell, write_config  # noqa: E402

from bench.figures import figure  # noqa: E402
from bench.runs import ROUNDS, Sample, Spread, interleave  # noqa: E402
from tests.support.sim import BIN, start_printer, start_pt  # noqa: E402

IDLE_TARGET = "< 60 MB on the Pi (issue 22)"


def native(tmp: Path, sales: int) -> dict[str, Any]:
    pt = start_pt(tmp, "--ack-timeout", "3", pty=False)
    printer = start_printer(tmp)
    try:
        write_config(tmp / "posterm.toml", tmp, pt, printer)
        postermd = Postermd(
            argv=[str(BIN / "postermd"), "--config", str(tmp / "posterm.toml")],
            socket=tmp / "control.sock",
            cli=[str(BIN / "posterm"), "--socket", str(tmp / "control.sock")],
            log=tmp / "postermd.log",
        )
        return sell(postermd, printer, sales)
    finally:
        pt.stop()
        printer.stop()


def build_deb(out: Path) -> Path:
    env = {**os.environ, "DEB_ARCH": "arm64", "WORKDIR": str(out / "work")}
    env.setdefault("TOOL_PYTHON", sys.executable)
    build = [str(ROOT / "packaging/build-deb.sh"), str(out)]
    proc = subprocess.run(build, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"pi: building the arm64 package failed:\n{proc.stdout}{proc.stderr}")
    return sorted(out.glob("posterm_*_arm64.deb"))[0]


def emulated(deb: Path, work: Path, sales: int) -> dict[str, Any]:
    smoke = [sys.executable, str(ROOT / "tools/pi_smoke.py"), str(deb), "--work", str(work)]
    smoke += ["--sales", str(sales), "--json"]
    proc = subprocess.run(smoke, stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"pi: the arm64 smoke run failed (exit {proc.returncode}); see above")
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


Reports = dict[str, list[dict[str, Any]]]


def arm(
    name: str, reports: Reports, run: Callable[[Path], dict[str, Any]], tmp: Path, sales: int
) -> Callable[[], Sample]:
    """One run of an arm, in a directory of its own: its report kept, its CPU time of the
    measured sales as the sample (a rate of sales per CPU second)."""

    def once() -> Sample:
        work = tmp / f"{name}-{len(reports[name]) + 1}"
        work.mkdir()
        report = run(work)
        if not report["cpu_ms_per_sale"]:
            sys.exit(f"pi: the {name} run took less than a clock tick of CPU: more --sales")
        reports[name].append(report)
        return Sample(sales, report["cpu_ms_per_sale"] * sales / 1000)

    return once


def median(reports: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in reports))


def ratio(reports: Reports, key: str) -> Spread:
    """arm64's figure over native's, round by round: the median of those, with its range."""
    values = [a[key] / n[key] for a, n in zip(reports["arm64"], reports["native"], strict=True)]
    return Spread(statistics.median(values), min(values), max(values), len(values))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deb", type=Path, default=os.environ.get("PI_DEB"))
    parser.add_argument("--sales", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"at least {ROUNDS}")
    args = parser.parse_args()
    if args.rounds < ROUNDS or args.sales < 1:
        parser.error(f"--rounds takes {ROUNDS} or more, --sales 1 or more")
    if missing := missing_tools():
        print(f"pi: not measured: needs {', '.join(missing)}")
        return 1 if os.environ.get("CI") else 0
    reports: Reports = {"arm64": [], "native": []}
    with tempfile.TemporaryDirectory(prefix="bench-pi-") as tmp_name:
        tmp = Path(tmp_name)
        deb = args.deb.resolve() if args.deb else build_deb(tmp / "deb")
        print(f"pi: {args.rounds} interleaved rounds of {args.sales} sales, arm64 and native")
        result = interleave(
            {
                "arm64": arm(
                    "arm64", reports, lambda w: emulated(deb, w, args.sales), tmp, args.sales
                ),
                "native": arm("native", reports, lambda w: native(w, args.sales), tmp, args.sales),
            },
            rounds=args.rounds,
        )
    arms, here = reports["arm64"], reports["native"]
    factor = result.ratio("native", "arm64")  # sales per CPU second: native's over arm64's
    exe = arms[-1]["exe"]
    cpu_arm, cpu_here = median(arms, "cpu_ms_per_sale"), median(here, "cpu_ms_per_sale")
    rss_arm, rss_here = median(arms, "idle_rss_mb"), median(here, "idle_rss_mb")
    guest, qemu = median(arms, "idle_guest_rss_mb"), median(arms, "idle_emulator_mb")
    ready_arm, ready_here = median(arms, "ready_s"), median(here, "ready_s")
    print(
        f"pi: arm64 postermd under qemu-user ({exe}), medians of {args.rounds} rounds: idle "
        f"RSS {rss_arm} MB (native {rss_here} MB), ready in {ready_arm} s (native "
        f"{ready_here} s), {cpu_arm} CPU ms per sale (native {cpu_here}, user+sys from "
        f"/proc, {args.sales} sales): emulation factor {factor}"
    )
    print(
        f"pi: of the {rss_arm} MB under emulation, {qemu} MB are qemu's own (its binary, heap "
        f"and translated code): {guest} MB are postermd's, what a Pi holds"
    )
    native_name = "x86_64 native (the checkout's venv), same rounds"
    figure(
        "pi arm64: idle RSS, qemu's own excluded",
        guest,
        "MB",
        baseline=rss_here,
        baseline_name=native_name,
        target=IDLE_TARGET,
        spread=ratio(reports, "idle_guest_rss_mb"),  # native's: all its own
    )
    figure("pi arm64: idle RSS under qemu, all", rss_arm, "MB")
    figure(
        "pi arm64: start to ready under qemu",
        ready_arm,
        "s",
        baseline=ready_here,
        baseline_name=native_name,
        spread=ratio(reports, "ready_s"),
    )
    figure(
        "pi arm64: CPU per sale under qemu",
        cpu_arm,
        "ms",
        baseline=cpu_here,
        baseline_name=f"{native_name}; ratio = emulation factor",
        spread=factor,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
