"""Engine requests for each LSP method: what to fill, how much, and how many candidates.

Policy (issue 4): a typed inline request is cheap: one candidate, one line unless the
syntax plans a block, and then one canvas; an invoked request may fill more (the configured
number of candidates, a long block canvas by canvas). Completion items stay on one line.
These functions run in the engine thread (they call the engine).
"""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from typing import TYPE_CHECKING

from diffill.infill.api import FillRequest, FillResult, StopSignal
from diffill.infill.syntax import HoleKind, HolePlan

from .config import Settings

if TYPE_CHECKING:  # the engine pulls in torch; it is loaded in the background
    from diffill.infill.engine import InfillEngine

MAX_BLOCKS_INVOKED = 4  # canvases an invoked block fill may take


class Trigger(StrEnum):
    TYPED = "typed"  # inline completion while typing (automatic)
    INVOKED = "invoked"  # inline completion the user asked for
    COMPLETION = "completion"  # textDocument/completion items


def single_line(plan: HolePlan, trigger: Trigger) -> bool:
    """Whether a suggestion fills one line (only those take drafts)."""
    return trigger is Trigger.COMPLETION or not plan.multiline  # a completion item is one line


def suggestion_request(text: str, offset: int, language: str | None, plan: HolePlan,
                       trigger: Trigger, settings: Settings,
                       extra_drafts: tuple[str, ...] = ()) -> FillRequest:
    """extra_drafts: drafts from other documents (workspace.py), best first."""
    kind, multiline = plan.kind, plan.multiline
    if not single_line(plan, trigger):
        extra_drafts = ()
    elif multiline:
        kind, multiline = HoleKind.LINE, False  # a completion list shows one line per item
    return FillRequest(
        text=text,
        start=offset,
        language=language,
        n=1 if trigger is Trigger.TYPED else settings.candidates,
        kind=kind,
        slots=settings.block_budget if multiline else settings.line_budget,
        max_blocks=MAX_BLOCKS_INVOKED if trigger is Trigger.INVOKED else 1,
        draft_policy=settings.draft_policy,
        extra_drafts=extra_drafts,
        sampler=settings.sampler,
        min_confidence=settings.min_confidence,
    )


def rewrite_request(text: str, start: int, end: int, language: str | None, n: int,
                    settings: Settings, strength: float | None = None) -> FillRequest:
    """strength: the request's own rewrite strength; None takes the `rewriteStrength` setting."""
    return FillRequest(text=text, start=start, end=end, language=language, n=n,
                       strength=settings.rewrite_strength if strength is None else strength,
                       sampler=settings.sampler)


def fit(req: FillRequest, engine: InfillEngine) -> FillRequest:
    """Keep a configured budget inside the model's canvas (with room left for context)."""
    limit = engine.denoiser.max_canvas // 2
    if req.slots is not None and req.slots > limit:
        return replace(req, slots=limit)
    return req


def fill(engine: InfillEngine, req: FillRequest, stop: StopSignal) -> FillResult:
    return engine.fill(fit(req, engine), stop)
