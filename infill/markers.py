"""Fill every hole marker (`<|fill|>` by default) in a text, first to last.

Shared by `diffill fill --holes` and the language server's "Fill holes" command, so both
fill the same way: earlier fills become context for later ones, line holes take drafts from
other files when the caller has an index, no fill contains a marker (the text's other holes
would be the closest draft), and a marker in a fill would never be filled again anyway.
Holes the engine is not confident about stay marked.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from .api import StopSignal
from .drafts.index import DraftIndex
from .requests import FillSettings, Trigger, cursor_request, fit

if TYPE_CHECKING:
    from .engine import InfillEngine

DEFAULT_MARKER = "<|fill|>"
# (text without the marker, offset of the hole) -> drafts from other files, best first
DraftLookup = Callable[[str, int], tuple[str, ...]]
Edit = tuple[int, int, str]  # (start, end, new text) in the original text's coordinates


def fill_markers(
    engine: InfillEngine,
    text: str,
    marker: str,
    *,
    language: str | None,
    settings: FillSettings,
    drafts: DraftLookup | None = None,
    stop: StopSignal | None = None,
    seconds_each: float | None = None,
) -> list[Edit]:
    """One edit per filled marker, replacing it with its fill.

    A hole whose best candidate the engine would not show (below the confidence threshold,
    `min_confidence` in settings) keeps its marker: a CI job or an editor user then sees
    which holes are still open rather than a wrong fill. Each hole is an invoked request
    (the user asked for the fills) for one candidate: only the best is used. seconds_each: a
    fresh deadline for every fill, so a text with many holes is not cut short by one
    overall deadline.
    """
    settings = replace(settings, candidates=1)
    edits: list[Edit] = []
    shift = 0  # offset in the working text minus offset in the original
    current, search_from = text, 0
    while (at := current.find(marker, search_from)) >= 0:
        current = current[:at] + current[at + len(marker) :]
        if stop is not None and seconds_each is not None:
            stop.deadline = time.monotonic() + seconds_each
        req = cursor_request(current, at, language, Trigger.INVOKED, settings, forbidden=marker,
                             extra_drafts=drafts(current, at) if drafts is not None else ())
        result = engine.fill(fit(req, engine.denoiser.max_canvas), stop)
        if not result.shown and settings.min_confidence != 0:
            # The engine abstains: the hole stays marked, nothing wrong is written. At a
            # threshold of 0 the user asked for every hole: its best candidate, or nothing.
            current = current[:at] + marker + current[at:]
            search_from = at + len(marker)
            continue
        filled = result.best or ""
        current = current[:at] + filled + current[at:]
        edits.append((at - shift, at - shift + len(marker), filled))
        shift += len(filled) - len(marker)
        search_from = at + len(filled)
    return edits


def unfilled_note(text: str, marker: str, edits: list[Edit], option: str) -> str | None:
    """What to tell the user when fill_markers left holes of text marked; None when it filled all.

    option: how the caller's user writes the confidence setting (`--min-confidence` on the
    command line, `minConfidence` in an editor).
    """
    total = text.count(marker)
    left = total - len(edits)  # fill_markers keeps the holes it is unsure of
    if not left:
        return None
    return (f"{left} of {total} holes left marked: no candidate was confident enough "
            f"({option} 0 fills them anyway)")


def index_lookup(index: DraftIndex, key: str) -> DraftLookup:
    """Drafts from every document of index except key (the text being filled)."""
    return lambda text, at: tuple(index.drafts(text[:at], text[at:], exclude=key))


def apply_edits(text: str, edits: list[Edit]) -> str:
    """The text with non-overlapping edits applied (given in any order)."""
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text
