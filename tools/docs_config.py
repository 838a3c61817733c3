"""The configuration reference, generated from the config schemas themselves: postermd's
section dataclasses (daemon/config.py: keys, types, defaults, the checks' ranges), the
host's SCHEMA (host/config.py), its `[[webhooks]]` and `[[web.users]]` keys and `[notify]`
(host/notify/config.py). What each key is for comes from the annotated examples
(systemd/*.toml.example, the `[notify]` example in host/notify/config.py), so a key the
code reads and the example does not explain shows up as undescribed. Used by
tools/docs_reference.py."""

from __future__ import annotations

import dataclasses
import re
import textwrap
from collections.abc import Iterable
from dataclasses import MISSING, dataclass
from pathlib import Path
from typing import Any

import msgspec

from posterm.daemon import config as daemon_config
from posterm.host import config as host_config
from posterm.host import webhooks
from posterm.host.alerts import Limits
from posterm.host.notify import config as notify_config
from posterm.protocol import config as kit
from posterm.protocol.config.rules import shape

ROOT = Path(__file__).resolve().parent.parent
TOML_TYPES = {str: "string", float: "number", int: "integer", bool: "boolean", list: "array",
              dict: "table"}  # fmt: skip
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
    if base in TOML_TYPES and base is not str:
        return TOML_TYPES[base]
    return "integer" if isinstance(base, type) and issubclass(base, int) else str(base)


def daemon_keys(sections: dict[str, type[msgspec.Struct]] | None = None,
                example: str | None = None) -> list[Key]:  # fmt: skip
    """Every key postermd reads, section by section."""
    sections = daemon_config.SECTIONS if sections is None else sections
    notes = example_notes(example if example is not None else _read("systemd/posterm.toml.example"))
    keys = []
    for section, cls in sections.items():
        for f in kit.keys(cls):
            name = f"{section}.{f.encode_name}"
            if name in daemon_config.AMOUNT_DEFAULTS:
                text = daemon_config.AMOUNT_DEFAULTS[name]
                default = "one minor unit" if text is None else toml(text)
                rule = "an amount: a decimal string in [terminal] currency"
            else:
                default = _default(f)
                rule = kit.rule(f.type)
            keys.append(Key(name, _kind(f.type), default, rule, notes.get(name, "")))
    return keys


def _default(f: msgspec.structs.FieldInfo) -> str:
    if f.required:
        return "required"
    value = f.default if f.default is not msgspec.NODEFAULT else f.default_factory()
    return "none" if value is None else toml(value)


def host_keys(example: str | None = None, notify_example: str | None = None) -> list[Key]:
    """Every key posterm-host reads: SCHEMA, [[webhooks]], [[web.users]], [notify]."""
    notes, values = _parse(example if example is not None
                           else _read("systemd/posterm-host.toml.example"))  # fmt: skip
    more = _parse(notify_example if notify_example is not None
                  else textwrap.dedent((notify_config.__doc__ or "\n").split("\n", 1)[1]))
    notes.update(more[0])
    values.update(more[1])
    defaults: dict[str, Any] = {"store.url": host_config.DEFAULT_STORE}
    defaults.update({f"alerts.{f.name}": f.default for f in dataclasses.fields(Limits)})
    defaults.update({f"web.{f.name}": f.default for f in dataclasses.fields(host_config.WebConfig)
                     if f.default is not MISSING})  # fmt: skip
    defaults.update({f"webhooks.{f.name}": f.default
                     for f in dataclasses.fields(webhooks.Webhook) if f.default is not MISSING})
    keys = []

    def add(section: str, table: Iterable[tuple[str, type, bool]]) -> None:
        for key, kind, required in table:
            name = f"{section}.{key}"
            rule = ""
            if section == "alerts":
                low, high = host_config.ALERT_RANGES.get(key, (1, 7 * 86400))
                rule = f"{low}-{high}"
            if required:
                default = "required"
            elif defaults.get(name) is not None:
                default = toml(defaults[name])
            else:
                default = f"e.g. {values[name]}" if name in values else ""
            keys.append(Key(name, TOML_TYPES.get(kind, kind.__name__), default, rule,
                            notes.get(name, "")))  # fmt: skip

    for section, table in host_config.SCHEMA.items():
        if section == "web":
            add(section, ((k, t, r) for k, (t, r) in table.items() if k != "users"))
            add("web.users", ((f.name, str, True)
                              for f in dataclasses.fields(host_config.WebUser)))  # fmt: skip
        else:
            add(section, ((k, t, r) for k, (t, r) in table.items()))
    add("webhooks", ((k, t, r) for k, (t, r) in webhooks.KEYS.items()))
    add("notify", ((k, t, k == "merchant_name") for k, t in notify_config.KEYS.items()
                   if k != "sms"))  # fmt: skip
    add("notify.sms", ((k, t, k in ("url", "body")) for k, t in notify_config.SMS_KEYS.items()))
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
            lines += ["| key | type | default | accepts | what it is for |",
                      "|---|---|---|---|---|"]
        text = key.text or "*(not described in the example config)*"
        lines.append(f"| `{short}` | {key.kind} | {_esc(key.default)} | {_esc(key.rule)} | "
                     f"{_esc(text)} |")  # fmt: skip
    return lines


def _esc(text: str) -> str:
    """A table cell: a pipe outside a `code span` would end the cell."""
    parts = text.split("`")
    return "`".join(p if i % 2 else p.replace("|", "\\|") for i, p in enumerate(parts))


def page() -> str:
    daemon_notes = example_notes(_read("systemd/posterm.toml.example"))
    host_notes = example_notes(_read("systemd/posterm-host.toml.example"))
    return "\n".join([
        "# Configuration reference",
        "",
        "Generated from the config schemas when the site is built (`tools/docs_config.py`): "
        "keys, types, defaults and ranges come from the code that checks them; what each key "
        "is for comes from the annotated examples `systemd/posterm.toml.example` and "
        "`systemd/posterm-host.toml.example` (and the `[notify]` example in "
        "`host/notify/config.py`). Both programs read TOML once at start-up; an unknown "
        "section or key, or a bad value, stops them with the file and the dotted key named "
        "(`/etc/posterm/posterm.toml: printer.columns: 40 is not one of 32, 42, 48`), before "
        "anything opens. `posterm debug` writes postermd's effective config (secrets "
        "removed) into its support bundle.",
        "",
        "## postermd (`/etc/posterm/posterm.toml`)",
        "",
        "Sections " + ", ".join(f"`[{s}]`" for s in daemon_config.REQUIRED_SECTIONS)
        + " are required; " + ", ".join(f"`[{s}]`" for s in daemon_config.OPTIONAL_SECTIONS)
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
    ])  # fmt: skip
