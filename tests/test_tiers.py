"""The tier guard (tests/support/tiers.py): a test not marked slow may not start a process.

Each test runs a small suite in-process with pytester and the guard loaded, and reads its
outcomes and report.
"""

from __future__ import annotations

from textwrap import dedent

import pytest

INI = "[pytest]\nmarkers =\n    slow: starts a process\n"
CONFTEST = 'pytest_plugins = ["tests.support.tiers"]\n'
# without hypothesis's plugin: its terminal summary costs a second per inner session
PLUGINS_OFF = ("no:cacheprovider", "no:xdist", "no:hypothesispytest")


def run(pytester: pytest.Pytester, source: str) -> pytest.RunResult:
    pytester.makeini(INI)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_inner=dedent(source))
    return pytester.runpytest_inprocess(*(arg for p in PLUGINS_OFF for arg in ("-p", p)))


def test_an_unmarked_test_starting_a_process_fails_naming_it_and_the_command(
    pytester: pytest.Pytester,
) -> None:
    """GIVEN a test not marked slow that runs `true` WHEN the suite runs THEN it fails,
    saying which test started which command and how to fix it."""
    result = run(
        pytester,
        """
        import subprocess
        def test_runs_a_command():
            subprocess.run(['true'], check=True)
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*test_inner.py::test_runs_a_command started a process (true) but is not marked slow*"]
    )


def test_spawn_and_system_are_refused_too(pytester: pytest.Pytester) -> None:
    """GIVEN unmarked tests that posix_spawn and os.system THEN each fails (os.fork is
    refused the same way; not tried here, where a broken guard would fork the suite)."""
    result = run(
        pytester,
        """
        import os, pytest
        @pytest.mark.parametrize('start', [
            lambda: os.posix_spawn('/bin/true', ['true'], {}),
            lambda: os.system('true'),
        ])
        def test_starts(start):
            start()
        """,
    )
    result.assert_outcomes(failed=2)
    report = result.stdout.str()
    assert "started a process (os.posix_spawn('/bin/true', ['true'])) but is not" in report
    assert "started a process (os.system('true')) but is not marked slow" in report


def test_code_that_swallows_the_refusal_still_fails(pytester: pytest.Pytester) -> None:
    """GIVEN code under test that catches BaseException around its subprocess call THEN
    the test fails all the same."""
    result = run(
        pytester,
        """
        import subprocess
        def test_hides_it():
            try:
                subprocess.run(['true'])
            except BaseException:
                pass
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*test_hides_it started a process (true)*"])


def test_a_session_fixture_starting_a_process_errors_the_unmarked_test(
    pytester: pytest.Pytester,
) -> None:
    """GIVEN a session-scoped fixture that starts a process (as pg_cluster does), first
    used by a test not marked slow THEN that test errors at setup."""
    result = run(
        pytester,
        """
        import subprocess, pytest
        @pytest.fixture(scope='session')
        def server():
            return subprocess.run(['true']).returncode
        def test_uses_the_server(server):
            assert server == 0
        """,
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*test_uses_the_server started a process (true)*"])


def test_an_in_process_test_passes(pytester: pytest.Pytester) -> None:
    """GIVEN a test that starts nothing THEN the guard lets it pass."""
    result = run(pytester, "def test_adds():\n    assert 1 + 1 == 2\n")
    result.assert_outcomes(passed=1)


@pytest.mark.slow
def test_a_test_marked_slow_may_start_processes(pytester: pytest.Pytester) -> None:
    """GIVEN tests marked slow, one by a decorator and a module by pytestmark, that run
    `true` THEN they pass."""
    pytester.makepyfile(
        test_module_mark="""
import subprocess, pytest
pytestmark = pytest.mark.slow
def test_runs():
    assert subprocess.run(['true']).returncode == 0
"""
    )
    result = run(
        pytester,
        """
        import subprocess, pytest
        @pytest.mark.slow
        def test_runs():
            assert subprocess.run(['true']).returncode == 0
        """,
    )
    result.assert_outcomes(passed=2)
