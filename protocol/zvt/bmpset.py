"""Dataclass fields bound to BMP numbers: one generic encoder/decoder for every message."""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable
from typing import Any, TypeVar

from posterm.protocol.zvt import bmp
from posterm.protocol.zvt.errors import ZvtDecodeError

T = TypeVar("T")


def bmp_field(number: int) -> Any:
    """A message field carried as BMP `number`; None means absent."""
    if number not in bmp.SPECS:
        raise ValueError(f"unknown BMP {number:02X}")
    return dataclasses.field(default=None, metadata={"bmp": number})


@dataclasses.dataclass(frozen=True)
class _Layout:
    """Where a message class keeps its BMPs."""

    fields: tuple[tuple[str, int], ...]  # (field name, BMP number), in declaration order
    by_number: dict[int, str]  # BMP number -> field name
    has_other: bool  # whether the class keeps unnamed BMPs in `other`
    values: Callable[[Any], tuple[Any, ...]]  # a message -> its BMP fields' values, in order
    encoders: tuple[bmp.Encoder, ...]  # each field's BMP encoder, in the same order
    defaults: dict[str, Any] | None  # every field's default, when `_build` may fill them in
    readers: dict[int, tuple[bmp.Decoder, str | None]]  # every BMP: its decoder, its field


_LAYOUTS: dict[type, _Layout] = {}


def _getter(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """One C call for all the fields (attrgetter returns a bare value for one name)."""
    if len(names) == 1:
        name = names[0]
        return lambda message: (getattr(message, name),)
    if not names:
        return lambda message: ()
    return operator.attrgetter(*names)


def _plain_defaults(cls: type) -> dict[str, Any] | None:
    """Every field's default if `cls` is a plain dataclass: each field in `__init__` with a
    plain default, no `__post_init__`, no `__slots__`; else None."""
    if hasattr(cls, "__post_init__") or any("__slots__" in vars(c) for c in cls.__mro__):
        return None
    defaults: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if not f.init or f.default is dataclasses.MISSING:
            return None
        defaults[f.name] = f.default
    return defaults


def _build(cls: type[T], layout: _Layout, values: dict[str, Any]) -> T:
    """`cls(**values)`. A frozen dataclass's `__init__` sets each of its fields through
    `object.__setattr__`, 26 calls for a 04 0F: for a plain one (`_plain_defaults`), the
    instance's dict is filled in one go instead; the object is the same (==, hash)."""
    if layout.defaults is None:
        return cls(**values)
    message = object.__new__(cls)
    state = message.__dict__
    state.update(layout.defaults)
    state.update(values)
    return message


def _layout(cls: type) -> _Layout:
    """The layout of `cls`, worked out on first use (a plain dict rather than
    functools.cache, whose stub does not accept a class as a key under mypy; two threads
    racing on first use only compute the same layout twice)."""
    layout = _LAYOUTS.get(cls)
    if layout is None:
        fields = tuple(
            (f.name, f.metadata["bmp"]) for f in dataclasses.fields(cls) if "bmp" in f.metadata
        )
        by_number = {number: name for name, number in fields}
        layout = _Layout(
            fields=fields,
            by_number=by_number,
            has_other=any(f.name == "other" for f in dataclasses.fields(cls)),
            values=_getter(tuple(name for name, _ in fields)),
            encoders=tuple(bmp.encoder(number) for _, number in fields),
            defaults=_plain_defaults(cls),
            readers={n: (read, by_number.get(n)) for n, read in bmp.DECODERS.items()},
        )
        _LAYOUTS[cls] = layout
    return layout


def encode(message: Any) -> bytes:
    """The BMP-tagged fields of `message`, in declaration order, absent ones skipped;
    then its `other` BMPs (raw pass-through), if it has that field."""
    layout = _layout(type(message))
    parts = [
        write(value)
        for write, value in zip(layout.encoders, layout.values(message), strict=True)
        if value is not None
    ]
    if layout.has_other:
        parts += [bmp.encode_one(number, value) for number, value in message.other]
    return b"".join(parts)


def decode(cls: type[T], data: bytes, offset: int = 0, **fixed: Any) -> T:
    """Build `cls` from the BMPs in `data[offset:]` plus the `fixed` (untagged) fields.

    A BMP the class has no field for goes to its `other` field when it has one and is
    an error otherwise; the same BMP twice is an error.
    """
    layout = _layout(cls)
    has_other, readers = layout.has_other, layout.readers
    found: dict[str, Any] = {}
    other: list[tuple[int, bmp.Value]] = []
    seen: set[int] = set()  # the BMPs that went to `other`
    refused: str | None = None  # the first BMP twice or not allowed, said once all decoded
    if not isinstance(data, bytes):
        data = bytes(data)
    size = len(data)
    # bmp.decode_all's loop, with the placing of each value folded in (one pass, no list)
    while offset < size:
        number = data[offset]
        reader = readers.get(number)
        if reader is None:
            raise ZvtDecodeError(f"unknown BMP {number:02X} at offset {offset}")
        decoder, name = reader
        value, offset = decoder(data, offset + 1)
        if name is not None and name not in found and value is not None:
            found[name] = value
        elif value is None or refused is not None:  # track data, or already refused
            pass
        elif name is not None or number in seen:
            refused = f"BMP {number:02X} appears twice"
        elif has_other:
            seen.add(number)
            other.append((number, value))
        else:
            refused = f"BMP {number:02X} is not allowed in {cls.__name__}"
    if refused is not None:  # as before: a malformed BMP anywhere is reported first
        raise ZvtDecodeError(refused)
    values: dict[str, Any] = fixed
    values.update(found)
    if layout.has_other:
        values["other"] = tuple(other)
    return _build(cls, layout, values)
