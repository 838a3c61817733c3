"""The Pi's userland on a PC: arm64 programs run by qemu-user through binfmt_misc, a Debian
bookworm arm64 root made once by debootstrap and cached, and a throw-away copy of it to
chroot into (an overlay, so the cached root is never written).

Needs root and Debian's qemu-user-static (its binfmt entry has the F flag: the emulator is
opened when the entry is registered, so the chroot needs no copy of it), binfmt-support
(or writes the entry itself) and debootstrap. The mounts are made in the caller's mount
namespace: run it in a private one (`unshare --mount`), where they vanish with it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

ARCH = "arm64"  # Debian's name; the kernel's and qemu's is aarch64
MACHINE = "aarch64"
SUITE = "bookworm"  # as Raspberry Pi OS (64-bit) is today
MIRROR = os.environ.get("PI_ROOT_MIRROR", "http://deb.debian.org/debian")
# what the posterm package depends on (packaging/build-deb.sh): in the cached root, so that
# installing the package with apt downloads nothing when its dependencies have not changed
PACKAGES = ("python3.11", "libusb-1.0-0", "systemd", "udev", "init-system-helpers")
APT_CACHE = "var/cache/apt/pkgcache.bin"
BINFMT = Path("/proc/sys/fs/binfmt_misc")
BINFMT_ENTRY = "qemu-aarch64"
BINFMT_CONF = Path("/usr/lib/binfmt.d/qemu-aarch64.conf")  # from qemu-user-static
# the devices a root needs to install packages and run postermd (no host /dev bind: a
# removal that went wrong could never reach the host's devices)
DEVICES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8), "urandom": (1, 9)}
TOOLS = {  # command -> the Debian package that has it
    "qemu-aarch64-static": "qemu-user-static",
    "debootstrap": "debootstrap",
    "chroot": "coreutils",
    "unshare": "util-linux",
    "mount": "mount",
    "dpkg-deb": "dpkg",
}

Log = Callable[[str], None]


class PiRootError(Exception):
    """The emulation or the arm64 root could not be set up; says what to install or do."""


def missing_tools() -> list[str]:
    """What this machine lacks to run an arm64 root: commands (with their Debian package)
    and root itself."""
    missing = [f"{tool} ({pkg})" for tool, pkg in TOOLS.items() if shutil.which(tool) is None]
    if os.geteuid() != 0:
        missing.append("root (chroot, mount and binfmt_misc need it)")
    return missing


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "posterm" / "pi-root"


def _run(args: list[str], what: str, timeout: float = 600) -> str:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise PiRootError(f"{what} failed (exit {proc.returncode}): {' '.join(args)}\n{tail}")
    return proc.stdout


def ensure_emulation(log: Log) -> str:
    """binfmt_misc mounted (it is not in many containers and minimal VMs) and qemu-aarch64
    registered with the F flag; returns the kernel's description of the entry."""
    if not (BINFMT / "register").exists():
        log(f"pi-root: mounting binfmt_misc on {BINFMT}")
        _run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)], "mounting binfmt_misc")
    entry = BINFMT / BINFMT_ENTRY
    if not entry.exists():
        log(f"pi-root: registering {BINFMT_ENTRY} with binfmt_misc")
        if shutil.which("update-binfmts"):
            _run(["update-binfmts", "--enable", BINFMT_ENTRY], "update-binfmts")
        elif BINFMT_CONF.exists():
            (BINFMT / "register").write_text(BINFMT_CONF.read_text().strip())
        else:
            raise PiRootError(f"no binfmt entry for {BINFMT_ENTRY}: install qemu-user-static")
    described = entry.read_text()
    if "enabled" not in described.splitlines()[0]:
        raise PiRootError(f"{entry} is disabled: update-binfmts --enable {BINFMT_ENTRY}")
    flags = next((ln.split()[1] for ln in described.splitlines() if ln.startswith("flags:")), "")
    if "F" not in flags:
        raise PiRootError(
            f"{entry} has flags {flags!r}, not F: the chroot cannot reach the emulator "
            "(Debian's qemu-user-static registers it with F)"
        )
    return described


def _root_name() -> str:
    recipe = "\n".join((SUITE, ARCH, MIRROR, *PACKAGES))
    return f"{SUITE}-{ARCH}-{hashlib.sha256(recipe.encode()).hexdigest()[:10]}"


def ensure_root(log: Log) -> Path:
    """The cached arm64 root of this recipe (suite, mirror, packages), made by debootstrap
    the first time (minutes: its second stage runs under emulation), by one process at a
    time; a half-made root is never used (it is renamed into place only when complete)."""
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    root = cache / _root_name()
    with (cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not root.exists():
            _make(root, log)
        if not (root / APT_CACHE).exists():
            # apt's binary cache of the package lists, made once here rather than by apt
            # in every run (~12 s under emulation)
            with chrooted(root):
                _run(["chroot", str(root), "apt-cache", "gencaches"], "apt-cache gencaches")
        return root


def _make(root: Path, log: Log) -> None:
    partial = root.with_name(f"{root.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    log(f"pi-root: making the {SUITE} {ARCH} root with debootstrap (once; cached in {root})")
    started = time.monotonic()
    _run(
        [
            "debootstrap",
            f"--arch={ARCH}",
            "--variant=minbase",
            f"--include={','.join(PACKAGES)}",
            SUITE,
            str(partial),
            MIRROR,
        ],
        "debootstrap",
        timeout=3600,
    )
    # the package lists, so that apt can fetch a dependency the package gains later
    with chrooted(partial):
        _run(["chroot", str(partial), "apt-get", "update", "-q"], "apt-get update", 900)
        _run(["chroot", str(partial), "apt-get", "clean"], "apt-get clean")
    partial.rename(root)
    log(f"pi-root: made in {time.monotonic() - started:.0f} s")


def _mount(args: list[str], target: Path, mounted: list[Path]) -> None:
    _run(["mount", *args, str(target)], f"mounting {target}")
    mounted.append(target)


@contextmanager
def chrooted(root: Path) -> Iterator[Path]:
    """`root` with /proc and a minimal /dev mounted (unmounted on the way out)."""
    mounted: list[Path] = []
    try:
        _mount(["-t", "proc", "proc"], root / "proc", mounted)
        dev = root / "dev"
        _mount(["-t", "tmpfs", "-o", "mode=0755,nosuid", "pi-dev"], dev, mounted)
        for name, (major, minor) in DEVICES.items():
            os.mknod(dev / name, 0o20666, os.makedev(major, minor))
            os.chmod(dev / name, 0o666)
        (dev / "shm").mkdir(mode=0o1777)
        (dev / "pts").mkdir()
        os.symlink("/proc/self/fd", dev / "fd")
        yield root
    finally:
        _stop_inside(root)
        _unmount(mounted)


def _inside(root: Path) -> list[int]:
    """The processes whose root directory is `root` (or under it): what runs in the chroot."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            seen = Path(os.readlink(proc / "root"))
        except OSError:  # gone meanwhile, or a kernel thread
            continue
        if seen == root or root in seen.parents:
            pids.append(int(proc.name))
    return pids


def _stop_inside(root: Path, grace: float = 30) -> None:
    """Stop what still runs in the chroot (a run stopped by a signal while it started a
    process can leave one that nobody waits for): SIGTERM, then SIGKILL after `grace`
    seconds; its mounts could not be removed while it ran."""
    deadline = time.monotonic() + grace
    signum = signal.SIGTERM
    while pids := _inside(root):
        if time.monotonic() > deadline + grace:  # unkillable: the unmount will say so
            return
        if time.monotonic() > deadline:
            signum = signal.SIGKILL
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, signum)
            with suppress(ChildProcessError):  # reaped when it is our child
                os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)


def _unmount(mounted: list[Path]) -> None:
    failed = []
    for target in reversed(mounted):
        if subprocess.run(["umount", str(target)], capture_output=True, check=False).returncode:
            failed.append(str(target))
    if failed:
        raise PiRootError(f"could not unmount {', '.join(failed)}")


@contextmanager
def scratch_root(base: Path, work: Path) -> Iterator[Path]:
    """A writable copy of the cached root `base`, chrootable: an overlay whose changes go to
    `work` (on tmpfs when the machine has /dev/shm), removed on the way out."""
    shm = Path("/dev/shm")
    with _tempdir(shm if shm.is_dir() else work) as tmp:
        upper, scratch, merged = tmp / "upper", tmp / "work", tmp / "root"
        for d in (upper, scratch, merged):
            d.mkdir()
        mounted: list[Path] = []
        options = f"lowerdir={base},upperdir={upper},workdir={scratch}"
        _mount(["-t", "overlay", "-o", options, "pi-root"], merged, mounted)
        try:
            with chrooted(merged):
                yield merged
        finally:
            _unmount(mounted)


@contextmanager
def _tempdir(parent: Path) -> Iterator[Path]:
    """A temporary directory removed only when nothing is mounted under it any more; those
    a killed run left (its mounts went with its namespace) are removed first."""
    _remove_stale(parent)
    path = Path(tempfile.mkdtemp(prefix=f"pi-smoke.{os.getpid()}.", dir=parent))
    try:
        yield path
    finally:
        mounts = Path("/proc/self/mounts").read_text()
        if f" {path}/" in mounts:
            raise PiRootError(f"{path} still has mounts; left in place")
        shutil.rmtree(path)


def _remove_stale(parent: Path) -> None:
    mounts = Path("/proc/self/mounts").read_text()
    for path in parent.glob("pi-smoke.*.*"):
        pid = path.name.split(".")[1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists() and f" {path}/" not in mounts:
            shutil.rmtree(path, ignore_errors=True)


@contextmanager
def bound(source: Path, root: Path, inside: str) -> Iterator[Path]:
    """`source` (a host directory) seen at `inside` in `root`."""
    target = root / inside.lstrip("/")
    target.mkdir(parents=True, exist_ok=True)
    mounted: list[Path] = []
    _mount(["--bind", str(source)], target, mounted)
    try:
        yield target
    finally:
        _unmount(mounted)


def main() -> int:
    """`python3 tools/pi_root.py`: make the cached root now (CI starts it in the background
    while the venv and the other tests are made and run; test_pi_smoke then waits on its
    lock instead of making it). Exit 0 when the root is there, 1 with why when not."""
    import sys  # noqa: PLC0415 (only this entry point prints)

    if missing := missing_tools():
        print(f"pi-root: needs {', '.join(missing)}", file=sys.stderr)
        return 1
    if os.environ.get("POSTERM_PI_ROOT_NS") != "1":  # the mounts vanish with this process
        os.environ["POSTERM_PI_ROOT_NS"] = "1"
        unshare = ["unshare", "--mount", "--propagation", "private"]
        os.execvp("unshare", [*unshare, sys.executable, __file__])
    try:
        ensure_emulation(print)
        print(f"pi-root: ready: {ensure_root(print)}")
    except (PiRootError, subprocess.TimeoutExpired) as exc:
        print(f"pi-root: FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
