"""postermd's configuration: TOML, typed and validated at start-up. An unknown key or a
bad value stops the daemon with a message naming the key and the file."""

from __future__ import annotations

import re
import tomllib
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from posterm.protocol import money


class ConfigError(Exception):
    """The configuration cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class TerminalSection:
    id: str
    currency: str = "EUR"
    merchant_name: str = "posterm"
    merchant_address: tuple[str, ...] = ()
    receipt_footer: tuple[str, ...] = ("Thank you!",)


@dataclass(frozen=True)
class JournalSection:
    path: Path = Path("/var/lib/posterm/journal.db")


@dataclass(frozen=True)
class PaymentSection:
    url: str
    password: str = "000000"
    timeout_s: float = 180.0


@dataclass(frozen=True)
class PrinterSection:
    url: str
    columns: int = 42
    encoding: str = "cp858"
    merchant_copy: bool = False
    timeout_s: float = 5.0


@dataclass(frozen=True)
class ControlSection:
    socket: Path = Path("/run/posterm/control.sock")
    group: str | None = None


@dataclass(frozen=True)
class PanelSection:
    enabled: bool = False
    confirm_pin: int = 5
    cancel_pin: int = 6
    reprint_pin: int = 13
    supervisor_pin: int = 19
    ready_led_pin: int = 17
    busy_led_pin: int = 27
    fault_led_pin: int = 22
    host_led_pin: int = 23
    buzzer_pin: int = 24


@dataclass(frozen=True)
class RefundsSection:
    unreferenced: bool = False
    window_days: int = 30
    approval_limit: int = 5000  # minor units; refunds above need approval
    max_amount: int = 100000


@dataclass(frozen=True)
class SalesSection:
    min_amount: int = 1
    max_amount: int = 100000


@dataclass(frozen=True)
class LoggingSection:
    level: str = "info"


@dataclass(frozen=True)
class Config:
    path: Path
    terminal: TerminalSection
    journal: JournalSection
    payment: PaymentSection
    printer: PrinterSection
    control: ControlSection = field(default_factory=ControlSection)
    panel: PanelSection = field(default_factory=PanelSection)
    refunds: RefundsSection = field(default_factory=RefundsSection)
    sales: SalesSection = field(default_factory=SalesSection)
    logging: LoggingSection = field(default_factory=LoggingSection)


SECTIONS: dict[str, type] = {
    "terminal": TerminalSection,
    "journal": JournalSection,
    "payment": PaymentSection,
    "printer": PrinterSection,
    "control": ControlSection,
    "panel": PanelSection,
    "refunds": RefundsSection,
    "sales": SalesSection,
    "logging": LoggingSection,
}
REQUIRED = ("terminal", "payment", "printer")
AMOUNT_KEYS = {"refunds.approval_limit", "refunds.max_amount", "sales.min_amount",
               "sales.max_amount"}  # fmt: skip
PIN_RANGE = range(0, 28)


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.path}: {key}: {message}")

    def value(self, key: str, raw: Any, want: Any, currency: str) -> Any:
        if key in AMOUNT_KEYS:
            if not isinstance(raw, str):
                raise self.fail(key, 'an amount is a decimal string like "50.00"')
            try:
                return money.parse_amount(raw, currency)
            except money.AmountError as exc:
                raise self.fail(key, str(exc)) from exc
        kind = str(want)
        if kind == "bool":
            if not isinstance(raw, bool):
                raise self.fail(key, "must be true or false")
            return raw
        if kind == "int":
            if not isinstance(raw, int) or isinstance(raw, bool):
                raise self.fail(key, "must be a whole number")
            return raw
        if kind == "float":
            if not isinstance(raw, int | float) or isinstance(raw, bool):
                raise self.fail(key, "must be a number")
            return float(raw)
        if kind == "Path":
            if not isinstance(raw, str) or not raw:
                raise self.fail(key, "must be a path")
            return Path(raw)
        if kind.startswith("tuple"):
            if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
                raise self.fail(key, "must be a list of strings")
            return tuple(raw)
        if not isinstance(raw, str):
            raise self.fail(key, "must be a string")
        return raw


def load_config(path: str | Path) -> Config:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such file") from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    reader = _Reader(path)
    unknown = set(data) - set(SECTIONS)
    if unknown:
        raise reader.fail(sorted(unknown)[0], "unknown section")
    for name in REQUIRED:
        if name not in data:
            raise reader.fail(name, "required section missing")
    currency = data.get("terminal", {}).get("currency", "EUR")
    if currency not in money.CURRENCIES:
        raise reader.fail("terminal.currency", f"unknown currency {currency!r}")
    sections: dict[str, Any] = {}
    for name, cls in SECTIONS.items():
        raw = data.get(name, {})
        if not isinstance(raw, dict):
            raise reader.fail(name, "must be a table")
        known = {f.name: f for f in fields(cls)}
        for key in raw:
            if key not in known:
                raise reader.fail(f"{name}.{key}", "unknown key")
        values = {}
        for key, f in known.items():
            if key in raw:
                values[key] = reader.value(f"{name}.{key}", raw[key], f.type, currency)
        try:
            sections[name] = cls(**values)
        except TypeError as exc:
            missing = [k for k, f in known.items() if k not in values and _required(f)]
            raise reader.fail(f"{name}.{missing[0] if missing else '?'}", "required") from exc
    config = Config(path=path, **sections)
    _validate(config, reader)
    return config


def _required(f: Any) -> bool:
    return f.default is MISSING and f.default_factory is MISSING


def _validate(c: Config, r: _Reader) -> None:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", c.terminal.id):
        raise r.fail("terminal.id", "1-32 letters, digits, '-' or '_'")
    if not re.fullmatch(r"(tcp://[^/:]+(:\d+)?|serial:///\S+)", c.payment.url):
        raise r.fail("payment.url", "tcp://host:port or serial:///dev/ttyX?baud=9600")
    if not re.fullmatch(r"\d{6}", c.payment.password):
        raise r.fail("payment.password", "six digits")
    if not 5 <= c.payment.timeout_s <= 600:
        raise r.fail("payment.timeout_s", "5 to 600 seconds")
    if not re.fullmatch(
        r"(tcp://[^/:]+(:\d+)?|serial:///\S+|usb://[0-9a-fA-F]{4}:[0-9a-fA-F]{4})", c.printer.url
    ):
        raise r.fail(
            "printer.url", "tcp://host:9100, serial:///dev/ttyX?baud=115200 or usb://VID:PID"
        )
    if c.printer.columns not in (32, 42, 48):
        raise r.fail("printer.columns", "32 (58 mm), 42 or 48 (80 mm)")
    if c.printer.encoding not in ("cp437", "cp858", "gb18030"):
        raise r.fail("printer.encoding", "cp437, cp858 or gb18030")
    if not 0.5 <= c.printer.timeout_s <= 60:
        raise r.fail("printer.timeout_s", "0.5 to 60 seconds")
    pins = {
        f.name: getattr(c.panel, f.name) for f in fields(PanelSection) if f.name.endswith("_pin")
    }
    for name, pin in pins.items():
        if pin not in PIN_RANGE:
            raise r.fail(f"panel.{name}", "a BCM GPIO number 0-27")
    if len(set(pins.values())) != len(pins):
        raise r.fail("panel", "every pin must be different")
    if c.refunds.unreferenced:
        raise r.fail("refunds.unreferenced", "refunds without a sale are not supported yet")
    if not 1 <= c.refunds.window_days <= 365:
        raise r.fail("refunds.window_days", "1 to 365 days")
    if c.sales.min_amount > c.sales.max_amount:
        raise r.fail("sales.min_amount", "above sales.max_amount")
    if c.logging.level.lower() not in ("debug", "info", "warning", "error"):
        raise r.fail("logging.level", "debug, info, warning or error")
