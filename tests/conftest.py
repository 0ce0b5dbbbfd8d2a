"""Shared fixtures: the shipped default model, loaded once per session."""

from __future__ import annotations

import pytest

from diffill.infill.engine import InfillEngine
from diffill.model.denoiser import MaskedLMDenoiser


@pytest.fixture(scope="session")
def denoiser() -> MaskedLMDenoiser:
    return MaskedLMDenoiser(device="cpu")


@pytest.fixture(scope="session")
def engine(denoiser: MaskedLMDenoiser) -> InfillEngine:
    return InfillEngine(denoiser)
