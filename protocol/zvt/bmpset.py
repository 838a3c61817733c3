"""Dataclass fields bound to BMP numbers: one generic encoder/decoder for every message."""

from __future__ import annotations

import dataclasses
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


_LAYOUTS: dict[type, _Layout] = {}


def _layout(cls: type) -> _Layout:
    """The layout of `cls`, worked out on first use (a plain dict rather than
    functools.cache, whose stub does not accept a class as a key under mypy; two threads
    racing on first use only compute the same layout twice)."""
    layout = _LAYOUTS.get(cls)
    if layout is None:
        fields = tuple(
            (f.name, f.metadata["bmp"]) for f in dataclasses.fields(cls) if "bmp" in f.metadata
        )
        layout = _Layout(
            fields=fields,
            by_number={number: name for name, number in fields},
            has_other=any(f.name == "other" for f in dataclasses.fields(cls)),
        )
        _LAYOUTS[cls] = layout
    return layout


def encode(message: Any) -> bytes:
    """The BMP-tagged fields of `message`, in declaration order, absent ones skipped;
    then its `other` BMPs (raw pass-through), if it has that field."""
    out = bytearray()
    for name, number in _layout(type(message)).fields:
        value = getattr(message, name)
        if value is not None:
            out += bmp.encode_one(number, value)
    for number, value in getattr(message, "other", ()):
        out += bmp.encode_one(number, value)
    return bytes(out)


def decode(cls: type[T], data: bytes, offset: int = 0, **fixed: Any) -> T:
    """Build `cls` from the BMPs in `data[offset:]` plus the `fixed` (untagged) fields.

    A BMP the class has no field for goes to its `other` field when it has one and is
    an error otherwise; the same BMP twice is an error.
    """
    layout = _layout(cls)
    values: dict[str, Any] = dict(fixed)
    other: list[tuple[int, bmp.Value]] = []
    seen: set[int] = set()
    for number, value in bmp.decode_all(data, offset):
        if number in seen:
            raise ZvtDecodeError(f"BMP {number:02X} appears twice")
        seen.add(number)
        name = layout.by_number.get(number)
        if name is not None:
            values[name] = value
        elif layout.has_other:
            other.append((number, value))
        else:
            raise ZvtDecodeError(f"BMP {number:02X} is not allowed in {cls.__name__}")
    if layout.has_other:
        values["other"] = tuple(other)
    return cls(**values)
