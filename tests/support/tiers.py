"""The two test tiers, kept honest: a test not marked `slow` may not start a process.

`make check` runs `pytest -m "not slow"`, the in-process tier (codecs, schemas, config,
rules, flows against fakes); `make test` runs everything, including the tests that start
postermd, the simulators, Mosquitto, PostgreSQL, chromium or a build. While a test that is
not marked slow sets up (its fixtures, session-scoped ones included) and runs, every way of
starting a process (subprocess, os.fork, os.posix_spawn, os.system) fails it, naming the
test and the command, so a forgotten marker is found the first time the test runs rather
than by a fast tier that slowly stops being fast. Teardown is not guarded: a session
fixture (a PostgreSQL cluster) may be torn down after whichever test ran last.

Tests marked `long` (15 s or more: the two-minute soak, say) are collected first: xdist
hands tests out in the collected order, so a long one starts while the other worker still
has short ones to run, rather than at the end with the other worker idle beside it.

tests/conftest.py loads this module as a plugin.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

HINT = (
    "mark it slow (`@pytest.mark.slow`, or `pytestmark = pytest.mark.slow` for a module "
    "of process tests) or give the code under test a fake instead of the process: "
    '`make check` runs `pytest -m "not slow"`, the in-process tier'
)


class ProcessInFastTier(pytest.fail.Exception):  # type: ignore[name-defined,misc]
    """Raised where a test of the fast tier starts a process: pytest's own failure (a
    BaseException), so code under test that catches OSError or Exception around its
    subprocess call cannot hide it, and a failing fixture fails the tests that share it."""


def _describe(name: str, args: tuple[Any, ...]) -> str:
    if name == "subprocess" and len(args) > 1:
        argv = args[1]  # Popen._execute_child(self, args, executable, ...)
        return " ".join(map(str, argv)) if isinstance(argv, list | tuple) else str(argv)
    return f"os.{name}({', '.join(map(repr, args[:2]))})"


@contextmanager
def no_processes(nodeid: str, spawned: list[str]) -> Iterator[None]:
    """While inside, starting a process appends it to `spawned` and raises."""
    saved: list[tuple[Any, str, Any]] = []

    def guard(owner: Any, attr: str, name: str) -> None:
        original = getattr(owner, attr, None)
        if original is None:
            return  # not on this platform

        def refuse(*args: Any, **kwargs: Any) -> Any:
            what = _describe(name, args)
            spawned.append(what)
            raise ProcessInFastTier(
                f"{nodeid} started a process ({what}) but is not marked slow: {HINT}"
            )

        saved.append((owner, attr, original))
        setattr(owner, attr, refuse)

    guard(subprocess.Popen, "_execute_child", "subprocess")
    for attr in ("fork", "forkpty", "posix_spawn", "posix_spawnp", "system"):
        guard(os, attr, attr)
    try:
        yield
    finally:
        for owner, attr, original in reversed(saved):
            setattr(owner, attr, original)


def _run_guarded(item: pytest.Item) -> Generator[None, Any, Any]:
    if item.get_closest_marker("slow") is not None:
        return (yield)
    spawned: list[str] = []
    with no_processes(item.nodeid, spawned):
        result = yield
    if spawned:  # the code under test caught ProcessInFastTier (an `except BaseException`)
        pytest.fail(
            f"{item.nodeid} started a process ({spawned[0]}) but is not marked slow: {HINT}",
            pytrace=False,
        )
    return result


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("long") is None)  # stable: long first


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, Any, Any]:
    return (yield from _run_guarded(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    return (yield from _run_guarded(item))
