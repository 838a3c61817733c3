"""`posterm debug [--config FILE] [--output FILE]`: a support bundle (tar.gz) to send to
whoever supports the terminal. Safe to hand out: the config has its secrets removed (the
PT password, MQTT user names; the files a key or password path names are never read),
the journal appears only as counts by kind and state (never card data, never receipts),
and every text is masked as postermd's log is (money rule 7).

Inside: config.toml (as written, secrets removed), config.json (the effective typed
config, defaults included), status.json (postermd's `status`, health included, if it
runs), health.json, journal-summary.json, log.txt (`journalctl -u posterm -n 500`),
versions.json, devices.txt (device paths, `udevadm info` of each), README.txt."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import re
import sqlite3
import subprocess
import sys
import tarfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posterm.daemon.control.client import ControlClient, ControlError

if TYPE_CHECKING:  # the daemon's modules load in the commands: `posterm sale` starts fast
    from posterm.daemon.config import Config

DEFAULT_CONFIG = Path("/etc/posterm/posterm.toml")
LOG_LINES = 500
REMOVED = "[removed]"
# keys whose values are never in a bundle, in any section
SECRET_KEYS = re.compile(r"(password|passwd|username|user|secret|token|private)", re.IGNORECASE)
PACKAGES = (
    "posterm",
    "python-escpos",
    "paho-mqtt",
    "pyserial",
    "gpiozero",
    "tenacity",
    "cryptography",
)
COMMAND_SECONDS = 10.0


def register(sub: Any) -> None:
    p = sub.add_parser("debug", help="write a support bundle (tar.gz), secrets removed")
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="postermd's config")
    p.add_argument("--output", type=Path, help="the bundle (default posterm-debug-ID-TIME.tar.gz)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from posterm.daemon.config import ConfigError, load_config  # noqa: PLC0415 (lazy: see the top)

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"posterm debug: {exc}", file=sys.stderr)
        return 2
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    output = args.output or Path(f"posterm-debug-{config.terminal.id}-{stamp}.tar.gz")
    files = collect(config, socket=args.socket)
    try:
        write_bundle(output, files, secrets=secrets_of(config))
    except OSError as exc:
        print(f"posterm debug: cannot write {output}: {exc}", file=sys.stderr)
        return 1
    print(output)
    return 0


# -- what goes in ----------------------------------------------------------------------------
def collect(config: Config, socket: str) -> dict[str, str]:
    from posterm.daemon import health  # noqa: PLC0415 (lazy: see the top)
    from posterm.daemon.config import as_dict  # noqa: PLC0415 (lazy: see the top)

    return {
        "README.txt": (__doc__ or "") + f"\nwritten {datetime.now(UTC).isoformat()}\n",
        "config.toml": redacted_toml(config.path.read_text(encoding="utf-8")),
        "config.json": _json(redacted(as_dict(config))),
        "status.json": _json(daemon_status(socket)),
        "health.json": _json(health.check(config.journal.path, health.Probes())),
        "journal-summary.json": _json(journal_summary(config.journal.path)),
        "log.txt": journald_lines(),
        "versions.json": _json(versions()),
        "devices.txt": devices(config),
    }


def redacted_toml(text: str) -> str:
    """The config as written, each secret key's value replaced (comments kept)."""
    out = []
    for line in text.splitlines():
        key, eq, _ = line.partition("=")
        name = key.strip().lstrip("#").strip()
        secret = eq and SECRET_KEYS.search(name) and not name.endswith("_file")
        out.append(f'{key.rstrip()} = "{REMOVED}"' if secret else line)
    return "\n".join(out) + "\n"


def redacted(data: Any) -> Any:
    if isinstance(data, dict):
        return {
            k: REMOVED
            if SECRET_KEYS.search(k) and not k.endswith("_file") and v is not None
            else redacted(v)
            for k, v in data.items()
        }
    if isinstance(data, list | tuple):
        return [redacted(v) for v in data]
    if isinstance(data, Path):
        return str(data)
    return data


def secrets_of(config: Config) -> list[str]:
    """Values that must appear nowhere in the bundle, whatever file carries them."""
    found = [config.payment.password]
    m = config.mqtt
    if m is not None:
        if m.username:
            found.append(m.username)
        if m.password_file is not None:
            # unreadable here: then it cannot be in the bundle either
            with contextlib.suppress(OSError):
                found.append(m.password_file.read_text(encoding="utf-8").strip())
    return [s for s in found if s]


def daemon_status(socket: str) -> dict[str, Any]:
    try:
        reply = ControlClient(socket, timeout=COMMAND_SECONDS).request({"cmd": "status"})
    except ControlError as exc:
        return {"running": False, "note": f"postermd did not answer on {socket}: {exc}"}
    return {"running": True, **reply}


def journal_summary(path: Path) -> dict[str, Any]:
    """Counts only: transactions by kind and state, receipts by state and mark, the
    outbox, the latest mode transitions' states. Opened read-only."""
    if not path.exists():
        return {"note": f"no journal at {path}"}
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as exc:
        return {"note": f"cannot open {path}: {exc}"}
    try:

        def rows(sql: str) -> list[list[Any]]:
            return [list(r) for r in db.execute(sql)]

        return {
            "schema_version": rows("SELECT MAX(version) FROM schema_version")[0][0],
            "txns_by_kind_state": rows(
                "SELECT kind, state, COUNT(*) FROM txns GROUP BY kind, state ORDER BY kind, state"
            ),
            "receipts_by_state_mark": rows(
                "SELECT state, mark, copy, COUNT(*) FROM receipts GROUP BY state, mark, copy"
            ),
            "outbox": {
                "total": rows("SELECT COUNT(*) FROM outbox")[0][0],
                "unacked": rows("SELECT COUNT(*) FROM outbox WHERE acked_at IS NULL")[0][0],
                "oldest_unacked_at": rows(
                    "SELECT MIN(occurred_at) FROM outbox WHERE acked_at IS NULL"
                )[0][0],
                "by_type": rows("SELECT type, COUNT(*) FROM outbox GROUP BY type"),
            },
            "first_txn_at": rows("SELECT MIN(created_at) FROM txns")[0][0],
            "last_txn_at": rows("SELECT MAX(created_at) FROM txns")[0][0],
            "batch_no": rows("SELECT value FROM kv WHERE key = 'batch_no'"),
            "last_mode_changes": rows(
                "SELECT at, from_state, to_state FROM transitions WHERE txn_id IS NULL "
                "ORDER BY id DESC LIMIT 20"
            ),
        }
    except sqlite3.Error as exc:
        return {"note": f"cannot read {path}: {exc}"}
    finally:
        db.close()


def _command(argv: list[str]) -> tuple[str | None, str]:
    """(stdout, why not) of a command that may not exist on this machine."""
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, check=False, timeout=COMMAND_SECONDS
        )
    except FileNotFoundError:
        return None, f"{argv[0]} is not installed here"
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"{argv[0]} failed: {exc}"
    if done.returncode != 0:
        return None, f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()[:500]}"
    return done.stdout, ""


def journald_lines() -> str:
    out, why = _command(
        ["journalctl", "-u", "posterm", "-n", str(LOG_LINES), "--no-pager", "-o", "short-iso"]
    )
    if out is None:
        return f"(no log from journald: {why})\n"
    return out


def versions() -> dict[str, Any]:
    found: dict[str, Any] = {
        "python": sys.version,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "packages": {},
    }
    for name in PACKAGES:
        try:
            found["packages"][name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found["packages"][name] = None
    for key, path in (("os_release", "/etc/os-release"), ("model", "/proc/device-tree/model")):
        try:
            found[key] = Path(path).read_text(encoding="utf-8", errors="replace").strip("\0\n")
        except OSError:
            found[key] = None
    return found


def _device(url: str) -> str | None:
    """The device file a serial URL names (tcp and usb URLs have none)."""
    if url.startswith("serial://"):
        return url[len("serial://") :].partition("?")[0]
    return None


def devices(config: Config) -> str:
    lines = []
    for name, url in (("payment", config.payment.url), ("printer", config.printer.url)):
        lines.append(f"{name}.url = {url}")
        device = _device(url)
        if device is None:
            continue
        path = Path(device)
        target = path.resolve() if path.exists() else None
        lines.append(f"  {device}: {'-> ' + str(target) if target else 'does not exist'}")
        out, why = _command(["udevadm", "info", "--query=all", f"--name={device}"])
        lines += [f"  {line}" for line in (out or f"(udevadm: {why})").splitlines()]
    for link in sorted(Path("/dev").glob("posterm*")):
        lines.append(f"{link} -> {link.resolve()}")
    return "\n".join(lines) + "\n"


# -- the tar ---------------------------------------------------------------------------------
def write_bundle(output: Path, files: dict[str, str], secrets: list[str]) -> None:
    """Every member masked as the log is, and any secret value that slipped into one
    (a log line, a status reason) replaced."""
    from posterm.daemon.logsetup import mask  # noqa: PLC0415 (lazy: see the top)

    folder = output.name.removesuffix(".tar.gz").removesuffix(".tgz")
    tmp = output.with_name(output.name + ".part")
    with tarfile.open(tmp, "w:gz") as tar:
        for name, raw in files.items():
            text = mask(raw)
            for secret in secrets:
                text = text.replace(secret, REMOVED)
            data = text.encode("utf-8")
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(data)
            info.mtime = int(time.time())
            info.mode = 0o600
            tar.addfile(info, io.BytesIO(data))
    tmp.chmod(0o600)
    tmp.replace(output)


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n"
