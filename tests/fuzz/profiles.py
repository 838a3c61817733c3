"""The fuzzers' hypothesis profiles: `check` (a smoke run in `make check`, the fast tier),
`ci` (short, reproducible, in `make test`) and `long` (`make fuzz`). The tests under
tests/fuzz, and the property tests elsewhere that take `fuzz(scale)` (the ZVT codec and
the printer simulator's parser), follow the active one; the rest keep their own settings."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=150,
    deadline=None,
    derandomize=True,  # the same examples on every run: a CI failure reproduces locally
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("check", settings.get_profile("ci"), max_examples=25)
settings.register_profile(
    "long",
    max_examples=20_000,
    deadline=None,
    print_blob=True,  # the failing example is kept in .hypothesis/ and replayed first
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILES = ("check", "ci", "long")


def active_name() -> str:
    """`HYPOTHESIS_PROFILE`, else the profile `--hypothesis-profile` loaded, else `ci`."""
    # settings.get_current_profile_name() is hypothesis 6.139+; pyproject asks for 6.100+
    loaded = getattr(settings, "get_current_profile_name", lambda: "default")()
    name = os.environ.get("HYPOTHESIS_PROFILE") or loaded
    return name if name in PROFILES else "ci"


def fuzz(scale: float = 1.0) -> settings:
    """The active profile as a test decorator; `scale` < 1 for tests whose examples are
    slow (a socket round trip each)."""
    base = settings.get_profile(active_name())
    return settings(base, max_examples=max(10, int(base.max_examples * scale)))


def time_limit() -> float:
    """Seconds one fuzz test may run before it counts as hung: generous (a loaded machine,
    shrinking a failure), 2 s per example and at least 5 minutes."""
    return max(300.0, 2.0 * settings.get_profile(active_name()).max_examples)
