"""postermd's and posterm-host's configs through the one kit: the same refusals, naming
the file and the dotted key at every level, and the same MQTT URL parser on both sides."""

from __future__ import annotations

from pathlib import Path

import pytest

from posterm.daemon import config as daemon_config
from posterm.daemon.sync.link import Link
from posterm.host import config as host_config
from posterm.host.mqtt_client import broker_address
from posterm.host.notify.config import NotifyConfigError, parse
from posterm.protocol import config as kit

DAEMON = """[terminal]\nid = "pos-1"\n[payment]\nurl = "tcp://127.0.0.1:20007"
[printer]\nurl = "tcp://127.0.0.1:9100"\n"""
HOST = '[host]\nid = "hq"\n[mqtt]\nurl = "mqtt://x"\n'
HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"


def refusal(load: object, tmp_path: Path, text: str) -> str:
    path = tmp_path / "x.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(kit.ConfigError) as info:
        load(path)  # type: ignore[operator]
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    return message[len(f"{path}: ") :]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("colour = 1\n" + DAEMON, "colour: unknown section (known: terminal, payment, printer,"),
        (DAEMON + "colour = 1\n", "printer.colour: unknown key (known: url, columns,"),
        (DAEMON + '[mqtt]\nurl = "mqtt://b"\nbroker = 1\n', "mqtt.broker: unknown key"),
    ],
)
def test_postermd_refuses_an_unknown_key_at_each_level(
    tmp_path: Path, text: str, said: str
) -> None:
    """GIVEN a postermd config with a key it does not read WHEN loaded THEN ConfigError
    (the kit's) names the file and the key."""
    assert refusal(daemon_config.load_config, tmp_path, text).startswith(said)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("colour = 1\n" + HOST, "colour: unknown section (known: host, mqtt, store, keys, web,"),
        (HOST + "colour = 1\n", "mqtt.colour: unknown key (known: url, ca_file,"),
        (
            HOST
            + f'[[web.users]]\nname = "a"\npassword_hash = "{HASH}"\nrole = "viewer"\nmail = 1\n',
            "web.users[0].mail: unknown key (known: name, password_hash, role)",
        ),
        (
            HOST + '[[webhooks]]\nurl = "https://h"\nsecret_file = "/s"\nevents = ["alert.*"]\n'
            "retries = 2\n",
            "webhooks[0].retries: unknown key (known: url, secret_file, events,",
        ),
        (
            HOST + '[notify]\nmerchant_name = "S"\n[notify.sms]\nurl = "https://gw/x"\n'
            'body = {to = "$to", text = "$text"}\nretries = 2\n',
            "notify.sms.retries: unknown key",
        ),
    ],
)
def test_posterm_host_refuses_an_unknown_key_at_each_level(
    tmp_path: Path, text: str, said: str
) -> None:
    """GIVEN a posterm-host config with a key it does not read, at the top, in a section, in
    an array of tables or a nested table WHEN loaded THEN HostConfigError names the key."""
    assert refusal(host_config.load, tmp_path, text).startswith(said)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://broker", "'http://broker': mqtt://HOST:PORT or mqtts://HOST:PORT"),
        ("mqtt://", "'mqtt://': no host"),
        ("mqtt://broker:70000", "'mqtt://broker:70000': the port is 1-65535"),
        ("mqtt://broker/topic", "'mqtt://broker/topic': no host"),
    ],
)
def test_both_programs_refuse_a_bad_broker_url_alike(tmp_path: Path, url: str, why: str) -> None:
    """GIVEN the same bad broker URL in postermd's and posterm-host's [mqtt] WHEN loaded
    THEN both refuse it with the same words: one parser."""
    daemon = refusal(daemon_config.load_config, tmp_path, DAEMON + f'[mqtt]\nurl = "{url}"\n')
    host = refusal(host_config.load, tmp_path, f'[host]\nid = "hq"\n[mqtt]\nurl = "{url}"\n')
    assert daemon == host == f"mqtt.url: {why}"


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("mqtt://broker", ("broker", 1883)),
        ("mqtts://broker", ("broker", 8883)),
        ("mqtts://broker:9883/", ("broker", 9883)),
        ("mqtt://[::1]:1884", ("::1", 1884)),
    ],
)
def test_both_programs_read_a_broker_url_alike(
    tmp_path: Path, url: str, address: tuple[str, int]
) -> None:
    """GIVEN a broker URL WHEN postermd's link and posterm-host's service take it THEN both
    connect to the same host and port."""
    path = tmp_path / "x.toml"
    path.write_text(DAEMON + f'[mqtt]\nurl = "{url}"\n', encoding="utf-8")
    mqtt = daemon_config.load_config(path).mqtt
    assert mqtt is not None
    link = Link(mqtt, "pos-1")
    path.write_text(f'[host]\nid = "hq"\n[mqtt]\nurl = "{url}"\n', encoding="utf-8")
    assert (link.host, link.port) == broker_address(host_config.load(path)) == address


def test_a_file_name_too_long_for_the_system_is_refused_naming_the_key() -> None:
    """GIVEN [notify] naming a password file whose name is longer than the system takes
    WHEN read THEN NotifyConfigError names the key (not an OSError from is_file)."""
    table = {
        "merchant_name": "Shop",
        "smtp_url": "smtp://mail:587",
        "from": "r@shop.example",
        "smtp_user": "u",
        "smtp_password_file": "/" + "x" * 300,
    }
    with pytest.raises(NotifyConfigError) as err:
        parse(table)
    assert err.value.key == "notify.smtp_password_file" and "too long" in err.value.why
