"""The generated reference pages (tools/docs_config.py, tools/docs_wire.py) name every
config key and every wire field, and the annotated examples describe every key: a key or
a field added without its documentation fails here."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Annotated

import msgspec

from posterm.daemon import config as daemon_config
from posterm.host import config as host_config
from posterm.host import webhooks
from posterm.host.notify import config as notify_config
from posterm.protocol import config as kit
from posterm.protocol.errorcodes import ErrorCode
from posterm.protocol.mqtt import wire

TOOLS = Path(__file__).resolve().parents[2] / "tools"


def _tool(name: str) -> ModuleType:
    sys.path.insert(0, str(TOOLS))
    try:
        spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(TOOLS))


docs_config = _tool("docs_config")
docs_wire = _tool("docs_wire")


def blocks(page: str, level: str) -> dict[str, str]:
    """Heading text -> the text under it, up to the next heading of that level."""
    parts = re.split(rf"^{level} (.+)$", page, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def rows(block: str) -> set[str]:
    return set(re.findall(r"^\| `([^`]+)` \|", block, flags=re.M))


def daemon_names() -> set[str]:
    return {
        f"{s}.{f.encode_name}" for s, cls in daemon_config.SECTIONS.items() for f in kit.keys(cls)
    }


def host_names() -> set[str]:
    tables = {
        **host_config.SECTIONS,
        "web.users": host_config.WebUser,
        "webhooks": webhooks.WebhookEntry,
        "notify": notify_config.NotifyTable,
        "notify.sms": notify_config.SmsTable,
    }
    return {
        f"{s}.{f.encode_name}"
        for s, cls in tables.items()
        for f in kit.keys(cls)
        if f"{s}.{f.encode_name}" not in tables
    }


def shown(page: str, part: str) -> set[str]:
    """Dotted names of the rows under one program's part of the configuration page."""
    out = set()
    for heading, block in blocks(blocks(page, "##")[part], "###").items():
        section = heading.strip("`[]")
        out |= {f"{section}.{key}" for key in rows(block)}
    return out


def test_the_configuration_reference_names_every_key_each_program_reads() -> None:
    """GIVEN the config schemas WHEN the reference is generated THEN it has a row for every
    key postermd and posterm-host read, under its section, and no other."""
    page = docs_config.page()
    assert shown(page, "postermd (`/etc/posterm/posterm.toml`)") == daemon_names()
    assert shown(page, "posterm-host (`/etc/posterm/posterm-host.toml`)") == host_names()


def test_the_annotated_examples_describe_every_key_and_no_other() -> None:
    """GIVEN the annotated examples WHEN their notes are read THEN every key the code reads
    has one, and they name no key that the code does not read (a renamed key)."""
    keys = docs_config.daemon_keys() + docs_config.host_keys()
    assert [k.name for k in keys if not k.text] == []
    assert "not described" not in docs_config.page()
    daemon_notes = docs_config.example_notes(
        (docs_config.ROOT / "deploy/posterm.toml.example").read_text()
    )
    host_notes = docs_config.example_notes(
        (docs_config.ROOT / "deploy/posterm-host.toml.example").read_text()
    )
    sections = set(daemon_config.SECTIONS) | set(host_config.SECTIONS)
    sections |= {"webhooks", "web.users", "notify", "notify.sms"}
    assert set(daemon_notes) - sections <= daemon_names()
    assert set(host_notes) - sections <= host_names()


def test_the_host_example_documents_notify_like_every_other_section() -> None:
    """GIVEN deploy/posterm-host.toml.example alone (not the [notify] docstring) WHEN its
    notes are read THEN every [notify] and [notify.sms] key the host reads has one."""
    host_notes = docs_config.example_notes(
        (docs_config.ROOT / "deploy/posterm-host.toml.example").read_text()
    )
    notify = {n for n in host_names() if n.startswith("notify.") and n != "notify.sms"}
    assert notify and notify - set(host_notes) == set()


def test_a_key_without_a_note_is_shown_as_undescribed() -> None:
    """GIVEN a section whose key the example does not explain WHEN the reference is made
    THEN the key has no text and its row says so; its range comes from its check."""

    class Fake(kit.Section, frozen=True):
        colour: Annotated[int, kit.between(1, 9, " shades")] = 3
        size: Annotated[int, kit.between(1, 5)] = 2

    keys = docs_config.daemon_keys({"fake": Fake}, example="[fake]\nsize = 2  # how big\n")
    assert [(k.name, k.default, k.rule, k.text) for k in keys] == [
        ("fake.colour", "3", "1-9 shades", ""),
        ("fake.size", "2", "1-5", "how big"),
    ]
    lines = docs_config.table(keys)
    assert (
        "| `colour` | integer | 3 | 1-9 shades | *(not described in the example config)* |" in lines
    )


def test_the_config_reference_takes_ranges_and_defaults_from_the_code() -> None:
    """GIVEN postermd's checks WHEN the reference is generated THEN ranges and defaults are
    the code's (the example's own words aside)."""
    keys = {k.name: k for k in docs_config.daemon_keys()}
    assert (keys["payment.timeout_s"].default, keys["payment.timeout_s"].rule) == (
        "180.0",
        "5-600 seconds",
    )
    assert keys["printer.columns"].rule == "24-64"
    assert keys["panel.buzzer_pin"].rule == "0-27 (a BCM GPIO number)"
    assert keys["refunds.approval_limit"].default == '"50"'
    assert keys["payment.url"].default == "required"


def wire_structs() -> list[type[msgspec.Struct]]:
    """Every Struct wire.py declares (not only those the generator lists)."""
    return [
        v
        for v in vars(wire).values()
        if isinstance(v, type)
        and issubclass(v, msgspec.Struct)
        and v.__module__ == wire.__name__
        and not v.__name__.startswith("_")
    ]


def test_the_mqtt_reference_names_every_message_and_field() -> None:
    """GIVEN the wire schemas WHEN the reference is generated THEN every declared Struct
    has a section with a row per field, and every event type is named."""
    sections = blocks(docs_wire.page(), "##")
    for kind in wire_structs():
        assert kind.__name__ in sections, kind
        assert rows(sections[kind.__name__]) == {
            f.encode_name for f in msgspec.structs.fields(kind)
        }, kind
    page = docs_wire.page()
    for event_type in wire.DATA:
        assert f"`{event_type}`" in page


def test_the_mqtt_reference_shows_each_fields_bounds() -> None:
    """GIVEN fields with bounds WHEN described THEN the bounds are the schema's."""
    by_name = {row.split("|")[1].strip(): row for row in docs_wire.fields_table(wire.Ack)[2:]}
    assert "1-1,000 items" in by_name["`event_ids`"]
    seq = [r for r in docs_wire.fields_table(wire.Envelope) if r.startswith("| `seq`")]
    assert "integer ≥ 1, ≤ 9,223,372,036,854,775,807" in seq[0]


def test_the_mqtt_reference_lists_every_error_code() -> None:
    """GIVEN the error codes (protocol/errorcodes.py) WHEN the reference is generated THEN
    its Error codes section has one row per code, with the code's meaning."""
    section = blocks(docs_wire.page(), "##")["Error codes"]
    assert rows(section) == {str(code) for code in ErrorCode}
    for code in ErrorCode:
        assert f"| `{code}` | {code.meaning} |" in section
