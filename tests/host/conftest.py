"""posterm-host's fixtures: one throw-away PostgreSQL cluster per test session (per xdist
worker), a database of its own per test, and `store_url` to run a test on SQLite and on
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import Cluster, start_cluster


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    cluster = start_cluster()
    yield cluster
    cluster.close()


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> str:
    """A new empty database on the session's cluster (started again if a test stopped it)."""
    if not pg_cluster.running():
        pg_cluster.start()
    return pg_cluster.create_database()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store's URL, once on SQLite and once on PostgreSQL (a server process: the
    PostgreSQL half is in the slow tier, the SQLite half in the fast one)."""
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'host.db'}"
    return str(request.getfixturevalue("pg_url"))
