"""Dataclass fields bound to BMP numbers: one generic encoder/decoder for every message."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, TypeVar

from posterm.protocol.zvt import bmp
from posterm.protocol.zvt.errors import ZvtDecodeError

T = TypeVar("T")


def bmp_field(number: int) -> Any:
    """A message field carried as BMP `number`; None means absent."""
    if number not in bmp.SPECS:
        raise ValueError(f"unknown BMP {number:02X}")
    return dataclasses.field(default=None, metadata={"bmp": number})


@functools.cache
def _bmp_fields(cls: type) -> tuple[tuple[str, int], ...]:
    return tuple(
        (f.name, f.metadata["bmp"]) for f in dataclasses.fields(cls) if "bmp" in f.metadata
    )


@functools.cache
def _layout(cls: type) -> tuple[dict[int, str], bool]:
    """BMP number -> field name, and whether the class keeps unnamed BMPs in `other`."""
    by_number = {number: name for name, number in _bmp_fields(cls)}
    return by_number, any(f.name == "other" for f in dataclasses.fields(cls))


def encode(message: Any) -> bytes:
    """The BMP-tagged fields of `message`, in declaration order, absent ones skipped;
    then its `other` BMPs (raw pass-through), if it has that field."""
    out = bytearray()
    for name, number in _bmp_fields(type(message)):
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
    by_number, has_other = _layout(cls)
    values: dict[str, Any] = dict(fixed)
    other: list[tuple[int, bmp.Value]] = []
    seen: set[int] = set()
    for number, value in bmp.decode_all(data, offset):
        if number in seen:
            raise ZvtDecodeError(f"BMP {number:02X} appears twice")
        seen.add(number)
        name = by_number.get(number)
        if name is not None:
            values[name] = value
        elif has_other:
            other.append((number, value))
        else:
            raise ZvtDecodeError(f"BMP {number:02X} is not allowed in {cls.__name__}")
    if has_other:
        values["other"] = tuple(other)
    return cls(**values)
