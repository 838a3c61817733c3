"""A test that needs a real service or tool the machine lacks: under CI (the `CI` variable,
which .ci/run sets) it fails — .ci/run installs them all — elsewhere it skips saying why."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(why: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{why} (under CI this is a failure: .ci/run installs it)")
    pytest.skip(why)
