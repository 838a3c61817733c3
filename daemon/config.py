"""postermd's configuration: TOML read once at start-up into typed, range-checked sections
(the config kit, protocol/config)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import msgspec

from posterm.daemon.statuslink import read_key
from posterm.drivers.payment import registry as payment_registry
from posterm.drivers.payment.errors import PaymentConfigError
from posterm.drivers.printer import profile as printer_profile
from posterm.drivers.printer.errors import PrinterConfigError
from posterm.drivers.printer.url import parse_url as parse_printer_url
from posterm.protocol import config as kit
from posterm.protocol import money
from posterm.protocol.config import (
    CheckedText,
    Refused,
    Section,
    between,
    lines,
    one_of,
    seconds,
    text,
)
from posterm.protocol.mqtt import keyring
from posterm.protocol.mqtt.url import MqttUrl, parse_mqtt_url

__all__ = ["Config", "ConfigError", "MqttSection", "load_config", "parse_mqtt_url"]

SOCKET_PATH_MAX = 107  # sun_path on Linux, less the terminating NUL
DEFAULT_JOURNAL = Path("/var/lib/posterm/journal.db")
DEFAULT_SOCKET = Path("/run/posterm/control.sock")
DEFAULT_UPDATE_LOCK = Path("/run/posterm/update.lock")
FILE_KEY = "(file)"  # Config.path: set by the loader, refused in the TOML


class ConfigError(kit.ConfigError):
    """The configuration cannot be used; the message names the file and the key."""


class PtUrl(CheckedText):
    """A string; its adapter (payment.protocol) decides in PaymentSection what it opens."""

    RULE = "tcp://HOST:PORT or serial:///dev/DEVICE?baud=…"
    EXAMPLE = "tcp://192.168.1.50:20007"


class PrinterUrl(CheckedText):
    RULE = "tcp://HOST:PORT, serial:///dev/DEVICE?baud=… or usb://VID:PID"
    EXAMPLE = "tcp://192.168.1.60:9100"

    @staticmethod
    def check(raw: str) -> object:
        return parse_printer_url(raw)  # PrinterConfigError is a ValueError


class Amount(int):
    """Minor units of [terminal] currency, written in TOML as a decimal string in major
    units; the loader converts it in the configured currency (`load_config`)."""


Pin = Annotated[int, between(0, 27, " (a BCM GPIO number)")]
Lines = Annotated[tuple[str, ...], lines(8, 64)]
AbsPath = Path  # checked by the kit: absolute, at most 4096 bytes


class TerminalSection(Section, frozen=True):
    id: Annotated[str, text(r"[A-Za-z0-9_-]{1,32}", "1-32 of A-Z a-z 0-9 - _", 32)]
    currency: Annotated[str, one_of(*sorted(money.CURRENCIES))] = "EUR"
    merchant_name: Annotated[str, text(max_len=64)] = "posterm"
    merchant_address: Lines = ()
    receipt_footer: Lines = ("Thank you!",)


class JournalSection(Section, frozen=True):
    path: AbsPath = DEFAULT_JOURNAL


class PaymentSection(Section, frozen=True):
    url: PtUrl
    password: Annotated[str, text(r"[0-9]{6}", "six digits, like 000000", 6)] = "000000"
    timeout_s: Annotated[float, seconds(5, 600)] = 180.0
    # which adapter talks to the PT (drivers/payment/registry.py)
    protocol: Annotated[str, one_of(*payment_registry.protocols())] = (
        payment_registry.DEFAULT_PROTOCOL
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        try:
            payment_registry.check_url(self.protocol, self.url)  # the adapter decides
        except (PaymentConfigError, ValueError) as exc:
            raise Refused(str(exc), "url") from None


class PrinterSection(Section, frozen=True):
    url: PrinterUrl
    columns: Annotated[int, between(printer_profile.MIN_COLUMNS, 64)] | None = None  # profile's
    # the model, by its python-escpos profile (escpos-printer-db) or one of posterm's
    # additions (drivers/printer/profile.py): columns, code pages, cutter, QR codes
    profile: Annotated[str, text(max_len=64)] = printer_profile.DEFAULT
    encoding: Annotated[str, one_of("cp437", "cp858", "gb18030")] = "cp858"
    merchant_copy: bool = False
    timeout_s: Annotated[float, seconds(0.5, 60)] = 5.0
    job_timeout_s: Annotated[float, seconds(1, 600)] = 30.0
    boot_slip: bool = True  # one slip at start: id, version, address, host link

    def __post_init__(self) -> None:
        super().__post_init__()
        try:  # the profile exists and can print what the config asks, or start-up stops
            printer_profile.load(self.profile).check(self.encoding, self.columns)
        except printer_profile.ProfileMismatch as exc:
            raise Refused(str(exc).removeprefix("printer: "), exc.key) from None
        except PrinterConfigError as exc:
            raise Refused(str(exc).removeprefix("printer: "), "profile") from None


class SystemSection(Section, frozen=True):
    """The process on its machine: the update-inhibit lock and how long a stop may take."""

    update_lock: AbsPath = DEFAULT_UPDATE_LOCK
    # SIGTERM: the operation in progress finishes (receipt included) within this; keep it
    # ~10 s below the unit's TimeoutStopSec (200 s): the offline status and closing follow.
    stop_timeout_s: Annotated[float, seconds(5, 3600)] = 190.0


class ControlSection(Section, frozen=True):
    socket: Annotated[Path, msgspec.Meta(extra={"max_bytes": SOCKET_PATH_MAX})] = DEFAULT_SOCKET
    group: Annotated[str, text(r"[a-z_][a-z0-9_-]{0,31}", "a Unix group name", 32)] | None = None


class PanelSection(Section, frozen=True):
    enabled: bool = False
    confirm_pin: Pin = 5
    cancel_pin: Pin = 6
    reprint_pin: Pin = 13
    supervisor_pin: Pin = 19
    ready_led_pin: Pin = 17
    busy_led_pin: Pin = 27
    fault_led_pin: Pin = 22
    host_led_pin: Pin = 23
    buzzer_pin: Pin = 24

    def __post_init__(self) -> None:
        super().__post_init__()
        seen: dict[int, str] = {}
        for info in kit.keys(PanelSection):
            if info.name.endswith("_pin"):
                pin = getattr(self, info.name)
                if pin in seen:
                    raise Refused(f"panel.{info.name} and panel.{seen[pin]} are both GPIO {pin}")
                seen[pin] = info.name


# Amounts are decimal strings in major units of [terminal] currency; the sections hold
# minor units. AMOUNT_DEFAULTS is the one list of their defaults: `load_config` parses
# them in the configured currency; the Struct defaults are the same in EUR.
AMOUNT_DEFAULTS = {
    "refunds.approval_limit": "50",
    "refunds.max_amount": "1000",
    "sales.min_amount": None,  # one minor unit
    "sales.max_amount": "1000",
}


def _amount_default(key: str) -> Amount:
    text = AMOUNT_DEFAULTS[key]
    return Amount(1 if text is None else money.parse_amount(text, "EUR"))


class RefundsSection(Section, frozen=True):
    unreferenced: bool = False
    window_days: Annotated[int, between(1, 365, " days")] = 30
    # refunds above it wait for a supervisor or the host
    approval_limit: Amount = _amount_default("refunds.approval_limit")
    max_amount: Amount = _amount_default("refunds.max_amount")


class SalesSection(Section, frozen=True):
    min_amount: Amount = _amount_default("sales.min_amount")
    max_amount: Amount = _amount_default("sales.max_amount")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.min_amount > self.max_amount:
            raise Refused("is above sales.max_amount", "min_amount")


class LoggingSection(Section, frozen=True):
    level: Annotated[str, one_of("debug", "info", "warning", "error")] = "info"


class MqttSection(Section, frozen=True):
    """The link to the host (docs/mqtt.md); without [mqtt] the terminal runs alone and
    keeps its outbox."""

    url: MqttUrl
    ca_file: AbsPath | None = None
    cert_file: AbsPath | None = None
    key_file: AbsPath | None = None
    username: Annotated[str, text(r"[!-~]{1,64}", "1-64 printable characters", 64)] | None = None
    password_file: AbsPath | None = None
    keepalive_s: Annotated[int, between(5, 3600, " s")] = 60
    telemetry_s: Annotated[float, seconds(0.5, 3600)] = 60.0
    host_public_key: AbsPath | None = None
    retention_days: Annotated[int, between(1, 3650, " days")] | None = None
    inflight: Annotated[int, between(1, 1000)] = 20
    # events sent and not acknowledged this long, with nothing else to send, go again (the
    # host may have lost them: its broker session, say)
    ack_wait_s: Annotated[float, seconds(1, 3600)] = 30.0
    # the back office's page of this terminal ("{terminal}" becomes its id): a QR code on
    # the boot slip
    page_url: Annotated[str, text(r"https?://[!-~]+", "an http:// or https:// URL")] | None = None
    # the back office `posterm enroll` used: postermd renews its client certificate there
    # (POST /api/renew) when less than renew_before_days are left (default: a third of the
    # certificate's lifetime)
    renew_url: Annotated[str, text(r"https?://[!-~]+", "an http:// or https:// URL")] | None = None
    renew_before_days: Annotated[float, between(0.01, 3650, " days")] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        tls = parse_mqtt_url(self.url).tls
        if (self.cert_file is None) != (self.key_file is None):
            raise Refused("cert_file and key_file go together", "cert_file")
        if not tls and (self.ca_file or self.cert_file):
            raise Refused("certificates need mqtts://", "url")
        for name in ("ca_file", "cert_file", "key_file", "password_file", "host_public_key"):
            kit.require_file(getattr(self, name), name)
        if self.renew_url is not None and self.cert_file is None:
            raise Refused("renewal needs a client certificate (cert_file)", "renew_url")
        if self.password_file is not None and self.username is None:
            raise Refused("a password needs a username", "password_file")
        if self.host_public_key is not None:
            try:
                keyring.parse(self.host_public_key.read_bytes())
            except (OSError, ValueError) as exc:
                raise Refused(str(exc), "host_public_key") from None


class RefundLinkSection(Section, frozen=True):
    """The customer's refund status link, a QR code on the voucher (daemon/statuslink.py);
    without [refund_link] vouchers carry none. `posterm enroll` writes it when the back
    office serves the page."""

    # the back office's public page; a link is `{url}/r/{token}`
    # (as posterm-host's [public] url accepts it)
    url: Annotated[
        str, text(r"https?://[^\s/?#]+(/[^\s?#]*)?", "http(s)://HOST[/PATH], no query", 200)
    ]
    key_file: AbsPath  # this terminal's link key: 64 hex digits, a 0600 or 0640 file
    link_days: Annotated[int, between(1, 3650, " days")] = 60

    def __post_init__(self) -> None:
        super().__post_init__()
        try:
            read_key(self.key_file)
        except ValueError as exc:
            raise Refused(str(exc), "key_file") from None


class Config(Section, frozen=True):
    """The whole file: the sections, and the file it was read from (`path`)."""

    terminal: TerminalSection
    payment: PaymentSection
    printer: PrinterSection
    journal: JournalSection = JournalSection()
    control: ControlSection = ControlSection()
    panel: PanelSection = PanelSection()
    refunds: RefundsSection = RefundsSection()
    sales: SalesSection = SalesSection()
    logging: LoggingSection = LoggingSection()
    system: SystemSection = SystemSection()
    mqtt: MqttSection | None = None  # no [mqtt]: the terminal runs alone
    refund_link: RefundLinkSection | None = None  # none: vouchers without a status link
    path: Path = msgspec.field(default=Path("posterm.toml"), name=FILE_KEY)


SECTIONS: dict[str, type[Section]] = {
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
    "refund_link": RefundLinkSection,
}
OPTIONAL_SECTIONS = ("mqtt", "refund_link")  # absent: None, not the defaults
REQUIRED_SECTIONS = ("terminal", "payment", "printer")


def load_config(path: str | Path) -> Config:
    """Read and check `path`; ConfigError names the file and the dotted key of a problem."""
    path = Path(path)
    data = kit.read_toml(path, ConfigError)
    terminal = data.get("terminal")
    currency = terminal.get("currency") if isinstance(terminal, dict) else None
    if not isinstance(currency, str) or currency not in money.CURRENCIES:
        currency = "EUR"  # the amounts' currency; a bad one is refused under its key
    for key, default in AMOUNT_DEFAULTS.items():
        section, _, name = key.partition(".")
        table = data.setdefault(section, {})
        if isinstance(table, dict) and default is not None:
            table.setdefault(name, default)

    def amount(raw: Any) -> Amount:
        if not isinstance(raw, str):
            raise Refused(f'an amount is a decimal string in {currency}, like "50.00"')
        try:
            return Amount(money.parse_amount(raw, currency))
        except money.AmountError as exc:
            raise Refused(str(exc)) from None

    if FILE_KEY in data:
        raise ConfigError(FILE_KEY, "unknown section", path)
    config = kit.convert(data, Config, ConfigError, file=path, hooks={Amount: amount})
    msgspec.structs.force_setattr(config, "path", path)
    return config


def as_dict(config: Config) -> dict[str, Any]:
    """The effective config as plain data (paths as strings), keys as in the file."""
    data: dict[str, Any] = msgspec.to_builtins(config, enc_hook=str)
    data["path"] = data.pop(FILE_KEY)
    return data
