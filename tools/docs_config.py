"""The configuration reference, generated from the config schemas themselves: the config
kit's Structs (protocol/config) of postermd (daemon/config.py), posterm-host
(host/config.py), its `[[webhooks]]` (host/webhooks.py) and `[notify]`
(host/notify/config.py): keys, types, defaults, ranges, said by `kit.rule`.
What each key is for comes from the annotated examples
(deploy/*.toml.example, the `[notify]` example in host/notify/config.py), so a key the
code reads and the example does not explain shows up as undescribed. Used by
tools/docs_reference.py."""

from __future__ import annotations

import dataclasses
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from posterm.daemon import config as daemon_config
from posterm.host import config as host_config
from posterm.host import webhooks
from posterm.host.notify import config as notify_config
from posterm.protocol import config as kit
from posterm.protocol.config.rules import shape

ROOT = Path(__file__).resolve().parent.parent
TOML_TYPES = {float: "number", int: "integer", bool: "boolean", dict: "table"}


@dataclass(frozen=True)
class Key:
    name: str  # dotted, as the loader names it in an error: "payment.url"
    kind: str  # the TOML type
    default: str  # "required", or the default as TOML would write it, or ""
    rule: str  # what the code accepts, where it declares it
    text: str  # what it is for, from the annotated example ("" when it does not say)


def example_notes(text: str) -> dict[str, str]:
    """Dotted key (and section) -> the comment beside it in an annotated TOML example,
    continuation lines included; commented-out keys and `[[tables]]` count."""
    return _parse(text)[0]


def example_values(text: str) -> dict[str, str]:
    """Dotted key -> its value as the annotated example writes it."""
    return _parse(text)[1]


def _parse(text: str) -> tuple[dict[str, str], dict[str, str]]:
    notes: dict[str, str] = {}
    values: dict[str, str] = {}
    section, last = "", None
    for line in text.splitlines():
        body = re.sub(r"^#\s?(?=\[|[A-Za-z_][\w-]*\s*=)", "", line)
        header = re.match(r"^\[\[?([\w.]+)\]\]?\s*(?:#\s?(.*))?$", body)
        pair = re.match(r"^([A-Za-z_][\w-]*)\s*=\s*(.*?)(?:\s+#\s?(.*))?$", body)
        more = re.match(r"^#?\s+#\s?(.*)$", line)
        if header:
            section, last = header.group(1), section
            notes.setdefault(section, header.group(2) or "")
            last = section if header.group(2) else None
        elif pair and section:
            name = f"{section}.{pair.group(1)}"
            if name in notes:  # a second, commented-out variant: keep the first note
                last = None
                continue
            notes[name], last = pair.group(3) or "", name
            values[name] = pair.group(2)
        elif more and last is not None:
            notes[last] = f"{notes[last]} {more.group(1)}".strip()
        else:
            last = None
    return notes, values


def toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | Path):
        return f'"{value}"'
    if isinstance(value, tuple | list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    return repr(value)


def _kind(annotation: Any) -> str:
    """The TOML type of a key, from its annotation."""
    base = shape(annotation).base
    if base in (tuple, list):
        return "array of strings"
    if isinstance(base, type) and issubclass(base, str):
        return "string"
    if base is Path:
        return "string (path)"
    if base in TOML_TYPES:
        return TOML_TYPES[base]
    return "integer" if isinstance(base, type) and issubclass(base, int) else str(base)


def daemon_keys(
    sections: dict[str, type[msgspec.Struct]] | None = None, example: str | None = None
) -> list[Key]:
    """Every key postermd reads, section by section."""
    sections = daemon_config.SECTIONS if sections is None else sections
    notes = example_notes(example if example is not None else _read("deploy/posterm.toml.example"))
    keys = []
    for section, cls in sections.items():
        for key in struct_keys(section, cls, notes, {}, none="none"):
            text = daemon_config.AMOUNT_DEFAULTS.get(key.name, "")
            keys.append(
                key
                if text == ""
                else dataclasses.replace(
                    key,
                    default="one minor unit" if text is None else toml(text),
                    rule="an amount: a decimal string in [terminal] currency",
                )
            )
    return keys


def struct_keys(
    section: str,
    cls: type[msgspec.Struct],
    notes: dict[str, str],
    values: dict[str, str],
    *,
    none: str = "",
    skip: tuple[str, ...] = (),
) -> list[Key]:
    """A row per key of a config Struct: its TOML type, default and rule from the Struct,
    its note from the example. A key whose default is None shows the example's value
    (`values`) or `none`."""
    out = []
    for f in kit.keys(cls):
        if f.encode_name in skip:
            continue
        name = f"{section}.{f.encode_name}"
        if f.required:
            default = "required"
        else:
            value = f.default if f.default is not msgspec.NODEFAULT else f.default_factory()
            example = f"e.g. {values[name]}" if name in values else none
            default = example if value is None else toml(value)
        out.append(Key(name, _kind(f.type), default, kit.rule(f.type), notes.get(name, "")))
    return out


def host_keys(example: str | None = None, notify_example: str | None = None) -> list[Key]:
    """Every key posterm-host reads: its sections, [[web.users]], [[webhooks]], [notify]."""
    notes, values = _parse(
        example if example is not None else _read("deploy/posterm-host.toml.example")
    )
    more = _parse(
        notify_example
        if notify_example is not None
        else textwrap.dedent((notify_config.__doc__ or "\n").split("\n", 1)[1])
    )
    notes.update(more[0])
    values.update(more[1])
    keys = []
    for section, cls in host_config.SECTIONS.items():
        keys += struct_keys(section, cls, notes, values, skip=("users",))
        if section == "web":
            keys += struct_keys("web.users", host_config.WebUser, notes, values)
    keys += struct_keys("webhooks", webhooks.WebhookEntry, notes, values)
    keys += struct_keys("notify", notify_config.NotifyTable, notes, values, skip=("sms",))
    keys += struct_keys("notify.sms", notify_config.SmsTable, notes, values)
    return keys


def _read(relative: str) -> str:
    return (ROOT / relative).read_text(encoding="utf-8")


def table(keys: list[Key], notes: dict[str, str] | None = None) -> list[str]:
    """Markdown: a heading per section (`[name]`, `[[name]]` for arrays of tables)."""
    arrays = {"webhooks", "web.users"}
    lines: list[str] = []
    section = None
    for key in keys:
        here, _, short = key.name.rpartition(".")
        if here != section:
            section = here
            shown = f"[[{here}]]" if here in arrays else f"[{here}]"
            lines += ["", f"### `{shown}`", ""]
            if notes and notes.get(here):
                lines += [notes[here], ""]
            lines += [
                "| key | type | default | accepts | what it is for |",
                "|---|---|---|---|---|",
            ]
        text = key.text or "*(not described in the example config)*"
        lines.append(
            f"| `{short}` | {key.kind} | {_esc(key.default)} | {_esc(key.rule)} | {_esc(text)} |"
        )
    return lines


def _esc(text: str) -> str:
    """A table cell: a pipe outside a `code span` would end the cell."""
    parts = text.split("`")
    return "`".join(p if i % 2 else p.replace("|", "\\|") for i, p in enumerate(parts))


def page() -> str:
    daemon_notes = example_notes(_read("deploy/posterm.toml.example"))
    host_notes = example_notes(_read("deploy/posterm-host.toml.example"))
    return "\n".join(
        [
            "# Configuration reference",
            "",
            "Generated from the config schemas when the site is built (`tools/docs_config.py`): "
            "keys, types, defaults and ranges come from the code that checks them; what each key "
            "is for comes from the annotated examples `deploy/posterm.toml.example` and "
            "`deploy/posterm-host.toml.example` (and the `[notify]` example in "
            "`host/notify/config.py`). Both programs read TOML once at start-up; an unknown "
            "section or key, or a bad value, stops them with the file and the dotted key named "
            "(`/etc/posterm/posterm.toml: printer.columns: 40 is not one of 32, 42, 48`), before "
            "anything opens. `posterm debug` writes postermd's effective config (secrets "
            "removed) into its support bundle.",
            "",
            "## postermd (`/etc/posterm/posterm.toml`)",
            "",
            "Sections "
            + ", ".join(f"`[{s}]`" for s in daemon_config.REQUIRED_SECTIONS)
            + " are required; "
            + ", ".join(f"`[{s}]`" for s in daemon_config.OPTIONAL_SECTIONS)
            + " is optional (left out: the terminal runs alone); every other section may be "
            "left out and takes its defaults.",
            *table(daemon_keys(), daemon_notes),
            "",
            "## posterm-host (`/etc/posterm/posterm-host.toml`)",
            "",
            "`[host] id` and `[mqtt] url` are required. Ranges not listed here are in the "
            "descriptions, as the example states them.",
            *table(host_keys(), host_notes),
            "",
        ]
    )
