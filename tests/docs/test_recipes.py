"""The recipes of docs/extending.md stay true: every `path:name` they cite is a file of
the repository that defines or assigns that name, and every path they cite exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ROOT / "docs" / "extending.md"
CITED = re.compile(r"`([\w./-]+\.(?:py|html|example|toml))(?::(\w+))?`")


def citations(text: str) -> list[tuple[str, str | None]]:
    return [(path, name or None) for path, name in CITED.findall(text)]


def broken(text: str, root: Path = ROOT) -> list[str]:
    """What a recipe cites that the tree does not have."""
    out = []
    for path, name in citations(text):
        if "/" not in path:
            continue  # a bare name ("base.html") is cited beside its folder
        file = root / path
        if not file.is_file():
            out.append(f"{path}: no such file")
        elif name is not None and not re.search(
            rf"^\s*(?:def|class)\s+{name}\b|^\s*{name}\b[^=\n]*=|\b{name}\s*=\s*Literal",
            file.read_text(encoding="utf-8"),
            flags=re.M,
        ):
            out.append(f"{path}:{name}: not defined there")
    return out


def test_every_file_and_name_a_recipe_cites_exists() -> None:
    """GIVEN docs/extending.md WHEN its citations are checked against the tree THEN none is
    broken, and each of the four recipes cites code."""
    text = RECIPES.read_text(encoding="utf-8")
    assert broken(text) == []
    for recipe in (
        "Add an MQTT event type",
        "Add an alert rule",
        "Add a printer transport",
        "Add a dashboard page",
    ):
        part = text.split(f"## {recipe}", 1)[1].split("\n## ", 1)[0]
        assert any(name for _, name in citations(part)), recipe


def test_a_renamed_function_breaks_the_recipe(tmp_path: Path) -> None:
    """GIVEN a recipe citing a function and a file WHEN the function is renamed or the
    file is gone THEN the check names each."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/mod.py").write_text("def kept():\n    pass\nLIMITS = {}\n")
    text = "Call `pkg/mod.py:kept`, `pkg/mod.py:LIMITS`, `pkg/mod.py:gone`, `pkg/no.py`."
    assert broken(text, tmp_path) == [
        "pkg/mod.py:gone: not defined there",
        "pkg/no.py: no such file",
    ]
