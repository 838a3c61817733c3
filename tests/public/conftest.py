"""The host's store fixtures (tests/host/conftest.py) for the status page's tests."""

from tests.host.conftest import pg_cluster, pg_url, store_url

__all__ = ["pg_cluster", "pg_url", "store_url"]
