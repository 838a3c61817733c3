"""postermd's configuration: TOML read once at start-up into typed, range-checked sections."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from posterm.drivers.payment import registry as payment_registry
from posterm.drivers.payment.errors import PaymentConfigError
from posterm.drivers.printer.errors import PrinterConfigError
from posterm.drivers.printer.url import parse_url as parse_printer_url
from posterm.protocol import money
from posterm.protocol.mqtt.commands import load_public_key

SOCKET_PATH_MAX = 107  # sun_path on Linux, less the terminating NUL
DEFAULT_JOURNAL = Path("/var/lib/posterm/journal.db")
DEFAULT_SOCKET = Path("/run/posterm/control.sock")
DEFAULT_UPDATE_LOCK = Path("/run/posterm/update.lock")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the file and the key."""


class _Bad(ValueError):
    """A value refused by a check; the loader adds the file and the key."""


Check = Callable[[Any], Any]


def _opt(default: Any = MISSING, check: Check | None = None) -> Any:
    """A config key: its default (none: required) and the check that turns TOML into it."""
    if isinstance(default, tuple | list):
        return field(default_factory=lambda: tuple(default), metadata={"check": check})
    return field(default=default, metadata={"check": check})


# -- checks: each takes the raw TOML value and returns the typed one -----------------------
def _text(pattern: str | None = None, hint: str = "", max_len: int = 200) -> Check:
    def check(raw: Any) -> str:
        if not isinstance(raw, str):
            raise _Bad(f'must be a string in quotes, like "{hint or "text"}"')
        if not raw or len(raw) > max_len or not raw.isprintable():
            raise _Bad(f"must be 1-{max_len} printable characters")
        if pattern is not None and not re.fullmatch(pattern, raw):
            raise _Bad(f"{raw!r} is not {hint}")
        return raw

    return check


def _choice(*choices: Any) -> Check:
    def check(raw: Any) -> Any:
        if isinstance(raw, bool) or raw not in choices:
            raise _Bad(f"{raw!r} is not one of {', '.join(map(str, choices))}")
        return raw

    return check


def _integer(low: int, high: int, unit: str = "") -> Check:
    def check(raw: Any) -> int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise _Bad(f"must be a whole number {low}-{high}{unit}")
        if not low <= raw <= high:
            raise _Bad(f"{raw} is out of range {low}-{high}{unit}")
        return raw

    return check


def _seconds(low: float, high: float) -> Check:
    def check(raw: Any) -> float:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise _Bad(f"must be a number of seconds {low:g}-{high:g}")
        if not low <= raw <= high:
            # an int may be too large for a float, and so for :g (10**400 is valid TOML)
            shown = f"{raw:g}" if isinstance(raw, float) or abs(raw) < 10**15 else "that many"
            raise _Bad(f"{shown} is out of range {low:g}-{high:g} seconds")
        return float(raw)

    return check


def _bool(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise _Bad("must be true or false (no quotes)")
    return raw


def _lines(max_lines: int = 8, max_len: int = 64) -> Check:
    def check(raw: Any) -> tuple[str, ...]:
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            raise _Bad('must be a list of strings, like ["line 1", "line 2"]')
        if len(raw) > max_lines:
            raise _Bad(f"at most {max_lines} lines")
        for line in raw:
            if len(line) > max_len or not line.isprintable():
                raise _Bad(f"{line!r}: a line is at most {max_len} printable characters")
        return tuple(raw)

    return check


def _abs_path(max_len: int = 4096) -> Check:
    def check(raw: Any) -> Path:
        if not isinstance(raw, str) or not raw.startswith("/") or "\0" in raw:
            raise _Bad('must be an absolute path in quotes, like "/var/lib/posterm/x"')
        if len(raw.encode()) > max_len:
            raise _Bad(f"longer than {max_len} bytes")
        return Path(raw)

    return check


def _pt_url(raw: Any) -> str:
    """A string; its adapter (payment.protocol) decides in `_cross_check` what it opens."""
    if not isinstance(raw, str):
        raise _Bad('must be a string, like "tcp://192.168.1.50:20007"')
    return raw


def _printer_url(raw: Any) -> str:
    if not isinstance(raw, str):
        raise _Bad('must be a string, like "tcp://192.168.1.60:9100"')
    try:
        parse_printer_url(raw)
    except (PrinterConfigError, ValueError) as exc:
        raise _Bad(str(exc)) from None
    return raw


_pin = _integer(0, 27, " (a BCM GPIO number)")


def _mqtt_url(raw: Any) -> str:
    if not isinstance(raw, str):
        raise _Bad('must be a string, like "mqtts://broker.example:8883"')
    try:
        parse_mqtt_url(raw)
    except ValueError as exc:
        raise _Bad(str(exc)) from None
    return raw


def parse_mqtt_url(url: str) -> tuple[bool, str, int]:
    """`mqtt://host[:1883]` or `mqtts://host[:8883]` -> (tls, host, port)."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("mqtt", "mqtts"):
        raise ValueError(f"{url!r}: mqtt://HOST:PORT or mqtts://HOST:PORT")
    host, _, port_text = rest.rstrip("/").rpartition(":") if ":" in rest else (rest, "", "")
    host = host or rest.rstrip("/")
    if not host or "/" in host:
        raise ValueError(f"{url!r}: no host")
    default = 8883 if scheme == "mqtts" else 1883
    if not port_text:
        return scheme == "mqtts", host, default
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"{url!r}: the port is 1-65535")
    return scheme == "mqtts", host, int(port_text)


@dataclass(frozen=True)
class TerminalSection:
    id: str = _opt(check=_text(r"[A-Za-z0-9_-]{1,32}", "1-32 of A-Z a-z 0-9 - _", 32))
    currency: str = _opt("EUR", _choice(*sorted(money.CURRENCIES)))
    merchant_name: str = _opt("posterm", _text(max_len=64))
    merchant_address: tuple[str, ...] = _opt((), _lines())
    receipt_footer: tuple[str, ...] = _opt(("Thank you!",), _lines())


@dataclass(frozen=True)
class JournalSection:
    path: Path = field(default=DEFAULT_JOURNAL, metadata={"check": _abs_path()})


@dataclass(frozen=True)
class PaymentSection:
    url: str = _opt(check=_pt_url)
    password: str = _opt("000000", _text(r"[0-9]{6}", "six digits, like 000000", 6))
    timeout_s: float = _opt(180.0, _seconds(5, 600))
    # which adapter talks to the PT (drivers/payment/registry.py)
    protocol: str = _opt(
        payment_registry.DEFAULT_PROTOCOL, _choice(*payment_registry.protocols())
    )


@dataclass(frozen=True)
class PrinterSection:
    url: str = _opt(check=_printer_url)
    columns: int = _opt(42, _choice(32, 42, 48))
    encoding: str = _opt("cp858", _choice("cp437", "cp858", "gb18030"))
    merchant_copy: bool = _opt(False, _bool)
    timeout_s: float = _opt(5.0, _seconds(0.5, 60))
    job_timeout_s: float = _opt(30.0, _seconds(1, 600))
    boot_slip: bool = _opt(True, _bool)  # one slip at start: id, version, address, host link


@dataclass(frozen=True)
class SystemSection:
    """The process on its machine: the update-inhibit lock and how long a stop may take."""

    update_lock: Path = field(default=DEFAULT_UPDATE_LOCK, metadata={"check": _abs_path()})
    # SIGTERM: the operation in progress finishes (receipt included) within this; keep it
    # ~10 s below the unit's TimeoutStopSec (200 s): the offline status and closing follow.
    stop_timeout_s: float = _opt(190.0, _seconds(5, 3600))


def _page_url(raw: Any) -> str:
    text = _text(r"https?://[!-~]+", "an http:// or https:// URL", 200)(raw)
    return str(text)


@dataclass(frozen=True)
class ControlSection:
    socket: Path = field(default=DEFAULT_SOCKET, metadata={"check": _abs_path(SOCKET_PATH_MAX)})
    group: str | None = _opt(None, _text(r"[a-z_][a-z0-9_-]{0,31}", "a Unix group name", 32))


@dataclass(frozen=True)
class PanelSection:
    enabled: bool = _opt(False, _bool)
    confirm_pin: int = _opt(5, _pin)
    cancel_pin: int = _opt(6, _pin)
    reprint_pin: int = _opt(13, _pin)
    supervisor_pin: int = _opt(19, _pin)
    ready_led_pin: int = _opt(17, _pin)
    busy_led_pin: int = _opt(27, _pin)
    fault_led_pin: int = _opt(22, _pin)
    host_led_pin: int = _opt(23, _pin)
    buzzer_pin: int = _opt(24, _pin)


# Amounts are decimal strings in major units of [terminal] currency; the sections hold
# minor units. AMOUNT_DEFAULTS is the one list of their defaults: `load_config` parses
# them in the configured currency; the dataclass defaults are the same in EUR.
AMOUNT_DEFAULTS = {
    "refunds.approval_limit": "50",
    "refunds.max_amount": "1000",
    "sales.min_amount": None,  # one minor unit
    "sales.max_amount": "1000",
}


def _amount_default(key: str) -> Any:
    text = AMOUNT_DEFAULTS[key]
    return _opt(1 if text is None else money.parse_amount(text, "EUR"))


@dataclass(frozen=True)
class RefundsSection:
    unreferenced: bool = _opt(False, _bool)
    window_days: int = _opt(30, _integer(1, 365, " days"))
    # refunds above it wait for a supervisor or the host
    approval_limit: int = _amount_default("refunds.approval_limit")
    max_amount: int = _amount_default("refunds.max_amount")


@dataclass(frozen=True)
class SalesSection:
    min_amount: int = _amount_default("sales.min_amount")
    max_amount: int = _amount_default("sales.max_amount")


@dataclass(frozen=True)
class LoggingSection:
    level: str = _opt("info", _choice("debug", "info", "warning", "error"))


@dataclass(frozen=True)
class MqttSection:
    """The link to the host (docs/mqtt.md); without [mqtt] the terminal runs alone and
    keeps its outbox."""

    url: str = _opt(check=_mqtt_url)
    ca_file: Path | None = field(default=None, metadata={"check": _abs_path()})
    cert_file: Path | None = field(default=None, metadata={"check": _abs_path()})
    key_file: Path | None = field(default=None, metadata={"check": _abs_path()})
    username: str | None = field(
        default=None, metadata={"check": _text(r"[!-~]{1,64}", "1-64 printable characters")}
    )
    password_file: Path | None = field(default=None, metadata={"check": _abs_path()})
    keepalive_s: int = _opt(60, _integer(5, 3600, " s"))
    telemetry_s: float = _opt(60.0, _seconds(0.5, 3600))
    host_public_key: Path | None = field(default=None, metadata={"check": _abs_path()})
    retention_days: int | None = field(default=None, metadata={"check": _integer(1, 3650, " days")})
    inflight: int = _opt(20, _integer(1, 1000))
    # the back office's page of this terminal ("{terminal}" becomes its id): a QR code on
    # the boot slip
    page_url: str | None = _opt(None, _page_url)


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
    system: SystemSection = field(default_factory=SystemSection)
    mqtt: MqttSection | None = None  # no [mqtt]: the terminal runs alone


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
    "system": SystemSection,
    "mqtt": MqttSection,
}
OPTIONAL_SECTIONS = ("mqtt",)  # absent: None, not the defaults
REQUIRED_SECTIONS = ("terminal", "payment", "printer")


def load_config(path: str | Path) -> Config:
    """Read and check `path`; ConfigError names the file and the dotted key of a problem."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except (OSError, ValueError) as exc:  # TOMLDecodeError, or an integer past int()'s limit
        raise ConfigError(f"{path}: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: arrays or tables nested too deeply") from None

    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(f"{path}: {key}: {message}")

    for name in data:
        if name not in SECTIONS:
            raise fail(name, f"unknown section (known: {', '.join(SECTIONS)})")
        if not isinstance(data[name], dict):
            raise fail(name, f"must be a table: [{name}]")
    for name in REQUIRED_SECTIONS:
        if name not in data:
            raise fail(name, f"required section [{name}] is missing")
    sections = {name: _section(name, cls, data.get(name, {}), fail)
                for name, cls in SECTIONS.items()
                if name in data or name not in OPTIONAL_SECTIONS}  # fmt: skip
    currency = sections["terminal"].currency
    for name in ("refunds", "sales"):
        sections[name] = _amounts(name, sections[name], data.get(name, {}), currency, fail)
    config = Config(path=path, **sections)
    _cross_check(config, fail)
    return config


def _section(name: str, cls: type, raw: dict[str, Any], fail: Any) -> Any:
    known = {f.name: f for f in fields(cls)}
    for key in raw:
        if key not in known:
            raise fail(f"{name}.{key}", f"unknown key (known: {', '.join(known)})")
    values: dict[str, Any] = {}
    for key, spec in known.items():
        check = spec.metadata.get("check")
        if key in raw and check is not None:
            try:
                values[key] = check(raw[key])
            except _Bad as exc:
                raise fail(f"{name}.{key}", str(exc)) from None
        elif spec.default is MISSING and spec.default_factory is MISSING:
            raise fail(f"{name}.{key}", "required key is missing")
    return cls(**values)


def _amounts(name: str, section: Any, raw: dict[str, Any], currency: str, fail: Any) -> Any:
    values: dict[str, Any] = {}
    for f in fields(section):
        if f.metadata.get("check") is not None:
            values[f.name] = getattr(section, f.name)
            continue
        key = f"{name}.{f.name}"
        text = raw.get(f.name, AMOUNT_DEFAULTS[key])
        if text is None:
            values[f.name] = 1
            continue
        if not isinstance(text, str):
            raise fail(key, f'an amount is a decimal string in {currency}, like "50.00"')
        try:
            values[f.name] = money.parse_amount(text, currency)
        except money.AmountError as exc:
            raise fail(key, str(exc)) from None
    return type(section)(**values)


def _check_mqtt(m: MqttSection, fail: Any) -> None:
    tls = parse_mqtt_url(m.url)[0]
    if (m.cert_file is None) != (m.key_file is None):
        raise fail("mqtt.cert_file", "cert_file and key_file go together")
    if not tls and (m.ca_file or m.cert_file):
        raise fail("mqtt.url", "certificates need mqtts://")
    for name in ("ca_file", "cert_file", "key_file", "password_file", "host_public_key"):
        path = getattr(m, name)
        try:
            present = path is None or path.is_file()
        except OSError as exc:  # is_file() raises for a name too long, a directory we may not read
            raise fail(f"mqtt.{name}", f"{path}: {exc.strerror}") from None
        if not present:
            raise fail(f"mqtt.{name}", f"{path}: no such file")
    if m.password_file is not None and m.username is None:
        raise fail("mqtt.password_file", "a password needs a username")
    if m.host_public_key is not None:
        try:
            load_public_key(m.host_public_key.read_bytes())
        except (OSError, ValueError) as exc:
            raise fail("mqtt.host_public_key", str(exc)) from None


def _cross_check(c: Config, fail: Any) -> None:
    try:
        payment_registry.check_url(c.payment.protocol, c.payment.url)  # the adapter decides
    except (PaymentConfigError, ValueError) as exc:
        raise fail("payment.url", str(exc)) from None
    if c.mqtt is not None:
        _check_mqtt(c.mqtt, fail)
    if c.sales.min_amount > c.sales.max_amount:
        raise fail("sales.min_amount", "is above sales.max_amount")
    seen: dict[int, str] = {}
    for f in fields(PanelSection):
        if f.name.endswith("_pin"):
            pin = getattr(c.panel, f.name)
            if pin in seen:
                raise fail("panel", f"panel.{f.name} and panel.{seen[pin]} are both GPIO {pin}")
            seen[pin] = f.name
