"""The packaging tests' fixtures: an empty dpkg root, and both packages built once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.packaging.debs import build
from tests.packaging.support import new_dpkg_root, scratch


@pytest.fixture
def root() -> Iterator[Path]:
    """An empty root for dpkg, in memory."""
    with scratch("posterm-root-") as path:
        yield new_dpkg_root(path)


@pytest.fixture(scope="session")
def debs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build(tmp_path_factory)
