"""The generated pages of the docs site: the changelog (from CHANGELOG.md), the
configuration reference (tools/docs_config.py, from the config schemas) and the MQTT wire
reference (tools/docs_wire.py, from protocol/mqtt/wire.py).

As an mkdocs hook (`hooks:` in mkdocs.yml) `on_files` adds each page to the site at build
time, so nothing generated is committed; `python tools/docs_reference.py OUTDIR` writes
them as files to read or diff.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File

sys.path.insert(0, str(Path(__file__).resolve().parent))  # its sibling modules, as a hook too
import docs_config
import docs_wire

ROOT = Path(__file__).resolve().parent.parent


def changelog() -> str:
    """CHANGELOG.md as a page of the site."""
    return (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


PAGES: dict[str, Callable[[], str]] = {
    "changelog.md": changelog,
    "reference/configuration.md": docs_config.page,
    "reference/mqtt.md": docs_wire.page,
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
