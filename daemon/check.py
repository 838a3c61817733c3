"""`postermd --check`: the config and the devices it names, checked without starting.

Nothing is started and no serial port is opened (the running daemon may hold it): a TCP
device must accept a connection, a serial device must exist as a character device this
user may read and write, a USB printer must be plugged in (sysfs). Exit codes (sysexits):
0 with a one-line summary on stdout, or each problem on stderr and 78 (EX_CONFIG).
"""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path
from urllib.parse import urlsplit

from posterm.daemon import placeholders
from posterm.daemon.config import Config, ConfigError, load_config
from posterm.drivers.printer.url import parse_url as parse_printer_url

__all__ = ["EX_CONFIG", "EX_OK", "SYSFS_USB", "check_devices", "run_check"]

EX_OK = 0
EX_CONFIG = 78  # sysexits.h: something was found in an unconfigured or misconfigured state
SYSFS_USB = Path("/sys/bus/usb/devices")


def _tcp(key: str, host: str, port: int, timeout_s: float) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return None
    except OSError as exc:
        return f"{key}: {host}:{port} does not accept a connection ({exc.strerror or exc})"


def _serial(key: str, path: str) -> str | None:
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return f"{key}: {path}: {exc.strerror or exc}"
    if not stat.S_ISCHR(mode):
        return f"{key}: {path} is not a serial device"
    if not os.access(path, os.R_OK | os.W_OK):
        return f"{key}: {path}: this user may not read and write it"
    return None


def _usb(key: str, vid: int, pid: int, sysfs: Path) -> str | None:
    for device in sysfs.glob("*"):
        try:
            found = (
                int((device / "idVendor").read_text().strip(), 16),
                int((device / "idProduct").read_text().strip(), 16),
            )
        except (OSError, ValueError):
            continue  # an interface, not a device
        if found == (vid, pid):
            return None
    return f"{key}: no USB device {vid:04x}:{pid:04x} is plugged in"


def check_devices(config: Config, sysfs: Path = SYSFS_USB) -> list[str]:
    """The problems with the devices `config` names (empty: every one is there)."""
    problems: list[str] = []
    printer = parse_printer_url(config.printer.url)
    if printer.scheme == "tcp":
        problems.append(
            _tcp("printer.url", printer.host, printer.port, config.printer.timeout_s) or ""
        )
    elif printer.scheme == "serial":
        problems.append(_serial("printer.url", printer.path) or "")
    else:
        problems.append(_usb("printer.url", printer.vid, printer.pid, sysfs) or "")
    pt = urlsplit(config.payment.url)
    if config.payment.protocol != "fake" and pt.scheme == "serial":
        problems.append(_serial("payment.url", pt.path) or "")  # a TCP PT is not dialled
    return [problem for problem in problems if problem]


def summary(config: Config) -> str:
    host = f"host {config.mqtt.url}" if config.mqtt is not None else "no host (runs alone)"
    return (
        f"ok: {config.path}: terminal {config.terminal.id} ({config.terminal.currency}),"
        f" PT {config.payment.url} ({config.payment.protocol}),"
        f" printer {config.printer.url}, {host}"
    )


def run_check(path: Path, sysfs: Path = SYSFS_USB) -> tuple[int, list[str]]:
    """(exit code, lines): the summary line on success, else one line per problem."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        return EX_CONFIG, [str(exc)]
    problems: list[str] = []
    if (refused := placeholders.refusal(config)) is not None:
        problems.append(refused)
    problems.extend(f"{config.path}: {problem}" for problem in check_devices(config, sysfs))
    if problems:
        return EX_CONFIG, problems
    return EX_OK, [summary(config)]
