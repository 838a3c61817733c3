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
falls back to python-escpos's own behaviour.

python-escpos writes its pickle in place, so a second process starting at that moment
(postermd and a `posterm` command, or test workers) could read half of it. Each process
therefore imports with a private directory inside the cache, seeded with a hard link to
the shared pickle when there is one, and publishes a pickle it had to make with an atomic
rename; a shared pickle that does not load is thrown away and made again."""

from __future__ import annotations

import contextlib
import importlib
import os
import pickle
import platform
import shutil
import sys
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
    shared = Path(os.environ[VARIABLE]) if os.environ.get(VARIABLE) else cache_dir()
    try:
        shared.mkdir(parents=True, exist_ok=True)
        private = Path(tempfile.mkdtemp(prefix=".escpos-", dir=shared))
    except OSError:
        return
    name = f"{platform.python_version()}.capabilities.pickle"
    before = os.environ.get(VARIABLE)
    os.environ[VARIABLE] = str(private)
    try:
        for attempt in (1, 2):
            if (shared / name).exists():
                with contextlib.suppress(OSError):
                    os.link(shared / name, private / name)  # keeps its mtime: no re-parse
            try:
                _import(private)
                break
            except (EOFError, pickle.UnpicklingError):  # a broken shared pickle: make anew
                sys.modules.pop("escpos.capabilities", None)
                for broken in (shared / name, private / name):
                    with contextlib.suppress(OSError):
                        broken.unlink()
                if attempt == 2:
                    raise
        made = private / name
        if made.exists() and not (shared / name).exists():
            with contextlib.suppress(OSError):
                os.replace(made, shared / name)  # whole, or not there at all
    finally:
        if before is None:
            os.environ.pop(VARIABLE, None)
        else:
            os.environ[VARIABLE] = before
        shutil.rmtree(private, ignore_errors=True)


def _import(where: Path) -> None:
    real = tempfile.mkdtemp
    tempfile.mkdtemp = lambda *args, **kwargs: str(where)  # type: ignore[assignment]
    try:
        importlib.import_module("escpos.capabilities")
    finally:
        tempfile.mkdtemp = real
