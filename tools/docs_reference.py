"""The generated pages of the docs site: the changelog (from CHANGELOG.md), and later the
references built from the code itself.

As an mkdocs hook (`hooks:` in mkdocs.yml) `on_files` adds each page to the site at build
time, so nothing generated is committed; `python tools/docs_reference.py OUTDIR` writes
them as files to read or diff.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
from mkdocs.structure.files import File

from posterm.protocol.mqtt import wire

ROOT = Path(__file__).resolve().parent.parent


def changelog() -> str:
    """CHANGELOG.md as a page of the site."""
    return (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


def configuration() -> str:
    """The annotated example configs (systemd/*.toml.example)."""
    parts = ["# Configuration reference\n"]
    for name in ("posterm.toml.example", "posterm-host.toml.example"):
        text = (ROOT / "systemd" / name).read_text(encoding="utf-8")
        parts.append(f"## `systemd/{name}`\n\n```toml\n{text}```\n")
    return "\n".join(parts)


def mqtt() -> str:
    """The wire schemas as JSON Schema."""
    kinds = [wire.Envelope, *dict.fromkeys(wire.DATA.values()), wire.Telemetry, wire.Status,
             wire.Reply, wire.Command, wire.Ack]
    schema = msgspec.json.schema_components(kinds)[1]
    return ("# MQTT wire reference\n\n```json\n" + json.dumps(schema, indent=2)
            + "\n```\n")


PAGES: dict[str, Callable[[], str]] = {
    "changelog.md": changelog,
    "reference/configuration.md": configuration,
    "reference/mqtt.md": mqtt,
}


def on_files(files: Any, config: Any) -> Any:
    """mkdocs hook: add the generated pages to the site."""
    for path, make in PAGES.items():
        files.append(File.generated(config, path, content=make()))
    return files


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: docs_reference.py OUTDIR", file=sys.stderr)
        return 2
    out = Path(argv[0])
    for path, make in PAGES.items():
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(make(), encoding="utf-8")
        print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
