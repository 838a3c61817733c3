"""Fuzzing the config loaders: TOML documents built from the schema's sections and keys
(the example configs' values, values of the wrong type or out of range, unknown keys and
sections, TOML's awkward corners) either load or raise ConfigError / HostConfigError that
names the key, never another exception."""

from __future__ import annotations

import datetime as dt
import math
import re
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from posterm.daemon import config as daemon_config
from posterm.host import config as host_config
from posterm.protocol import config as kit
from tests.fuzz.profiles import fuzz

ROOT = Path(__file__).resolve().parents[2]
DAEMON_EXAMPLE = tomllib.loads((ROOT / "deploy/posterm.toml.example").read_text())
HOST_EXAMPLE = tomllib.loads((ROOT / "deploy/posterm-host.toml.example").read_text())
DAEMON_SCHEMA = {
    name: [f.encode_name for f in kit.keys(cls)] for name, cls in daemon_config.SECTIONS.items()
}
HOST_SCHEMA = {
    name: [f.encode_name for f in kit.keys(cls)] for name, cls in host_config.SECTIONS.items()
}


@dataclass(frozen=True)
class Raw:
    """A TOML value written as is (what Python cannot hold or print: deep nesting, huge
    integers)."""

    text: str


# -- a small TOML writer -----------------------------------------------------------------
def _string(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _value(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_string(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def to_toml(doc: dict[str, Any]) -> str:
    head = [f"{_string(k)} = {_value(v)}" for k, v in doc.items() if not isinstance(v, dict)]
    tables = []
    for name, table in doc.items():
        if isinstance(table, dict):
            tables.append(f"[{_string(name)}]")
            tables += [f"{_string(k)} = {_value(v)}" for k, v in table.items()]
    return "\n".join([*head, *tables]) + "\n"


# -- values ------------------------------------------------------------------------------
SCALARS = st.one_of(
    st.booleans(),
    st.integers(),
    st.integers(-(2**80), 2**80),
    st.floats(),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=30),
    st.datetimes(timezones=st.none() | st.just(dt.UTC)),
    st.dates(),
    st.times(),
)
TOML_VALUES = st.recursive(
    SCALARS,
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids, max_size=3)
    ),
    max_leaves=6,
)
TRICKY = st.one_of(
    st.sampled_from(["", " ", "/", "relative/path", "/dev/null", "/etc/passwd", "\u00e9", "0"]),
    st.integers(1, 3).map(lambda n: "/" + "x" * 300 * n),  # a path component past NAME_MAX
    st.sampled_from(
        [
            "tcp://",
            "tcp://[::1",
            "tcp://h:99999",
            "serial://",
            "usb://zz:1",
            "mqtt://",
            "mqtts://h:0",
            "mqtt://h:x",
            "sqlite://",
            "postgresql://h/",
            "serial:///dev/x?baud=\u0669\u0666\u0660\u0660",
        ]
    ),
    st.integers(4301, 4400).map(lambda n: Raw("9" * n)),  # past int()'s digit limit
    st.integers(1000, 3000).map(lambda n: Raw("[" * n + "]" * n)),  # past the recursion limit
    st.integers(10**308, 10**400),  # no float holds it
)


def key_values(example: dict[str, Any], section: str, key: str) -> st.SearchStrategy[Any]:
    good = example.get(section, {}).get(key)
    choices = [TOML_VALUES, TRICKY]
    if good is not None:
        choices = [st.just(good), st.just(good), *choices]
    return st.one_of(choices)


def documents(schema: dict[str, list[str]], example: dict[str, Any]) -> st.SearchStrategy[Any]:
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        for section, keys in schema.items():
            if draw(st.integers(0, 5)) == 0:
                continue  # leave the section out
            if draw(st.integers(0, 30)) == 0:
                doc[section] = draw(TOML_VALUES | TRICKY)  # a value where a table is due
                continue
            table: dict[str, Any] = {}
            for key in keys:
                if draw(st.integers(0, 2)) == 0 and key not in example.get(section, {}):
                    continue
                if draw(st.integers(0, 3)) == 0:
                    table[key] = draw(key_values(example, section, key))
                elif key in example.get(section, {}):
                    table[key] = example[section][key]
            if draw(st.integers(0, 10)) == 0:
                table[draw(st.text(min_size=1, max_size=8))] = draw(TOML_VALUES)
            doc[section] = table
        if draw(st.integers(0, 10)) == 0:
            doc[draw(st.text(min_size=1, max_size=8))] = draw(TOML_VALUES)
        return doc

    return build()


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


def _names_a_key(message: str, path: Path, doc: dict[str, Any], schema: dict[str, Any]) -> bool:
    """`FILE: KEY: why`, where KEY is a section or `section.key` of the schema or of the
    document (an unknown one is named too)."""
    prefix = f"{path}: "
    if not message.startswith(prefix):
        return False
    key = message[len(prefix) :].split(": ", 1)[0]
    if key in schema or key in doc:
        return True  # a section, whatever its name holds (".")
    section, _, name = key.partition(".")
    names = {name, re.split(r"[.\[]", name)[0]}  # web.users[0].name: the key is users
    known = section in schema or section in doc
    table = doc.get(section, {})
    return known and (not name or any(n in schema.get(section, ()) or n in table for n in names))


def load_or_refuse(load: Any, error: type[Exception], text: str, path: Path) -> str | None:
    path.write_text(text, encoding="utf-8")
    try:
        load(path)
    except error as exc:
        return str(exc)
    return None


def readable(text: str) -> bool:
    """Whether tomllib reads `text` (the oracle: a document it cannot read can only be
    refused naming the file)."""
    try:
        tomllib.loads(text)
    except Exception:
        return False
    return True


@fuzz(scale=0.7)
@given(documents(DAEMON_SCHEMA, DAEMON_EXAMPLE))
@example({**DAEMON_EXAMPLE, "sales": {"max_amount": Raw("9" * 4301)}})  # found: ValueError
@example({**DAEMON_EXAMPLE, "sales": {"max_amount": Raw("[" * 2000 + "]" * 2000)}})  # found
@example({**DAEMON_EXAMPLE, "mqtt": {"url": "mqtt://h", "host_public_key": "/" + "x" * 300}})
@example({**DAEMON_EXAMPLE, "payment": {"url": "tcp://h", "timeout_s": 10**400}})  # found
@example({"terminal": {"id": "pos-1", "currency": []}})  # found: TypeError (unhashable)
def test_postermd_config_loads_or_names_the_key(workdir: Path, doc: dict[str, Any]) -> None:
    _loads_or_names_the_key(
        daemon_config.load_config,
        daemon_config.ConfigError,
        DAEMON_SCHEMA,
        doc,
        workdir / "posterm.toml",
    )


@fuzz(scale=0.7)
@given(documents(HOST_SCHEMA, HOST_EXAMPLE))
@example({**HOST_EXAMPLE, "host": {"id": "h", "stale_after_s": Raw("9" * 4301)}})  # found
@example({**HOST_EXAMPLE, "store": {"url": Raw("[" * 2000 + "]" * 2000)}})  # found
@example({**HOST_EXAMPLE, "host": {"id": "h", "reply_timeout_s": 10**400}})  # OverflowError
@example({"web": {"users": [False]}})  # found: web.users[0] named as a key of its own
@example({"host": {"id": "h", "0.": []}})  # found: an unknown key with a dot in its name
@example({".": False})  # found: an unknown section named "." (named so by the old loader too)
def test_posterm_host_config_loads_or_names_the_key(workdir: Path, doc: dict[str, Any]) -> None:
    _loads_or_names_the_key(
        host_config.load,
        host_config.HostConfigError,
        HOST_SCHEMA,
        doc,
        workdir / "posterm-host.toml",
    )


def _loads_or_names_the_key(
    load: Any, error: type[Exception], schema: Any, doc: dict[str, Any], path: Path
) -> None:
    """The config loads, or its error names the key at fault (or, for a file that is not
    TOML, the file)."""
    text = to_toml(doc)
    message = load_or_refuse(load, error, text, path)
    if message is not None:
        assert _names_a_key(message, path, doc, schema) or (
            not readable(text) and message.startswith(f"{path}: ")
        ), message


@fuzz()
@given(st.builds(lambda d: d, documents(DAEMON_SCHEMA, DAEMON_EXAMPLE)))
def test_the_toml_writer_writes_what_tomllib_reads(doc: dict[str, Any]) -> None:
    """The control for the tests above: the documents are TOML (a Raw value aside)."""
    text = to_toml(doc)
    if "Raw(" in repr(doc):
        return
    tomllib.loads(text)
