"""Reading a TOML config into typed Structs: msgspec converts (unknown keys refused,
types, ranges, patterns), `Section.__post_init__` adds choices and per-key rules, and a
refusal becomes a ConfigError naming the file and the dotted key (`payment.url`,
`webhooks[0].events`) with the reason in words (rules.py)."""

from __future__ import annotations

import re
import tomllib
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from posterm.protocol.config import rules

T = TypeVar("T")
Hook = Callable[[Any], Any]


class ConfigError(Exception):
    """A configuration that cannot be used: the file (when known), the dotted key ("" for
    the file as a whole) and why. Each program subclasses it."""

    def __init__(self, key: str, why: str, file: str | Path | None = None) -> None:
        self.key, self.why, self.file = key, why, file
        where = [str(part) for part in (file, key) if part not in (None, "")]
        super().__init__(": ".join([*where, why]))

    def at(self, file: str | Path, kind: type[ConfigError] | None = None) -> ConfigError:
        """The same refusal, of class `kind`, named in `file`."""
        return (kind or type(self))(self.key, self.why, file)


class Refused(ValueError):
    """A check's refusal: `key` relative to the value checked ("" the value itself, a
    field name from a Struct's __post_init__)."""

    def __init__(self, why: str, key: str = "") -> None:
        super().__init__(why)
        self.why, self.key = why, key


class CheckedText(str, rules.Checked):
    """A string that `check` accepts (ValueError: the reason, shown under the key);
    `EXAMPLE` shows a good one when the value is no string."""

    EXAMPLE: typing.ClassVar[str] = ""

    @staticmethod
    def check(raw: str) -> object:
        return None

    @classmethod
    def from_toml(cls, raw: Any) -> Any:
        if not isinstance(raw, str):
            raise Refused(f'must be a string, like "{cls.EXAMPLE}"')
        try:
            cls.check(raw)
        except ValueError as exc:
            raise Refused(str(exc)) from None
        return cls(raw)


class Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A config table: unknown keys refused; the `extra` rules of rules.py checked here.
    A subclass with cross-key rules extends __post_init__ (calling super() first)."""

    def __post_init__(self) -> None:
        for name, key, s in rules.shapes(type(self)):
            value = getattr(self, name)
            if value is None:
                continue
            choices = s.meta.get("choices")
            if choices is not None and (isinstance(value, bool) or value not in choices):
                raise Refused(f"{value!r} is not one of {', '.join(map(str, choices))}", key)
            max_bytes: int = s.meta.get("max_bytes", rules.PATH_MAX)
            if isinstance(value, Path) and len(str(value).encode()) > max_bytes:
                raise Refused(f"longer than {max_bytes} bytes", key)
            line_len: int = s.meta.get("line_len", 0)
            for line in value if line_len else ():
                if len(line) > line_len or not line.isprintable():
                    raise Refused(
                        f"{line!r}: a line is at most {line_len} printable characters", key
                    )


def require_file(path: Path | None, key: str) -> None:
    """Refused under `key` unless `path` (when given) is a file: for a rule that needs it."""
    try:
        present = path is None or path.is_file()
    except OSError as exc:  # a name too long, a directory we may not read
        raise Refused(f"{path}: {exc.strerror}", key) from None
    if not present:
        raise Refused(f"{path}: no such file", key)


def read_toml(path: Path, kind: type[ConfigError]) -> dict[str, Any]:
    """The file's TOML document; `kind` names the file when it cannot be read."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise kind("", "no such file", path) from None
    except UnicodeDecodeError:
        raise kind("", "not UTF-8 text", path) from None
    except (OSError, ValueError) as exc:  # TOMLDecodeError, or an integer past int()'s limit
        raise kind("", str(exc), path) from None
    except RecursionError:
        raise kind("", "arrays or tables nested too deeply", path) from None


def _path(raw: Any) -> Path:
    if not isinstance(raw, str) or not raw.startswith("/") or "\0" in raw:
        raise Refused('must be an absolute path in quotes, like "/var/lib/posterm/x"')
    return Path(raw)


def convert(
    data: Any,
    schema: type[T],
    kind: type[ConfigError],
    *,
    file: Path | None = None,
    prefix: str = "",
    hooks: Mapping[type, Hook] | None = None,
) -> T:
    """`data` (as TOML gives it) as a `schema`, or `kind` naming `file` and the key
    (`prefix` leads the key when `data` is one part of a document)."""
    more = dict(hooks or {})

    def dec_hook(target: type, raw: Any) -> Any:
        if target in more:
            return more[target](raw)
        if target is Path:
            return _path(raw)
        if isinstance(target, type) and issubclass(target, rules.Checked):
            return target.from_toml(raw)
        raise NotImplementedError(target)

    try:
        return msgspec.convert(data, schema, strict=True, dec_hook=dec_hook)
    except msgspec.ValidationError as exc:
        key, why = explain(exc, schema, data)
        raise kind(_join(prefix, key), why, file) from None


_AT = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")
_NAMED = re.compile(r"^Object (contains unknown|missing required) field `(.+)`$")


def explain(exc: msgspec.ValidationError, schema: Any, data: Any) -> tuple[str, str]:
    """(dotted key, why in words) of a msgspec refusal."""
    found = _AT.match(str(exc))
    msg, path = (found["msg"], found["path"] or "") if found else (str(exc), "")
    steps: list[str | int] = [
        a if a else (int(b) if b.isdigit() else b) for a, b in _STEP.findall(path)
    ]
    ann, raw, key, parent = _walk(schema, data, steps)
    cause = exc.__cause__
    if isinstance(cause, Refused):
        return _join(key, cause.key), cause.why
    named = _NAMED.match(msg)
    if named:
        return _named(named[1], named[2], ann, key)
    if steps and isinstance(steps[-1], int) and parent is not None:
        p_ann, p_key = parent
        if (
            rules.shape(ann).base in (str, int, float, bool)
            and msg.startswith("Expected `")
            and ", got `" in msg
        ):
            return p_key, rules.wants(p_ann, raw, p_key)
    if (msg.startswith("Expected `") and ", got `" in msg) or msg.startswith("Invalid enum"):
        return key, rules.wants(ann, raw, key)
    if "of length" in msg:
        return key, rules.too_long(ann, raw)
    if "matching regex" in msg:
        return key, f"{raw!r} is not {rules.shape(ann).meta.get('hint', 'allowed')}"
    if re.match(r"^Expected `\w+` [<>]=? ", msg) or msg == "Number out of range":
        return key, rules.out_of_range(ann, raw)
    return key, msg


def _named(what: str, name: str, ann: Any, key: str) -> tuple[str, str]:
    known = [
        f.encode_name for f in rules.keys(rules.shape(ann).base) if f.encode_name.isidentifier()
    ]  # not the loader's own "(file)"
    if what == "contains unknown":
        noun = "key" if key else "section"
        return _join(key, name), f"unknown {noun} (known: {', '.join(known)})"
    if key:
        return _join(key, name), "required key is missing"
    return name, f"required section [{name}] is missing"


def _walk(
    schema: Any, data: Any, steps: list[str | int]
) -> tuple[Any, Any, str, tuple[Any, str] | None]:
    """The annotation, the raw value and the dotted key at `steps`; and the container's
    annotation and key when the last step is an array index."""
    ann, raw, key = schema, data, ""
    parent: tuple[Any, str] | None = None
    for step in steps:
        s = rules.shape(ann)
        if isinstance(step, int) or step == "...":
            parent = (ann, key)
            ann = _element(ann)
            raw = raw[step] if isinstance(step, int) and isinstance(raw, list) else None
            key = f"{key}[{step}]"
            continue
        parent = None
        fields = (
            {f.encode_name: f for f in rules.keys(s.base)}
            if isinstance(s.base, type) and issubclass(s.base, msgspec.Struct)
            else {}
        )
        ann = fields[step].type if step in fields else Any
        raw = raw.get(step) if isinstance(raw, dict) else None
        key = _join(key, step)
    return ann, raw, key, parent


def _element(ann: Any) -> Any:
    """The element annotation of an array annotation (its Annotated and None taken off)."""
    while typing.get_origin(ann) is typing.Annotated:
        ann = typing.get_args(ann)[0]
    args = [a for a in typing.get_args(ann) if a is not type(None)]
    if len(args) == 1 and typing.get_origin(args[0]) in (tuple, list):
        return _element(args[0])
    return typing.get_args(ann)[0] if args else Any


def _join(key: str, name: str) -> str:
    """`section` + `key`, or `webhooks` + `[0].url`."""
    if key and name:
        return f"{key}{name}" if name.startswith("[") else f"{key}.{name}"
    return key or name
