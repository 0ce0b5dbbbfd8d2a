"""End-to-end fixtures: one shared `diffill serve` process with the shipped model."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from lsp_harness import TEST_OPTIONS, Session
from lsprotocol import types

from diffill.lsp.config import Settings
from diffill.model.sampler_config import camel


@pytest.fixture(scope="session")
def server() -> Iterator[Session]:
    """The shipped model over stdio, utf-16 positions."""
    session = Session(TEST_OPTIONS)
    yield session
    session.close()


def as_settings_json(value: object) -> object:
    """A settings dataclass as the camelCase JSON the server takes (every key, nested ones too)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {camel(f.name): as_settings_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


@pytest.fixture(autouse=True)
def default_settings_after(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests share one server: each that used it hands it back with every setting at its default.

    Settings merge, so a test that changed one and forgot it would change the tests after it.
    """
    yield
    if "server" not in request.fixturenames:
        return
    server: Session = request.getfixturevalue("server")
    defaults = as_settings_json(Settings())
    assert isinstance(defaults, dict)
    server.do(server.client.workspace_did_change_configuration,
              types.DidChangeConfigurationParams(settings={**defaults, **TEST_OPTIONS}))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes several seconds of model time")
