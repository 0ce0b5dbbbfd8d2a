"""End-to-end fixtures: one shared `diffill serve` process with the shipped model."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lsp_harness import TEST_OPTIONS, Session


@pytest.fixture(scope="session")
def server() -> Iterator[Session]:
    """The shipped model over stdio, utf-16 positions."""
    session = Session(TEST_OPTIONS)
    yield session
    session.close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes several seconds of model time")
