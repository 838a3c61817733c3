"""The fuzzers' hypothesis profiles are registered here (tests/fuzz/profiles.py), before
pytest's configuration, so `pytest tests/fuzz --hypothesis-profile=long` finds them."""

from __future__ import annotations

from tests.fuzz import profiles

assert profiles.PROFILES  # registered on import
