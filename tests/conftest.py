# mypy: allow-untyped-defs, allow-untyped-calls
"""Fixtures every test directory may use: one real PostgreSQL server per test session (per
xdist worker), and fresh documents on it (tests/pg, and the engine tests run on both stores)."""

from __future__ import annotations

import itertools
import os

import pytest
from pg.server import Server, available

_names = itertools.count()


@pytest.fixture(scope="session")
def pg_server():
    """The session's server, started once and removed at the end."""
    missing = available()
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the PostgreSQL tests must run in CI: {missing}")
        pytest.skip(missing)
    server = Server()
    yield server
    server.close()


@pytest.fixture
def pg_url(pg_server: Server, request: pytest.FixtureRequest) -> str:
    """The URL of a document no other test uses (it does not exist yet)."""
    return pg_server.url(f"{request.node.name}-{os.getpid()}-{next(_names)}")


@pytest.fixture
def private_server():
    """A server of the test's own, for tests that stop it."""
    server = Server()
    yield server
    server.close()
