"""Shared fixtures: the shipped default model, loaded once per session."""

from __future__ import annotations

import os

import pytest

# One torch thread in the tests and every process they start: on a busy two-core machine (CI)
# a second intra-op thread spins waiting for a core and makes each fill several times slower.
os.environ.setdefault("DIFFILL_THREADS", "1")

from diffill.infill.engine import InfillEngine
from diffill.model.denoiser import MaskedLMDenoiser


@pytest.fixture(scope="session")
def denoiser() -> MaskedLMDenoiser:
    return MaskedLMDenoiser(device="cpu")


@pytest.fixture(scope="session")
def engine(denoiser: MaskedLMDenoiser) -> InfillEngine:
    return InfillEngine(denoiser)
