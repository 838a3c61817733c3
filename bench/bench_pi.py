"""The Pi's architecture under emulation: postermd's idle RSS, start to ready and CPU time
(user+sys from /proc) per sale, for the arm64 package in an emulated bookworm root
(tools/pi_smoke.py: qemu-user via binfmt_misc) beside the same run of this machine's
native build. The ratio of the CPU figures is the emulation factor: divide the arm64 figure
by it for the native cost on this CPU; a Pi Zero 2 / Pi 3 (Cortex-A53) is slower again.

Run (root): .venv/bin/python bench/bench_pi.py [--deb posterm_*_arm64.deb] [--sales N]
Without --deb (or PI_DEB) it builds the arm64 package first (packaging/build-deb.sh).
Without root, qemu-user-static or debootstrap it says so and measures nothing (under CI,
the `CI` variable set, that is a failure).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

from pi_root import missing_tools  # noqa: E402
from pi_sale import Postermd, sell, write_config  # noqa: E402

from bench.figures import figure  # noqa: E402
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deb", type=Path, default=os.environ.get("PI_DEB"))
    parser.add_argument("--sales", type=int, default=20)
    args = parser.parse_args()
    if missing := missing_tools():
        print(f"pi: not measured: needs {', '.join(missing)}")
        return 1 if os.environ.get("CI") else 0
    with tempfile.TemporaryDirectory(prefix="bench-pi-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "native").mkdir()
        here = native(tmp / "native", args.sales)
        deb = args.deb.resolve() if args.deb else build_deb(tmp / "deb")
        arm = emulated(deb, tmp / "arm64", args.sales)
    factor = arm["cpu_ms_per_sale"] / here["cpu_ms_per_sale"]
    print(
        f"pi: arm64 postermd under qemu-user ({arm['exe']}): idle RSS {arm['idle_rss_mb']} MB "
        f"(native {here['idle_rss_mb']} MB), ready in {arm['ready_s']} s (native "
        f"{here['ready_s']} s), {arm['cpu_ms_per_sale']} CPU ms per sale (native "
        f"{here['cpu_ms_per_sale']}, user+sys from /proc, {args.sales} sales): emulation "
        f"factor {factor:.1f}"
    )
    print(
        f"pi: of the {arm['idle_rss_mb']} MB under emulation, {arm['idle_emulator_mb']} MB are "
        f"qemu's own (its binary, heap and translated code): {arm['idle_guest_rss_mb']} MB "
        "are postermd's, what a Pi holds"
    )
    native_name = "x86_64 native (the checkout's venv), same run"
    figure(
        "pi arm64: idle RSS, qemu's own excluded",
        arm["idle_guest_rss_mb"],
        "MB",
        baseline=here["idle_rss_mb"],
        baseline_name=native_name,
        target=IDLE_TARGET,
    )
    figure("pi arm64: idle RSS under qemu, all", arm["idle_rss_mb"], "MB")
    figure(
        "pi arm64: start to ready under qemu",
        arm["ready_s"],
        "s",
        baseline=here["ready_s"],
        baseline_name=native_name,
    )
    figure(
        "pi arm64: CPU per sale under qemu",
        arm["cpu_ms_per_sale"],
        "ms",
        baseline=here["cpu_ms_per_sale"],
        baseline_name=f"{native_name}; ratio = emulation factor",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
