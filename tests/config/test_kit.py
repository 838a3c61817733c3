"""The config kit (protocol/config): a TOML file converted into typed Structs, and every
refusal naming the file and the dotted key, in words (not msgspec's)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest

from posterm.protocol import config as kit
from posterm.protocol.config import Refused, Section, between, lines, one_of, seconds, text
from posterm.protocol.mqtt.url import MqttUrl


class KitError(kit.ConfigError):
    """The error class a program built on the kit raises."""


class Hook(Section, frozen=True):
    url: Annotated[str, text(r"https?://\S+", "an http:// or https:// URL")]
    tries: Annotated[int, between(1, 10)] = 3


class Link(Section, frozen=True):
    url: MqttUrl
    wait_s: Annotated[float, seconds(0.5, 60)] = 5.0
    mode: Annotated[str, one_of("fast", "safe")] = "safe"
    banner: Annotated[tuple[str, ...], lines(2, 8)] = ()
    pin: Annotated[int, between(0, 27, " (a GPIO)")] = 5
    key_file: Path | None = None
    ready: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mode == "fast" and self.key_file is not None:
            raise Refused("a key needs mode safe", "key_file")


class Doc(Section, frozen=True):
    link: Link
    hooks: tuple[Hook, ...] = ()
    extra: Link | None = None


def load(tmp_path: Path, toml: str) -> Doc:
    path = tmp_path / "app.toml"
    path.write_text(toml, encoding="utf-8")
    return kit.convert(kit.read_toml(path, KitError), Doc, KitError, file=path)


def refusal(tmp_path: Path, toml: str) -> str:
    with pytest.raises(KitError) as info:
        load(tmp_path, toml)
    return str(info.value)


def assert_refused(tmp_path: Path, toml: str, key: str, why: str) -> None:
    """The file is refused with `FILE: key: why…`."""
    message = refusal(tmp_path, toml)
    assert message.startswith(f"{tmp_path / 'app.toml'}: {key}: {why}"), message


GOOD = '[link]\nurl = "mqtt://broker"\n'


def test_a_good_file_becomes_typed_frozen_values(tmp_path: Path) -> None:
    """GIVEN a file with some keys set WHEN converted THEN the Structs hold them, typed, and
    the defaults fill the rest."""
    doc = load(
        tmp_path,
        GOOD + 'wait_s = 2\nbanner = ["hi"]\nkey_file = "/etc/k"\n[[hooks]]\nurl = "https://h/x"\n',
    )
    assert doc.link.wait_s == 2.0 and isinstance(doc.link.wait_s, float)
    assert doc.link.banner == ("hi",) and doc.link.key_file == Path("/etc/k")
    assert doc.hooks == (Hook(url="https://h/x", tries=3),) and doc.extra is None
    with pytest.raises(AttributeError):
        doc.link.wait_s = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("toml", "key", "why"),
    [
        (GOOD + "[lnk]\n", "lnk", "unknown section (known: link, hooks, extra)"),
        (GOOD + "colour = 1\n", "link.colour", "unknown key (known: url, wait_s, mode, banner"),
        (
            GOOD + '[[hooks]]\nurl = "https://h"\nretries = 1\n',
            "hooks[0].retries",
            "unknown key (known: url, tries)",
        ),
        (GOOD + '[extra]\nurl = "mqtt://b"\n[extra.more]\n', "extra.more", "unknown key"),
    ],
)
def test_an_unknown_key_at_each_level_is_refused_by_name(
    tmp_path: Path, toml: str, key: str, why: str
) -> None:
    """GIVEN a key the schema does not have, at the top, in a table, in an array of tables
    or in a nested table WHEN the file is read THEN the refusal names the file, the key's
    dotted path and the keys that are known there."""
    assert_refused(tmp_path, toml, key, why)


@pytest.mark.parametrize(
    ("toml", "key", "why"),
    [
        (GOOD + 'wait_s = "5"\n', "link.wait_s", "must be a number of seconds 0.5-60"),
        (GOOD + "wait_s = true\n", "link.wait_s", "must be a number of seconds 0.5-60"),
        (GOOD + "pin = 2.0\n", "link.pin", "must be a whole number 0-27 (a GPIO)"),
        (GOOD + "ready = 1\n", "link.ready", "must be true or false (no quotes)"),
        (GOOD + 'banner = "hi"\n', "link.banner", "must be a list of strings"),
        (GOOD + "banner = [1]\n", "link.banner", "must be a list of strings"),
        (GOOD + "key_file = 3\n", "link.key_file", "must be an absolute path in quotes"),
        (GOOD + 'key_file = "k"\n', "link.key_file", "must be an absolute path in quotes"),
        (GOOD + "mode = 1\n", "link.mode", "1 is not one of fast, safe"),
        ("link = 5\n", "link", "must be a table: [link]"),
        ("hooks = 5\n" + GOOD, "hooks", "must be an array of tables: [[hooks]]"),
        ("hooks = [5]\n" + GOOD, "hooks[0]", "must be a table: [[hooks]]"),
        (
            GOOD + "[[hooks]]\nurl = 5\n",
            "hooks[0].url",
            'must be a string in quotes, like "an http',
        ),
        ("[link]\nurl = 5\n", "link.url", "must be a string"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_in_words(
    tmp_path: Path, toml: str, key: str, why: str
) -> None:
    """GIVEN a value of the wrong TOML type WHEN the file is read THEN the refusal names the
    key and says what it takes (its range or choices included)."""
    assert_refused(tmp_path, toml, key, why)


@pytest.mark.parametrize(
    ("toml", "key", "why"),
    [
        (GOOD + "wait_s = 0.1\n", "link.wait_s", "0.1 is out of range 0.5-60 seconds"),
        (GOOD + "wait_s = 61\n", "link.wait_s", "61 is out of range 0.5-60 seconds"),
        (GOOD + "wait_s = nan\n", "link.wait_s", "nan is out of range 0.5-60 seconds"),
        (
            GOOD + "wait_s = " + "9" * 400 + "\n",
            "link.wait_s",
            "that many is out of range 0.5-60 seconds",
        ),
        (GOOD + "pin = 28\n", "link.pin", "28 is out of range 0-27 (a GPIO)"),
        (GOOD + "pin = -1\n", "link.pin", "-1 is out of range 0-27 (a GPIO)"),
        (
            GOOD + '[[hooks]]\nurl = "https://h"\ntries = 0\n',
            "hooks[0].tries",
            "0 is out of range 1-10",
        ),
        (GOOD + 'mode = "slow"\n', "link.mode", "'slow' is not one of fast, safe"),
        (GOOD + 'banner = ["a", "b", "c"]\n', "link.banner", "at most 2 lines"),
        (
            GOOD + 'banner = ["123456789"]\n',
            "link.banner",
            "'123456789': a line is at most 8 printable",
        ),
        (GOOD + 'key_file = "/' + "x" * 4096 + '"\n', "link.key_file", "longer than 4096 bytes"),
        (
            GOOD + '[[hooks]]\nurl = "ftp://h"\n',
            "hooks[0].url",
            "'ftp://h' is not an http:// or https:// URL",
        ),
        (
            GOOD + '[[hooks]]\nurl = "https://h\\n"\n',
            "hooks[0].url",
            "'https://h\\n' is not an http",
        ),
        (GOOD + 'mode = "fast"\nkey_file = "/k"\n', "link.key_file", "a key needs mode safe"),
    ],
)
def test_a_value_out_of_its_range_or_rule_is_refused_in_words(
    tmp_path: Path, toml: str, key: str, why: str
) -> None:
    """GIVEN a value of the right type that breaks its range, choices, length, pattern or a
    cross-key rule (__post_init__) WHEN the file is read THEN the refusal names the key and
    the rule."""
    assert_refused(tmp_path, toml, key, why)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://broker", "'http://broker': mqtt://HOST:PORT or mqtts://HOST:PORT"),
        ("mqtt://", "'mqtt://': no host"),
        ("mqtt://a/b", "'mqtt://a/b': no host"),
        ("mqtt://broker:0", "'mqtt://broker:0': the port is 1-65535"),
        ("mqtts://broker:x", "'mqtts://broker:x': the port is 1-65535"),
    ],
)
def test_a_bad_broker_url_is_refused_naming_the_key(tmp_path: Path, url: str, why: str) -> None:
    """GIVEN a broker URL the one MQTT URL parser refuses WHEN the file is read THEN the
    refusal names the key and gives the parser's reason."""
    message = refusal(tmp_path, f'[link]\nurl = "{url}"\n')
    assert message == f"{tmp_path / 'app.toml'}: link.url: {why}"


def test_a_missing_required_key_or_table_is_named(tmp_path: Path) -> None:
    """GIVEN a file without a required table, or a table without a required key WHEN read
    THEN the refusal names what is missing."""
    assert refusal(tmp_path, "").endswith("app.toml: link: required section [link] is missing")
    assert refusal(tmp_path, "[link]\n").endswith("app.toml: link.url: required key is missing")
    assert refusal(tmp_path, GOOD + "[[hooks]]\ntries = 2\n").endswith(
        "app.toml: hooks[0].url: required key is missing"
    )


def test_a_file_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    """GIVEN no file, a file that is not UTF-8, a file that is not TOML WHEN read THEN the
    refusal names the file and why, with no key."""
    missing = tmp_path / "none.toml"
    with pytest.raises(KitError, match=f"^{missing}: no such file$"):
        kit.read_toml(missing, KitError)
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'[link]\nurl = "caf\xe9"\n')
    with pytest.raises(KitError, match=r"latin\.toml: not UTF-8 text$"):
        kit.read_toml(latin, KitError)
    assert "line 1" in refusal(tmp_path, "[link\n")


def test_rules_are_said_in_words_for_the_reference() -> None:
    """GIVEN the declared constraints WHEN the reference asks what a key accepts THEN it
    gets the range, the choices, the hint, the custom type's rule."""
    said = {f.encode_name: kit.rule(f.type) for f in kit.keys(Link)}
    assert said == {
        "url": "mqtt://HOST[:PORT] or mqtts://HOST[:PORT]",
        "wait_s": "0.5-60 seconds",
        "mode": "one of fast, safe",
        "banner": "at most 2 lines of 8 characters",
        "pin": "0-27 (a GPIO)",
        "key_file": "an absolute path (at most 4096 bytes)",
        "ready": "true or false",
    }
    assert kit.rule(kit.keys(Hook)[0].type) == "an http:// or https:// URL"


def test_a_part_of_a_document_is_named_under_its_prefix() -> None:
    """GIVEN one table of a document (a program's [notify]) WHEN converted alone THEN the
    key is named under the prefix, and the error can be re-told in its file."""
    with pytest.raises(KitError) as info:
        kit.convert({"url": "mqtt://b", "pin": 99}, Link, KitError, prefix="notify")
    assert (info.value.key, info.value.file) == ("notify.pin", None)
    assert (
        str(info.value.at("/etc/x.toml")) == "/etc/x.toml: notify.pin: 99 is out of range "
        "0-27 (a GPIO)"
    )
