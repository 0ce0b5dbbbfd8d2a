"""The one request builder: (cursor or range, trigger, settings) -> `FillRequest`.

The language server, `diffill fill`, the hole markers and `diffill eval` all build their
requests here, so what the CLI and eval measure is what an editor gets for the same trigger.

Policy per trigger (issue 4): a typed inline request is cheap: one candidate, one line
unless the hole is a block, and then one canvas; an invoked request may fill more (the
configured number of candidates, a long block canvas by canvas). Completion items stay on
one line. A range is a rewrite, whatever asked for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from .api import FillRequest, SamplerConfig
from .syntax import HoleKind, HolePlan, plan_hole, suggestion_plan

MAX_BLOCKS_INVOKED = 4  # canvases an invoked block fill may take


class Trigger(StrEnum):
    TYPED = "typed"  # inline completion while typing (automatic)
    INVOKED = "invoked"  # inline completion the user asked for (also `diffill fill`, markers, eval)
    COMPLETION = "completion"  # textDocument/completion items


@dataclass(frozen=True)
class FillSettings:
    """What a request takes from the user's settings (the server's, or the CLI's flags).

    Defaults are FillRequest's; the server's Settings converts into this (`fill_settings`).
    """

    candidates: int = 1  # candidates for invoked requests and completion lists (typed: one)
    draft_policy: str = "prefer"  # see FillRequest.draft_policy
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    min_confidence: float | None = None  # see FillRequest.min_confidence
    line_budget: int | None = None  # hole slots for one-line holes; None: the checkpoint's default
    block_budget: int | None = None  # hole slots per canvas for block holes; None: the checkpoint's
    strength: float = 1.0  # share of a rewritten range regenerated (0 keeps it, 1 from scratch)


def hole_plan(text: str, offset: int, language: str | None, kind: HoleKind | None = None) -> HolePlan:
    """The plan a cursor is filled with: the given kind (an explicit request), else from the text."""
    if kind is not None:
        return HolePlan(kind, multiline=kind in (HoleKind.BLOCK, HoleKind.RANGE))
    return suggestion_plan(plan_hole(text, offset, language))


def one_line(plan: HolePlan, trigger: Trigger) -> bool:
    """Whether a cursor request fills one line: a completion item always does."""
    return trigger is Trigger.COMPLETION or not plan.multiline


def takes_drafts(plan: HolePlan, trigger: Trigger) -> bool:
    """Whether the server looks up drafts from other documents: for one-line fills only.

    The lookup costs time a multi-line block would not repay; the builder passes on what it is given.
    """
    return one_line(plan, trigger)


def cursor_request(text: str, offset: int, language: str | None, trigger: Trigger,
                   settings: FillSettings, *, kind: HoleKind | None = None,
                   extra_drafts: tuple[str, ...] = (), forbidden: str | None = None) -> FillRequest:
    """A fill at a cursor as the trigger's policy has it.

    kind: an explicit hole kind (eval's block tasks); None plans it from the text.
    extra_drafts: drafts from other documents, best first (see `takes_drafts`).
    forbidden: text no candidate may contain (the hole marker).
    """
    plan = hole_plan(text, offset, language, kind)
    multiline = not one_line(plan, trigger)
    # A completion list shows one line per item: a block is asked for its first line.
    kind = HoleKind.LINE if plan.multiline and not multiline else plan.kind
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
        forbidden=forbidden,
        min_confidence=settings.min_confidence,
    )


def range_request(text: str, start: int, end: int, language: str | None, settings: FillSettings,
                  *, n: int | None = None, strength: float | None = None) -> FillRequest:
    """A rewrite of text[start:end]; an empty range is filled as a cursor is.

    n: candidates (None: settings.candidates); strength: the request's own (None: the setting's).
    """
    return FillRequest(
        text=text,
        start=start,
        end=end,
        language=language,
        kind=HoleKind.RANGE if end > start else None,
        n=settings.candidates if n is None else n,
        draft_policy=settings.draft_policy,
        strength=settings.strength if strength is None else strength,
        sampler=settings.sampler,
        min_confidence=settings.min_confidence,
    )


def fit(req: FillRequest, max_canvas: int) -> FillRequest:
    """Keep a configured budget inside the model's canvas (with room left for context)."""
    limit = max_canvas // 2
    if req.slots is not None and req.slots > limit:
        return replace(req, slots=limit)
    return req
