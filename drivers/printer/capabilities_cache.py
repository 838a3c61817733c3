"""Where python-escpos keeps its parsed printer-capabilities database.

python-escpos parses its capabilities file (a large YAML/JSON document) on import and
caches the result as a pickle in `ESCPOS_CAPABILITIES_PICKLE_DIR`, or else in a fresh
`mkdtemp()` directory: a new directory in /tmp at every start (on a Pi, /tmp is RAM) that
is never reused, so every start parses the file again (0.5 s on a desktop CPU). Worse, it
calls `mkdtemp()` even when the variable is set (it is the default argument of
`environ.get`). So this imports python-escpos's capabilities once, pointed at one lasting
directory and with `tempfile.mkdtemp` answering that directory for the length of the
import: systemd's `CACHE_DIRECTORY` (the unit's `CacheDirectory=posterm`), else
`$XDG_CACHE_HOME/posterm` or `~/.cache/posterm`. A directory it cannot create or write
falls back to python-escpos's own behaviour."""

from __future__ import annotations

import importlib
import os
import tempfile
from pathlib import Path

VARIABLE = "ESCPOS_CAPABILITIES_PICKLE_DIR"


def cache_dir(env: dict[str, str] | os._Environ[str] = os.environ) -> Path:
    if env.get("CACHE_DIRECTORY"):
        return Path(env["CACHE_DIRECTORY"].split(":")[0])
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "posterm"


def configure() -> None:
    """Call before anything imports python-escpos."""
    where = Path(os.environ[VARIABLE]) if os.environ.get(VARIABLE) else cache_dir()
    try:
        where.mkdir(parents=True, exist_ok=True)
    except OSError:
        return
    if not os.access(where, os.W_OK):
        return
    os.environ[VARIABLE] = str(where)
    real = tempfile.mkdtemp
    tempfile.mkdtemp = lambda *args, **kwargs: str(where)  # type: ignore[assignment]
    try:
        importlib.import_module("escpos.capabilities")
    finally:
        tempfile.mkdtemp = real
