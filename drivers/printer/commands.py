"""python-escpos's command layer on a buffer: a receipt is built with its `Escpos` (text
through its code-page encoder, alignment, sizes, native QR code, cut) under a posterm
profile, and the bytes go out on posterm's own link (time limits, drain, `PrinterGone` /
`PrinterTimeout`: printer.py), which python-escpos's printer classes do not offer.

Imported with the first receipt, not at start: python-escpos brings Pillow, qrcode and
python-barcode along. Before the import, python-escpos is pointed (its documented
ESCPOS_CAPABILITIES_* variables) at a private copy of its database holding only its
encodings and the default profile: it parses its database with YAML (a second here, ten on
a Pi Zero) and puts its pickle in a fresh /tmp directory at every import otherwise. The
copy goes when the process ends, with the directory python-escpos makes at every import.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
from functools import cache
from pathlib import Path

from posterm.drivers.printer import profile as profiles


def _prepare_database() -> str | None:
    """The private directory python-escpos's import may write into (None: loaded)."""
    if "escpos.capabilities" in sys.modules:
        return None
    scratch = Path(tempfile.mkdtemp(prefix="posterm-escpos-"))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    if "ESCPOS_CAPABILITIES_FILE" in os.environ:  # the operator's own database
        return str(scratch)
    default = profiles.load(profiles.DEFAULT).data  # python-escpos needs it at import
    small = {"encodings": profiles.encodings(), "profiles": {profiles.DEFAULT: default}}
    path = scratch / "capabilities.json"
    path.write_text(json.dumps(small), encoding="utf-8")
    os.environ["ESCPOS_CAPABILITIES_FILE"] = str(path)
    os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = str(scratch)  # its pickle of our file
    return str(scratch)


_scratch, _tempdir = _prepare_database(), tempfile.tempdir
try:  # its mkdtemp() (an eagerly evaluated default) lands in the scratch directory too
    tempfile.tempdir = _scratch or _tempdir
    from escpos.capabilities import Profile as EscposProfile
    from escpos.escpos import Escpos
    from escpos.magicencode import Encoder
finally:
    tempfile.tempdir = _tempdir


def escpos_profile(printer: profiles.Profile) -> EscposProfile:
    """python-escpos's `Profile` ("for users who want to provide their own profile") with
    the database's entry, or posterm's addition, as its data."""
    return _escpos_profile(printer.name)


@cache
def _escpos_profile(name: str) -> EscposProfile:
    data = profiles.load(name).data
    class_name = "Posterm" + "".join(ch for ch in name if ch.isalnum()) + "Profile"
    profile_class = type(class_name, (EscposProfile,), {"profile_data": data})
    return profile_class(features=data.get("features", {}))


@cache
def _encoder(name: str) -> Encoder:
    """One encoder a profile: it keeps the character maps of the code pages it used."""
    return Encoder(_escpos_profile(name).get_code_pages())


class Job(Escpos):  # type: ignore[misc]  # python-escpos has no type hints
    """An ESC/POS job built in memory with python-escpos's commands for `printer`."""

    def __init__(self, printer: profiles.Profile) -> None:
        super().__init__(
            profile=escpos_profile(printer),
            magic_encode_args={"encoder": _encoder(printer.name)},
        )
        self.output = bytearray()

    def _raw(self, msg: bytes) -> None:
        self.output += msg
