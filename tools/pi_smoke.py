"""`make pi-smoke`: the arm64 posterm package proven as a Pi would run it. Under qemu-user
emulation (binfmt_misc), in a Debian bookworm arm64 root made by debootstrap and cached
(tools/pi_root.py), the package is installed with apt; postermd starts from it and sells
against the PT and printer simulators running on this machine (TCP to 127.0.0.1), its
journal written to WORK/state/journal.db and `posterm status` (the arm64 CLI) answering.

Run (as root, with the checkout's venv):
    .venv/bin/python tools/pi_smoke.py DEB [--work DIR] [--sales N] [--json]

DEB is a posterm package for arm64 (`make deb DEB_ARCH=arm64`). WORK (default
build/pi-smoke, emptied first) keeps what the run leaves: state/journal.db (postermd's
journal), state/postermd.log, ledger.db (the PT's ground truth), printed/ (the receipts),
report.json. Exit codes: 0 it sold and answered; 1 the smoke failed (what went wrong on
stderr); 64 bad arguments; 65 DEB is not an arm64 posterm package; 69 a tool is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

import pi_root  # noqa: E402
from pi_sale import Postermd, SaleRunError, sell, write_config  # noqa: E402

from tests.support.sim import start_printer, start_pt  # noqa: E402

EX_USAGE, EX_DATAERR, EX_UNAVAILABLE = 64, 65, 69
NAMESPACED = "POSTERM_PI_SMOKE_NS"  # set once this process runs in its own mount namespace
INSIDE = Path("/var/lib/posterm-smoke")  # WORK/state as postermd sees it
POSTERMD = "/opt/posterm/venv/bin/postermd"  # systemd/posterm.service's ExecStart


class SmokeError(Exception):
    """The package did not install, start or sell in the arm64 root."""


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def package_error(deb: Path) -> str | None:
    """Why `deb` is not a posterm package for arm64, or None."""
    if not deb.is_file():
        return f"{deb}: no such file"
    proc = subprocess.run(
        ["dpkg-deb", "--show", "--showformat", "${Package} ${Architecture}", str(deb)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        said = proc.stderr.strip().splitlines()
        return f"{deb}: not a Debian package ({said[-1] if said else 'dpkg-deb refused it'})"
    package, arch = proc.stdout.split()
    if package != "posterm":
        return f"{deb}: package {package!r}, not posterm"
    if arch != pi_root.ARCH:
        return f"{deb}: built for {arch}, not {pi_root.ARCH} (make deb DEB_ARCH=arm64)"
    return None


def in_root(root: Path, *args: str, what: str, timeout: float = 900) -> str:
    proc = subprocess.run(
        ["chroot", str(root), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    if proc.returncode != 0:
        raise SmokeError(f"{what} exited {proc.returncode}: {proc.stdout}{proc.stderr}")
    return proc.stdout


def install(root: Path, deb: Path) -> dict[str, Any]:
    """apt installs the package (and any dependency the cached root lacks) in `root`."""
    inside = f"/tmp/{deb.name}"
    shutil.copy(deb, root / inside.lstrip("/"))
    started = time.monotonic()
    in_root(
        root,
        "apt-get",
        "install",
        "-y",
        "-q",
        "--no-install-recommends",
        inside,
        what="apt-get install",
    )
    seconds = time.monotonic() - started
    (root / inside.lstrip("/")).unlink()
    shown = in_root(
        root, "dpkg-query", "-W", "-f", "${Version} ${Architecture}", "posterm", what="dpkg-query"
    )
    version, arch = shown.split()
    return {"version": version, "arch": arch, "install_s": round(seconds, 1)}


def smoke(deb: Path, work: Path, sales: int) -> dict[str, Any]:
    report: dict[str, Any] = {"deb": deb.name}
    report["binfmt"] = pi_root.ensure_emulation(say).splitlines()[1]
    base = pi_root.ensure_root(say)
    state = work / "state"
    state.mkdir()
    with pi_root.scratch_root(base, work) as root:
        say(f"pi-smoke: installing {deb.name} with apt (under emulation)")
        report["package"] = install(root, deb)
        report["machine"] = in_root(root, "uname", "-m", what="uname").strip()
        pt = start_pt(work, "--ack-timeout", "3", pty=False)
        printer = start_printer(work)
        try:
            with pi_root.bound(state, root, str(INSIDE)):
                write_config(state / "posterm.toml", INSIDE, pt, printer)
                postermd = Postermd(
                    argv=["chroot", str(root), POSTERMD, "--config", str(INSIDE / "posterm.toml")],
                    socket=state / "control.sock",
                    cli=[
                        "chroot",
                        str(root),
                        "/usr/bin/posterm",
                        "--socket",
                        str(INSIDE / "control.sock"),
                    ],
                    log=state / "postermd.log",
                )
                say(f"pi-smoke: postermd (arm64) selling 1 + {sales} x against the simulators")
                report |= sell(postermd, printer, sales)
        finally:
            pt.stop()
            printer.stop()
    if report["exit_code"] != 0:
        raise SmokeError(f"postermd exited {report['exit_code']} on SIGTERM")
    return report


_TERMINATED: list[int] = []  # the signal that stopped the run, if one did


def _stopped(signum: int, frame: object) -> None:
    say("pi-smoke: stopped by SIGTERM; cleaning up")
    _TERMINATED.append(signum)
    sys.exit(128 + signum)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("deb", type=Path, help="the arm64 posterm package")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "pi-smoke")
    parser.add_argument(
        "--sales", type=int, default=5, help="sales measured after the CLI's (>= 1)"
    )
    parser.add_argument("--json", action="store_true", help="the report as JSON on stdout")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        sys.exit(EX_USAGE if exc.code else 0)
    if args.sales < 1:
        parser.print_usage(sys.stderr)
        say(f"pi-smoke: --sales must be at least 1, not {args.sales}")
        sys.exit(EX_USAGE)
    return args


def main(argv: list[str]) -> int:
    args = parse(argv)
    deb = args.deb.resolve()
    if why := package_error(deb):
        say(f"pi-smoke: {why}")
        return EX_DATAERR
    if missing := pi_root.missing_tools():
        say(f"pi-smoke: needs {', '.join(missing)}")
        return EX_UNAVAILABLE
    if os.environ.get(NAMESPACED) != "1":  # the mounts vanish with this process, whatever ends it
        os.environ[NAMESPACED] = "1"
        unshare = ["unshare", "--mount", "--propagation", "private"]
        os.execvp("unshare", [*unshare, sys.executable, __file__, *argv])
    # SIGTERM (a CI job's end) unwinds: postermd and the simulators are stopped, the overlay
    # removed; SIGKILL leaves only the overlay's directory, removed by the next run
    signal.signal(signal.SIGTERM, _stopped)
    work = args.work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    started = time.monotonic()
    try:
        report = smoke(deb, work, args.sales)
    except (pi_root.PiRootError, SmokeError, SaleRunError, subprocess.TimeoutExpired) as exc:
        if _TERMINATED:  # a clean-up slowed by a loaded machine failed after SIGTERM: stopped
            say(f"pi-smoke: stopped by SIGTERM (clean-up said: {exc})")
            return 128 + _TERMINATED[0]
        say(f"pi-smoke: FAILED: {exc}")
        return 1
    report["total_s"] = round(time.monotonic() - started, 1)
    (work / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    if args.json:
        print(json.dumps(report))
    else:
        print(
            f"pi-smoke: {report['deb']} installed by apt in {report['package']['install_s']} s "
            f"on {report['machine']} (emulated by {report['exe']}); postermd ready in "
            f"{report['ready_s']} s, {report['sales']} sales approved, {report['printed']} "
            f"receipts printed, posterm status: {report['status']['state']}; idle RSS "
            f"{report['idle_rss_mb']} MB ({report['idle_guest_rss_mb']} MB without qemu's own), "
            f"{report['cpu_ms_per_sale']} CPU ms per sale; "
            f"{report['total_s']} s in all"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
