"""The engine's request and result types and its stop controls, free of numpy and the model.

Callers (the CLI, the language server) import these cheaply at start-up; the engine and
the model (numpy; torch only for other backends) load later.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from diffill.model.sampler_config import COMMIT_RULES, SamplerConfig

from .syntax import HoleKind

DRAFT_POLICIES = ("off", "prefer", "score", "verify")

__all__ = ["COMMIT_RULES", "DRAFT_POLICIES", "Cancelled", "Candidate", "FillRequest", "FillResult",
           "SamplerConfig", "StopSignal"]


class Cancelled(Exception):
    """The request was cancelled or ran past its deadline between steps."""


@dataclass
class StopSignal:
    """Cancel flag and deadline checked between denoising steps.

    A cancel abandons the request (Cancelled). A deadline finishes it: the open slots take
    the last step's predictions, so the caller still gets a complete fill, just a rougher one.
    """

    cancel: threading.Event = field(default_factory=threading.Event)
    deadline: float | None = None  # time.monotonic() value

    def cancelled(self) -> bool:
        return self.cancel.is_set()

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline

    def fired(self) -> bool:
        return self.cancelled() or self.expired()


@dataclass(frozen=True)
class FillRequest:
    text: str  # the whole buffer
    start: int  # character offset of the cursor (or range start)
    end: int | None = None  # range end for a rewrite; None for a cursor
    language: str | None = None  # tree-sitter language id; None: plain text
    n: int = 1  # candidates to return
    kind: HoleKind | None = None  # force a hole kind (None: from syntax)
    slots: int | None = None  # force the hole budget in tokens (None: from the kind)
    max_blocks: int = 4  # canvases a long hole may take, block by block
    # Buffer drafts for single-line holes (text the file already has after a matching
    # context): "off"; "prefer" ranks them above the model's own fill (measured best with
    # the current default model, see docs/BENCHMARKS.md); "score" ranks every candidate by
    # the model's masked pseudo-likelihood (costs one extra batched forward); "verify" seeds
    # a canvas row with each draft, re-masks the slots the model doubts, refills them, and
    # ranks every row by pseudo-likelihood.
    draft_policy: str = "prefer"
    # Drafts from outside the buffer (other open documents, the workspace index, accepted
    # suggestions; see diffill.infill.drafts.index), best first, after the buffer's own.
    extra_drafts: tuple[str, ...] = ()
    # Range rewrites: the share of the old text's slots to re-mask and regenerate, lowest
    # model confidence first (0 keeps the text, 1 regenerates it from nothing).
    strength: float = 1.0
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    # Text no candidate may contain: the hole marker when filling markers, which the
    # buffer's other holes would otherwise offer as a draft.
    forbidden: str | None = None
    # Shown only at or above this confidence; None: the ranker's own threshold (set for 65%
    # precision on development repositories). 0 shows the best candidate, whatever it is.
    min_confidence: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.strength <= 1.0:
            raise ValueError(f"strength must be within 0..1, got {self.strength}")
        if self.draft_policy not in DRAFT_POLICIES:
            raise ValueError(f"unknown draft policy {self.draft_policy!r}; choose from {DRAFT_POLICIES}")


@dataclass
class Candidate:
    text: str  # replacement for text[start:end]
    logprob: float  # model score (log-probability); 0.0 for unscored drafts
    syntax_ok: bool
    source: str = "model"  # "model" (denoised) or "draft" (copied from the buffer)
    # The engine's estimate (0..1) that this is the text the user wants, and whether it is
    # worth showing: editors show only shown candidates; fill and eval keep all, marked.
    confidence: float = 1.0
    shown: bool = True


@dataclass
class FillResult:
    start: int
    end: int
    kind: HoleKind
    candidates: list[Candidate]  # best first; empty when nothing worth showing
    steps: int = 0  # forward passes
    tokens_per_forward: float = 0.0
    ms: float = 0.0
    cached: bool = False
    hurried: bool = False  # the deadline cut denoising short (see StopSignal)
    # The deadline left out a source (the denoiser's own line) the other candidates did
    # without: shown as it stands, but not remembered, since more time would add to it.
    partial: bool = False

    @property
    def best(self) -> str | None:
        return self.candidates[0].text if self.candidates else None

    @property
    def shown(self) -> bool:
        """Whether the best candidate is worth showing (False: the engine abstains)."""
        return bool(self.candidates) and self.candidates[0].shown
