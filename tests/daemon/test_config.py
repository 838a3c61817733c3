"""postermd's TOML config: typed frozen sections, defaults, and a refusal naming the file
and the dotted key for every kind of bad input."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from posterm.daemon.config import SECTIONS, Config, ConfigError, load_config
from posterm.protocol.config import keys

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "posterm.toml.example"
MINIMAL = """
[terminal]
id = "pos-1"
[payment]
url = "tcp://127.0.0.1:20007"
[printer]
url = "tcp://127.0.0.1:9100"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "posterm.toml"
    path.write_text(text, encoding="utf-8")
    return path


def with_keys(section: str, lines: str) -> str:
    """MINIMAL with `lines` set in `section` (replacing a key MINIMAL has there)."""
    marker = f"[{section}]\n"
    if marker not in MINIMAL:
        return MINIMAL + marker + lines + "\n"
    head, rest = MINIMAL.split(marker)
    body, sep, tail = rest.partition("\n[")
    given = {line.split(" = ")[0] for line in lines.splitlines()}
    kept = [line for line in body.splitlines() if line.split(" = ")[0] not in given]
    return head + marker + "\n".join([*kept, lines]) + "\n" + sep + tail


def test_the_example_loads_with_its_documented_values() -> None:
    config = load_config(EXAMPLE)
    assert config.terminal.id == "CHANGE-ME" and config.terminal.currency == "EUR"
    assert config.terminal.merchant_address == ("Hauptstraße 1", "10115 Berlin")
    assert config.payment.url == "serial:///dev/posterm-pt?baud=9600"
    assert config.refunds.approval_limit == 5000 and config.sales.min_amount == 1
    assert config.panel.enabled is False and config.control.group is None


def test_the_example_documents_every_key() -> None:
    """GIVEN the example WHEN its keys are collected (commented-out ones included) THEN
    every key of every section is there, and nothing else."""
    text = EXAMPLE.read_text(encoding="utf-8")
    documented: set[str] = set()
    section = ""
    for line in text.splitlines():
        if match := re.match(r"^#? ?\[(\w+)\]", line):  # a section left out: commented
            section = match.group(1)
        elif match := re.match(r"^#? ?(\w+) = ", line):
            documented.add(f"{section}.{match.group(1)}")
    expected = {f"{name}.{f.encode_name}" for name, cls in SECTIONS.items() for f in keys(cls)}
    assert documented == expected
    assert set(tomllib.loads(text)) == set(SECTIONS) - {"refund_link"}  # it needs a key file


def test_given_the_required_keys_only_then_defaults_a_pi_engineer_expects(
    tmp_path: Path,
) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    assert isinstance(config, Config) and config.path == tmp_path / "posterm.toml"
    assert config.terminal.currency == "EUR" and config.terminal.receipt_footer == ("Thank you!",)
    assert config.journal.path == Path("/var/lib/posterm/journal.db")
    assert config.payment.password == "000000" and config.payment.timeout_s == 180.0
    assert config.payment.protocol == "zvt"  # a config written before the key still works
    assert (config.printer.profile, config.printer.encoding) == ("default", "cp858")
    assert config.printer.columns is None  # the profile's: 42 for the generic 80 mm one
    assert config.printer.merchant_copy is False
    assert config.control.socket == Path("/run/posterm/control.sock")
    assert config.refunds.unreferenced is False and config.refunds.window_days == 30
    assert config.refunds.approval_limit == 5000 and config.refunds.max_amount == 100000
    assert (config.sales.min_amount, config.sales.max_amount) == (1, 100000)
    assert config.logging.level == "info" and config.panel.enabled is False
    with pytest.raises(AttributeError):
        config.printer.columns = 32  # type: ignore[misc]


def test_given_a_currency_without_decimals_then_amount_defaults_follow_it(
    tmp_path: Path,
) -> None:
    config = load_config(write(tmp_path, with_keys("terminal", 'currency = "JPY"')))
    assert config.refunds.approval_limit == 50 and config.sales.max_amount == 1000
    assert config.sales.min_amount == 1
    text = with_keys("terminal", 'currency = "JPY"') + '[sales]\nmax_amount = "5000"\n'
    assert load_config(write(tmp_path, text)).sales.max_amount == 5000
    bad = with_keys("terminal", 'currency = "JPY"') + '[refunds]\napproval_limit = "50.00"\n'
    with pytest.raises(ConfigError, match=r"refunds\.approval_limit: .*JPY has no minor unit"):
        load_config(write(tmp_path, bad))


def test_valid_values_of_every_kind_are_taken(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        'url = "tcp://127.0.0.1:20007"',
        'url = "serial:///dev/ttyACM0?baud=115200&stopbits=1"\npassword = "123456"\ntimeout_s = 5',
    )
    text = text.replace(
        'url = "tcp://127.0.0.1:9100"',
        'url = "usb://04b8:0e15"\n'
        'profile = "posterm-gb18030-80mm"\ncolumns = 32\nencoding = "gb18030"\n'
        "merchant_copy = true\ntimeout_s = 0.5",
    )
    text += (
        '[control]\nsocket = "/tmp/p.sock"\ngroup = "posterm"\n'
        "[panel]\nenabled = true\nconfirm_pin = 0\nbuzzer_pin = 27\nbusy_led_pin = 26\n"
        '[refunds]\nwindow_days = 365\napproval_limit = "0.01"\nmax_amount = "99.99"\n'
        '[sales]\nmin_amount = "1"\nmax_amount = "1"\n[logging]\nlevel = "debug"\n'
    )
    config = load_config(write(tmp_path, text))
    assert config.payment.password == "123456" and config.payment.timeout_s == 5.0
    assert config.printer.url == "usb://04b8:0e15" and config.printer.columns == 32
    assert config.printer.merchant_copy is True and config.printer.timeout_s == 0.5
    assert config.control.group == "posterm" and config.panel.buzzer_pin == 27
    assert (config.refunds.approval_limit, config.refunds.max_amount) == (1, 9999)
    assert (config.sales.min_amount, config.sales.max_amount) == (100, 100)


BAD = [
    # (section, lines, dotted key, what the message says)
    ("terminal", 'id = "pos 1!"', "terminal.id", "not 1-32"),
    ("terminal", 'id = ""', "terminal.id", "1-32 printable"),
    ("terminal", 'id = "' + "x" * 33 + '"', "terminal.id", "1-32 printable"),
    ("terminal", "id = 7", "terminal.id", "string in quotes"),
    ("terminal", 'currency = "XXX"', "terminal.currency", "'XXX' is not one of"),
    ("terminal", 'currency = "eur"', "terminal.currency", "not one of"),
    ("terminal", 'merchant_name = ""', "terminal.merchant_name", "1-64 printable"),
    ("terminal", 'merchant_name = "a\\tb"', "terminal.merchant_name", "printable"),
    ("terminal", 'merchant_address = "1 Street"', "terminal.merchant_address", "list of str"),
    ("terminal", "merchant_address = [1]", "terminal.merchant_address", "list of strings"),
    ("terminal", 'receipt_footer = ["' + "y" * 65 + '"]', "terminal.receipt_footer", "at most 64"),
    (
        "terminal",
        "receipt_footer = " + str(["z"] * 9).replace("'", '"'),
        "terminal.receipt_footer",
        "at most 8 lines",
    ),
    ("terminal", "colour = 1", "terminal.colour", "unknown key"),
    ("journal", 'path = "journal.db"', "journal.path", "absolute path"),
    ("journal", "path = 5", "journal.path", "absolute path"),
    ("payment", 'url = "http://x"', "payment.url", "tcp://HOST:PORT"),
    ("payment", 'url = "tcp://host:99999"', "payment.url", "bad port"),
    ("payment", 'url = "serial:///dev/ttyUSB0?baud=1234"', "payment.url", "baud"),
    ("payment", 'url = "serial:///dev/ttyUSB0?speed=9600"', "payment.url", "unknown option"),
    ("payment", "password = 123456", "payment.password", "string in quotes"),
    ("payment", 'password = "12345"', "payment.password", "six digits"),
    ("payment", 'password = "12345a"', "payment.password", "six digits"),
    ("payment", "timeout_s = 4", "payment.timeout_s", "out of range 5-600"),
    ("payment", "timeout_s = 601", "payment.timeout_s", "out of range"),
    ("payment", 'timeout_s = "60"', "payment.timeout_s", "number of seconds"),
    ("payment", "timeout_s = nan", "payment.timeout_s", "out of range"),
    ("payment", 'protocol = "zvt2"', "payment.protocol", "'zvt2' is not one of fake, zvt"),
    ("payment", "protocol = 1", "payment.protocol", "not one of"),
    ("payment", 'url = "fake://"', "payment.url", "tcp://HOST:PORT"),  # protocol zvt
    ("payment", 'protocol = "fake"\nurl = "tcp://127.0.0.1:20007"', "payment.url", "fake://"),
    ("printer", 'url = "lpt1"', "printer.url", "printer url"),
    ("printer", 'url = "usb://04b8"', "printer.url", "VID:PID"),
    ("printer", "columns = 43", "printer.columns", "profile 'default' prints 42 columns"),
    ("printer", "columns = 20", "printer.columns", "out of range 24-64"),
    ("printer", 'columns = "42"', "printer.columns", "whole number 24-64"),
    ("printer", 'profile = "TM-T20"', "printer.profile", "known: TM-T20II, TM-T20II-42col"),
    ("printer", 'profile = "NT-5890K"', "printer.profile", "profile 'NT-5890K' has no cutter"),
    ("printer", 'profile = "NT-80-V-UL"', "printer.profile", "'NT-80-V-UL' prints 12 columns"),
    ("printer", 'profile = "TM-T20II"\nencoding = "gb18030"', "printer.encoding", "GB18030"),
    ("printer", 'profile = "TM-U220B"', "printer.encoding", "no code page cp858 (it has cp437)"),
    ("printer", "profile = 1", "printer.profile", "string"),
    ("printer", 'encoding = "utf-8"', "printer.encoding", "not one of cp437, cp858, gb18030"),
    ("printer", 'merchant_copy = "yes"', "printer.merchant_copy", "true or false"),
    ("printer", "merchant_copy = 1", "printer.merchant_copy", "true or false"),
    ("printer", "timeout_s = 0", "printer.timeout_s", "out of range 0.5-60"),
    ("control", 'socket = "/run/' + "s" * 120 + '"', "control.socket", "longer than 107"),
    ("control", 'socket = "control.sock"', "control.socket", "absolute path"),
    ("control", 'group = "Bad Group"', "control.group", "Unix group name"),
    ("panel", "enabled = 1", "panel.enabled", "true or false"),
    ("panel", "confirm_pin = 28", "panel.confirm_pin", "out of range 0-27"),
    ("panel", "buzzer_pin = -1", "panel.buzzer_pin", "out of range"),
    ("panel", "ready_led_pin = 17.0", "panel.ready_led_pin", "whole number"),
    ("panel", "reprint_pin = true", "panel.reprint_pin", "whole number"),
    ("refunds", 'unreferenced = "no"', "refunds.unreferenced", "true or false"),
    ("refunds", "window_days = 0", "refunds.window_days", "out of range 1-365"),
    ("refunds", "window_days = 366", "refunds.window_days", "out of range"),
    ("refunds", "approval_limit = 50", "refunds.approval_limit", "decimal string"),
    ("refunds", 'approval_limit = "50,00"', "refunds.approval_limit", "not an amount"),
    ("refunds", 'max_amount = "0"', "refunds.max_amount", "more than zero"),
    ("sales", 'max_amount = "1.234"', "sales.max_amount", "more than 2 decimals"),
    ("sales", 'min_amount = "-1"', "sales.min_amount", "not an amount"),
    ("sales", 'min_amount = "20.00"\nmax_amount = "10.00"', "sales.min_amount", "above"),
    ("sales", 'max_amout = "10.00"', "sales.max_amout", "unknown key"),
    ("logging", 'level = "loud"', "logging.level", "not one of debug, info"),
    ("logging", 'level = "INFO"', "logging.level", "not one of"),
    ("mqtt", 'url = "http://broker:1883"', "mqtt.url", "mqtt://HOST:PORT"),
    ("mqtt", 'url = "mqtt://broker:0"', "mqtt.url", "1-65535"),
    ("mqtt", 'url = "mqtt://"', "mqtt.url", "no host"),
    ("mqtt", "keepalive_s = 7", "mqtt.url", "required key"),
    ("mqtt", 'url = "mqtt://b"\nkeepalive_s = 1', "mqtt.keepalive_s", "out of range"),
    ("mqtt", 'url = "mqtt://b"\ninflight = 0', "mqtt.inflight", "out of range"),
    ("mqtt", 'url = "mqtt://b"\nack_wait_s = 0.5', "mqtt.ack_wait_s", "out of range"),
    ("mqtt", 'url = "mqtt://b"\nack_wait_s = "30"', "mqtt.ack_wait_s", "seconds 1-3600"),
    ("mqtt", 'url = "mqtt://b"\nretention_days = 0', "mqtt.retention_days", "out of range"),
    (
        "mqtt",
        'url = "mqtt://b"\nhost_public_key = "/no/such.pub"',
        "mqtt.host_public_key",
        "no such file",
    ),
    (
        "mqtt",
        'url = "mqtt://b"\nhost_public_key = "/etc/hostname"',
        "mqtt.host_public_key",
        "not a PEM public key",
    ),
    ("mqtt", 'url = "mqtt://b"\nca_file = "/etc/hostname"', "mqtt.url", "need mqtts://"),
    ("mqtt", 'url = "mqtts://b"\ncert_file = "/etc/hostname"', "mqtt.cert_file", "go together"),
    (
        "mqtt",
        'url = "mqtt://b"\npassword_file = "/etc/hostname"',
        "mqtt.password_file",
        "needs a username",
    ),
    ("mqtt", 'url = "mqtt://b"\nbroker = "x"', "mqtt.broker", "unknown key"),
]


def test_without_mqtt_the_terminal_runs_alone_and_with_it_the_defaults_hold(
    tmp_path: Path,
) -> None:
    assert load_config(write(tmp_path, MINIMAL)).mqtt is None
    mqtt = load_config(write(tmp_path, with_keys("mqtt", 'url = "mqtts://b"'))).mqtt
    assert mqtt is not None and (mqtt.keepalive_s, mqtt.telemetry_s, mqtt.inflight) == (60, 60, 20)
    assert mqtt.retention_days is None and mqtt.host_public_key is None


@pytest.mark.parametrize(("section", "lines", "key", "why"), BAD)
def test_given_a_bad_value_then_the_error_names_file_and_key(
    tmp_path: Path, section: str, lines: str, key: str, why: str
) -> None:
    path = write(tmp_path, with_keys(section, lines))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert why in message, message


def test_given_two_panel_functions_on_one_pin_then_both_keys_are_named(tmp_path: Path) -> None:
    path = write(tmp_path, with_keys("panel", "buzzer_pin = 5"))
    why = "panel: panel.buzzer_pin and panel.confirm_pin are both GPIO 5"
    with pytest.raises(ConfigError, match=re.escape(why)):
        load_config(path)


@pytest.mark.parametrize(
    ("text", "key", "why"),
    [
        (MINIMAL.replace('id = "pos-1"', ""), "terminal.id", "required key is missing"),
        (MINIMAL.replace('url = "tcp://127.0.0.1:20007"', ""), "payment.url", "required key"),
        (MINIMAL.replace('url = "tcp://127.0.0.1:9100"', ""), "printer.url", "required key"),
        (MINIMAL.replace("[payment]", "[paymnet]"), "paymnet", "unknown section"),
        ('[terminal]\nid = "a"\n[printer]\nurl = "tcp://h:1"\n', "payment", "required section"),
        ("logging = 5\n" + MINIMAL, "logging", "must be a table"),
    ],
)
def test_given_a_missing_or_misplaced_part_then_it_is_named(
    tmp_path: Path, text: str, key: str, why: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=f"^{re.escape(str(path))}: {key}: .*{why}"):
        load_config(path)


def test_given_a_file_that_cannot_be_read_then_the_path_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.toml: no such file"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match=re.escape(str(tmp_path))):
        load_config(tmp_path)  # a directory
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(MINIMAL.encode() + '[terminal2]\nname = "Caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin1\.toml: not UTF-8"):
        load_config(latin1)
    broken = write(tmp_path, MINIMAL + "[printer\n")
    with pytest.raises(ConfigError, match=r"posterm.toml: .*line 8"):
        load_config(broken)
