"""`diffill/stats` figures: fills that gave way, and fills the budget left without the denoiser's line."""

from __future__ import annotations

from diffill.infill.api import FillResult
from diffill.infill.syntax import HoleKind
from diffill.lsp.stats import FillStats


def test_partial_fills_and_fills_that_gave_way_are_counted_until_a_reset():
    stats = FillStats()
    stats.add(FillResult(0, 0, HoleKind.LINE, [], steps=1, partial=True))
    stats.add(FillResult(0, 0, HoleKind.LINE, [], steps=5))
    stats.gave_way += 1
    first = stats.summary("ready", cancelled=0, reset=True)
    assert (first.fills, first.partial, first.gave_way) == (2, 1, 1)
    assert first.steps_mean == 3.0
    after = stats.summary("ready", cancelled=0)
    assert (after.fills, after.partial, after.gave_way) == (0, 0, 0)
