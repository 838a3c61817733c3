"""The constraints a config key declares (msgspec.Meta: ranges, lengths, patterns, plus
`extra` for what msgspec does not check: choices, a unit, a hint) and the same rules said
in words, for the error messages and the generated configuration reference."""

from __future__ import annotations

import functools
import math
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import msgspec

# printable text: no control characters (C0, DEL, C1), no line or paragraph separator
PRINTABLE = "^[^\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029]*\\Z"
PATH_MAX = 4096  # bytes of an absolute path


class Checked:
    """A value type with its own check: `from_toml(raw)` returns the value or raises
    `Refused` (kit.py) / ValueError / TypeError with the reason; RULE says what it takes."""

    RULE: ClassVar[str] = ""

    @classmethod
    def from_toml(cls, raw: Any) -> Any:
        raise NotImplementedError


def between(low: float, high: float, unit: str = "") -> msgspec.Meta:
    """A number from `low` to `high` inclusive; `unit` follows the range in words."""
    return msgspec.Meta(ge=low, le=high, extra={"unit": unit})


def seconds(low: float, high: float) -> msgspec.Meta:
    return between(low, high, " seconds")


def text(pattern: str | None = None, hint: str = "", max_len: int = 200) -> msgspec.Meta:
    """1 to `max_len` printable characters, matching `pattern` in full (said as `hint`)."""
    full = PRINTABLE if pattern is None else f"^(?:{pattern})\\Z"
    return msgspec.Meta(
        min_length=1,
        max_length=max_len,
        pattern=full,
        extra={"hint": hint or f"1-{max_len} printable characters"},
    )


def one_of(*choices: Any) -> msgspec.Meta:
    """One of `choices` (checked by Section.__post_init__, said in errors and the docs)."""
    return msgspec.Meta(extra={"choices": choices})


def lines(max_lines: int, max_len: int) -> msgspec.Meta:
    """For a tuple[str, ...]: at most `max_lines` lines of `max_len` printable characters."""
    return msgspec.Meta(max_length=max_lines, extra={"item": "lines", "line_len": max_len})


_CONSTRAINTS = ("ge", "le", "min_length", "max_length", "pattern")


@dataclass(frozen=True)
class Shape:
    """A key's type taken apart: the bare type, its constraints, its element for arrays."""

    base: Any
    meta: dict[str, Any]
    optional: bool = False
    item: Shape | None = None


def shape(annotation: Any) -> Shape:
    meta: dict[str, Any] = {}
    optional = False
    while True:
        if typing.get_origin(annotation) is Annotated:
            base, *extras = typing.get_args(annotation)
            for m in extras:
                if isinstance(m, msgspec.Meta):
                    meta.update(
                        {k: getattr(m, k) for k in _CONSTRAINTS if getattr(m, k) is not None}
                    )
                    meta.update(m.extra or {})
            annotation = base
        elif typing.get_origin(annotation) in (types.UnionType, typing.Union):
            rest = [a for a in typing.get_args(annotation) if a is not type(None)]
            optional = True
            annotation = rest[0] if len(rest) == 1 else annotation
            if len(rest) != 1:
                break
        else:
            break
    if typing.get_origin(annotation) is Literal:
        meta.setdefault("choices", typing.get_args(annotation))
    item = None
    if typing.get_origin(annotation) in (tuple, list):
        item = shape(typing.get_args(annotation)[0])
    return Shape(typing.get_origin(annotation) or annotation, meta, optional, item)


def _num(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _range(s: Shape) -> str:
    if "ge" not in s.meta or "le" not in s.meta:
        return ""
    return f"{_num(s.meta['ge'])}-{_num(s.meta['le'])}{s.meta.get('unit', '')}"


def rule(annotation: Any) -> str:
    """What a key accepts, in words (the configuration reference's "accepts" column)."""
    s = shape(annotation)
    if "choices" in s.meta:
        return "one of " + ", ".join(map(str, s.meta["choices"]))
    if isinstance(s.base, type) and issubclass(s.base, Checked):
        return s.base.RULE
    if s.base is bool:
        return "true or false"
    if s.base in (int, float):
        return _range(s)
    if s.base is str:
        return str(s.meta.get("hint", ""))
    if s.base is Path:
        return f"an absolute path (at most {s.meta.get('max_bytes', PATH_MAX)} bytes)"
    if s.item is not None and s.meta.get("item") == "lines":
        return f"at most {s.meta['max_length']} lines of {s.meta['line_len']} characters"
    return ""


def wants(annotation: Any, raw: Any, key: str) -> str:
    """The refusal of a value of the wrong type for `annotation`."""
    s = shape(annotation)
    if "choices" in s.meta:
        return f"{raw!r} is not one of {', '.join(map(str, s.meta['choices']))}"
    if isinstance(s.base, type) and issubclass(s.base, Checked):
        return f'must be a string, like "{s.base.RULE}"'
    if s.base is bool:
        return "must be true or false (no quotes)"
    if s.base is int:
        return f"must be a whole number {_range(s)}".rstrip()
    if s.base is float:
        unit = s.meta.get("unit", "")
        if unit == " seconds" and "ge" in s.meta:
            return f"must be a number of seconds {_num(s.meta['ge'])}-{_num(s.meta['le'])}"
        return f"must be a number {_range(s)}".rstrip()
    if s.base is str:
        return f'must be a string in quotes, like "{s.meta.get("hint", "text")}"'
    if s.base is Path:
        return 'must be an absolute path in quotes, like "/var/lib/posterm/x"'
    if s.item is not None:
        if isinstance(s.item.base, type) and issubclass(s.item.base, msgspec.Struct):
            return f"must be an array of tables: [[{key}]]"
        if s.item.base is str:
            return 'must be a list of strings, like ["line 1", "line 2"]'
        return "must be an array"
    if key.endswith("]"):  # an entry of an array of tables
        return f"must be a table: [[{key.rpartition('[')[0]}]]"
    return f"must be a table: [{key}]"


def out_of_range(annotation: Any, raw: Any) -> str:
    s = shape(annotation)
    if isinstance(raw, float) and math.isnan(raw):
        shown = "nan"
    elif isinstance(raw, int) and abs(raw) >= 10**15:
        shown = "that many"  # no float holds some integers, and so no :g
    else:
        shown = _num(raw) if isinstance(raw, int | float) else repr(raw)
    return f"{shown} is out of range {_range(s)}".rstrip()


def too_long(annotation: Any, raw: Any) -> str:
    s = shape(annotation)
    if s.base is str:
        return (
            f"must be {s.meta.get('min_length', 0)}-{s.meta.get('max_length')} printable characters"
        )
    return f"at most {s.meta.get('max_length')} {s.meta.get('item', 'entries')}"


@functools.cache
def keys(cls: type[msgspec.Struct]) -> tuple[msgspec.structs.FieldInfo, ...]:
    """The keys of a section, as TOML names them (a field may be renamed: `from`)."""
    return msgspec.structs.fields(cls)


@functools.cache
def shapes(cls: type[msgspec.Struct]) -> tuple[tuple[str, str, Shape], ...]:
    """(field name, TOML name, shape) of each key of a section."""
    return tuple((f.name, f.encode_name, shape(f.type)) for f in keys(cls))
