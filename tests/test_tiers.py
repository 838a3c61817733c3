"""The tier guard (tests/support/tiers.py): a test not marked slow may not start a process.

Each test runs a small suite in-process with pytester and the guard loaded, and reads its
outcomes and report.
"""

from __future__ import annotations

import pytest

INI = '[pytest]\nmarkers =\n    slow: starts a process\n'
CONFTEST = 'pytest_plugins = ["tests.support.tiers"]\n'


def run(pytester: pytest.Pytester, source: str) -> pytest.RunResult:
    pytester.makeini(INI)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_inner=source)
    # without hypothesis's plugin: its terminal summary costs a second per inner session
    plugins_off = ("no:cacheprovider", "no:xdist", "no:hypothesispytest")
    return pytester.runpytest_inprocess(*(arg for p in plugins_off for arg in ("-p", p)))


def test_an_unmarked_test_starting_a_process_fails_naming_it_and_the_command(
    pytester: pytest.Pytester,
) -> None:
    """GIVEN a test not marked slow that runs `true` WHEN the suite runs THEN it fails,
    saying which test started which command and how to fix it."""
    result = run(pytester, (
        "import subprocess\n"
        "def test_runs_a_command():\n"
        "    subprocess.run(['true'], check=True)\n"
    ))  # fmt: skip
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*test_inner.py::test_runs_a_command started a process (true) but is not marked slow*"
    ])  # fmt: skip


def test_spawn_and_system_are_refused_too(pytester: pytest.Pytester) -> None:
    """GIVEN unmarked tests that posix_spawn and os.system THEN each fails (os.fork is
    refused the same way; not tried here, where a broken guard would fork the suite)."""
    result = run(pytester, (
        "import os, pytest\n"
        "@pytest.mark.parametrize('start', [\n"
        "    lambda: os.posix_spawn('/bin/true', ['true'], {}),\n"
        "    lambda: os.system('true'),\n"
        "])\n"
        "def test_starts(start):\n"
        "    start()\n"
    ))  # fmt: skip
    result.assert_outcomes(failed=2)
    assert result.stdout.str().count("but is not marked slow") >= 2


def test_code_that_swallows_the_refusal_still_fails(pytester: pytest.Pytester) -> None:
    """GIVEN code under test that catches BaseException around its subprocess call THEN
    the test fails all the same."""
    result = run(pytester, (
        "import subprocess\n"
        "def test_hides_it():\n"
        "    try:\n"
        "        subprocess.run(['true'])\n"
        "    except BaseException:\n"
        "        pass\n"
    ))  # fmt: skip
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*test_hides_it started a process (true)*"])


def test_a_session_fixture_starting_a_process_errors_the_unmarked_test(
    pytester: pytest.Pytester,
) -> None:
    """GIVEN a session-scoped fixture that starts a process (as pg_cluster does), first
    used by a test not marked slow THEN that test errors at setup."""
    result = run(pytester, (
        "import subprocess, pytest\n"
        "@pytest.fixture(scope='session')\n"
        "def server():\n"
        "    return subprocess.run(['true']).returncode\n"
        "def test_uses_the_server(server):\n"
        "    assert server == 0\n"
    ))  # fmt: skip
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*test_uses_the_server started a process (true)*"])


def test_an_in_process_test_passes(pytester: pytest.Pytester) -> None:
    """GIVEN a test that starts nothing THEN the guard lets it pass."""
    run(pytester, "def test_adds():\n    assert 1 + 1 == 2\n").assert_outcomes(passed=1)


@pytest.mark.slow
def test_a_test_marked_slow_may_start_processes(pytester: pytest.Pytester) -> None:
    """GIVEN tests marked slow, one by a decorator and a module by pytestmark, that run
    `true` THEN they pass."""
    pytester.makepyfile(test_module_mark=(
        "import subprocess, pytest\n"
        "pytestmark = pytest.mark.slow\n"
        "def test_runs():\n"
        "    assert subprocess.run(['true']).returncode == 0\n"
    ))  # fmt: skip
    result = run(pytester, (
        "import subprocess, pytest\n"
        "@pytest.mark.slow\n"
        "def test_runs():\n"
        "    assert subprocess.run(['true']).returncode == 0\n"
    ))  # fmt: skip
    result.assert_outcomes(passed=2)
