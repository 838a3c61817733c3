"""The MQTT wire reference, generated from the declared wire schemas
(protocol/mqtt/wire.py, msgspec Structs): every message, every field, its type, whether it
is required, its default and its bounds. Used by tools/docs_reference.py."""

from __future__ import annotations

from typing import Any

import msgspec
import msgspec.inspect as mi

from posterm.protocol.errorcodes import ErrorCode
from posterm.protocol.mqtt import topics, wire


def cell(text: str) -> str:
    """A table cell: a pipe outside a `code span` would end the cell."""
    parts = text.split("`")
    return "`".join(p if i % 2 else p.replace("|", "\\|") for i, p in enumerate(parts))


def describe(t: Any) -> str:
    """A msgspec type as a reader wants it: the JSON type and its bounds."""
    if isinstance(t, mi.UnionType):
        kinds = [k for k in t.types if not isinstance(k, mi.NoneType)]
        shown = " or ".join(describe(k) for k in kinds)
        return f"{shown} or null" if len(kinds) < len(t.types) else shown
    if isinstance(t, mi.StrType):
        bounds = _bounds("characters", t.min_length, t.max_length)
        pattern = f" matching `{t.pattern}`" if t.pattern else ""
        return f"string{bounds}{pattern}"
    if isinstance(t, mi.IntType | mi.FloatType):
        name = "integer" if isinstance(t, mi.IntType) else "number"
        parts = [
            f"{op} {v:,}"
            for op, v in ((">", t.gt), ("≥", t.ge), ("<", t.lt), ("≤", t.le))
            if v is not None
        ]
        return f"{name} {', '.join(parts)}".rstrip()
    if isinstance(t, mi.BoolType):
        return "boolean"
    if isinstance(t, mi.LiteralType):
        return "one of " + ", ".join(f"`{v}`" for v in t.values)
    if isinstance(t, mi.ListType):
        return f"array{_bounds('items', t.min_length, t.max_length)} of {describe(t.item_type)}"
    if isinstance(t, mi.StructType):
        name = t.cls.__name__
        return f"object [{name}](#{name.lower()})"
    if isinstance(t, mi.RawType):
        return "object: the type's data (below)"
    if isinstance(t, mi.AnyType):
        return "any JSON"
    return type(t).__name__.removesuffix("Type").lower()


def _bounds(what: str, low: int | None, high: int | None) -> str:
    if low is None and high is None:
        return ""
    if low is None:
        return f" (at most {high:,} {what})"
    if high is None:
        return f" (at least {low:,} {what})"
    return f" ({low:,}-{high:,} {what})"


def fields_table(kind: type[msgspec.Struct]) -> list[str]:
    """A table of a Struct's fields, in declaration order."""
    rows = ["| field | type | required | default |", "|---|---|---|---|"]
    for f in mi.type_info(kind).fields:  # type: ignore[attr-defined]
        default = "" if f.required else f"`{msgspec.json.encode(f.default).decode()}`"
        required = "yes" if f.required else "no"
        rows.append(f"| `{f.encode_name}` | {cell(describe(f.type))} | {required} | {default} |")
    return rows


def field_names(kind: type[msgspec.Struct]) -> list[str]:
    return [f.encode_name for f in mi.type_info(kind).fields]  # type: ignore[attr-defined]


def messages() -> list[tuple[str, type[msgspec.Struct], str]]:
    """(heading, Struct, what it is) of every declared message and part of one."""
    out: list[tuple[str, type[msgspec.Struct], str]] = [
        (
            "Envelope",
            wire.Envelope,
            f"Every event on `{topics.ROOT}/{{tid}}/events` "
            f"(at most {wire.MAX_EVENT:,} bytes); `data` is the event type's, below.",
        ),
    ]
    by_struct: dict[type[msgspec.Struct], list[str]] = {}
    for event_type, kind in wire.DATA.items():
        by_struct.setdefault(kind, []).append(event_type)
    for kind, names in by_struct.items():
        listed = ", ".join(f"`{n}`" for n in names)
        out.append((kind.__name__, kind, f"The `data` of {listed}."))
    out += [
        ("Notify", wire.Notify, "A refund's customer contact, in `refund.requested`."),
        (
            "Telemetry",
            wire.Telemetry,
            f"`{topics.ROOT}/{{tid}}/telemetry` (at most {wire.MAX_TELEMETRY:,} bytes).",
        ),
        (
            "Status",
            wire.Status,
            f"`{topics.ROOT}/{{tid}}/status`, retained: birth and last "
            f"will (at most {wire.MAX_STATUS:,} bytes).",
        ),
        (
            "Reply",
            wire.Reply,
            f"`{topics.ROOT}/{{tid}}/reply`: a terminal's answer to a command"
            f" (at most {wire.MAX_REPLY:,} bytes).",
        ),
        (
            "Command",
            wire.Command,
            f"`{topics.ROOT}/{{tid}}/cmd`, host to terminal; `sig` is "
            "checked by protocol/mqtt/commands.py.",
        ),
        ("Args", wire.Args, "A command's `args`."),
        ("HostKeyArg", wire.HostKeyArg, "One host key in `keys.update`'s `args.keys`."),
        ("Ack", wire.Ack, f"`{topics.ROOT}/{{tid}}/ack`, host to terminal, after its commit."),
    ]
    return out


def page() -> str:
    lines = [
        "# MQTT wire reference",
        "",
        "Generated from `protocol/mqtt/wire.py` when the site is built: each message's "
        "declared schema, as both ends check it. Unknown fields are refused; times must "
        f"also be real RFC 3339 moments in {wire.YEARS[0]}-{wire.YEARS[1]}. A message that "
        "does not fit is quarantined by the host and refused by the terminal. What the "
        "topics and envelopes mean: [MQTT protocol](../protocol.md).",
        "",
        "Topics: "
        + ", ".join(f"`{topics.ROOT}/{{tid}}/{leaf}`" for leaf in topics.TERMINAL_LEAVES)
        + "; the host's "
        f"`{topics.ROOT}/host/{{host_id}}/status` and `…/alerts`.",
        "",
    ]
    for heading, kind, what in messages():
        lines += [f"## {heading}", "", what, "", *fields_table(kind), ""]
    lines += ["## Error codes", "", *codes_table(), ""]
    return "\n".join(lines)


def codes_table() -> list[str]:
    """Every `code` of a refusal (protocol/errorcodes.py): in a Reply, on the control
    socket, in the CLIs' `--json` output and the back office's HTTP API."""
    rows = [
        "The `code` of a refusal: in a [Reply](#reply), on the control socket, in "
        "`posterm --json` and `posterm-host --json`, and in the back office's HTTP API. "
        "The host stores a reply whose code it does not know (a newer terminal's).",
        "",
        "| code | meaning |",
        "|---|---|",
    ]
    rows += [f"| `{code}` | {cell(code.meaning)} |" for code in ErrorCode]
    return rows
