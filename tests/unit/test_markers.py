"""Hole markers filled by the shipped model: coordinates, context order, drafts."""

from __future__ import annotations

import pytest

from diffill.infill.engine import InfillEngine
from diffill.infill.markers import DEFAULT_MARKER, apply_edits, fill_markers, unfilled_note
from diffill.infill.ranking import FEATURE_NAMES, Ranker
from diffill.infill.requests import FillSettings
from diffill.model.denoiser import MaskedLMDenoiser

EVERY_HOLE = FillSettings(min_confidence=0.0)  # fill even where the engine would abstain


@pytest.fixture(scope="module")
def engine() -> InfillEngine:
    return InfillEngine(MaskedLMDenoiser())


def test_edits_are_in_original_coordinates_and_replace_every_marker(engine: InfillEngine) -> None:
    text = f"def f(x):\n    y = {DEFAULT_MARKER}\n    return y\n\n\ndef g():\n    return {DEFAULT_MARKER}\n"
    edits = fill_markers(engine, text, DEFAULT_MARKER, language="python", settings=EVERY_HOLE)
    assert [(s, e) for s, e, _ in edits] == [(18, 26), (text.rindex(DEFAULT_MARKER), len(text) - 1)]
    assert all(text[s:e] == DEFAULT_MARKER for s, e, _ in edits)
    filled = apply_edits(text, edits)
    assert DEFAULT_MARKER not in filled
    assert filled.startswith("def f(x):\n    y = ") and filled.endswith("\n")


def draft_trusting(engine: InfillEngine) -> InfillEngine:
    """The same model under a ranker that puts an admissible workspace draft first.

    What is tested below is where drafts are looked up and what they see; whether a draft
    should win against the other candidates is the fitted ranker's call, not this test's.
    """
    weights = tuple(5.0 if name in ("workspace", "workspace_top") else 0.0 for name in FEATURE_NAMES)
    return InfillEngine(engine.denoiser, ranker=Ranker(weights, 0.0, 0.0))


def test_drafts_are_looked_up_without_the_marker_and_earlier_fills_are_context(
        engine: InfillEngine) -> None:
    engine = draft_trusting(engine)
    seen: list[tuple[str, int]] = []

    def lookup(text: str, at: int) -> tuple[str, ...]:
        seen.append((text, at))
        return ("zeta_checksum(buffer, seed=0x5EED)",)

    # The drafted name is imported: a candidate naming what nothing binds is never first.
    head = "from checks import zeta_checksum\n\n\n"
    text = head + f"def a(buffer):\n    v = {DEFAULT_MARKER}\n\n\ndef b(buffer):\n    w = {DEFAULT_MARKER}\n"
    edits = fill_markers(engine, text, DEFAULT_MARKER, language="python", settings=EVERY_HOLE,
                         drafts=lookup)
    assert [new for _, _, new in edits] == ["zeta_checksum(buffer, seed=0x5EED)"] * 2
    assert all(DEFAULT_MARKER not in t[:at] for t, at in seen)
    # The second lookup sees the first hole already filled.
    assert seen[1][0].startswith(head + "def a(buffer):\n    v = zeta_checksum(buffer, seed=0x5EED)\n")


def test_apply_edits_takes_any_order() -> None:
    assert apply_edits("a_b_c", [(1, 2, "--"), (3, 4, "++")]) == "a--b++c"
    assert apply_edits("a_b_c", [(3, 4, "++"), (1, 2, "--")]) == "a--b++c"


def test_unfilled_note_counts_the_holes_left_and_names_the_callers_option() -> None:
    text = f"a = {DEFAULT_MARKER}\nb = {DEFAULT_MARKER}\nc = {DEFAULT_MARKER}\n"
    one_filled = [(4, 4 + len(DEFAULT_MARKER), "1")]
    assert unfilled_note(text, DEFAULT_MARKER, one_filled, "--min-confidence") == (
        "2 of 3 holes left marked: no candidate was confident enough (--min-confidence 0 fills them anyway)")
    assert unfilled_note(text, DEFAULT_MARKER, [], "minConfidence") == (
        "3 of 3 holes left marked: no candidate was confident enough (minConfidence 0 fills them anyway)")
    all_filled = [(s, s + len(DEFAULT_MARKER), "1") for s in (4, 17, 30)]
    assert unfilled_note(text, DEFAULT_MARKER, all_filled, "minConfidence") is None


def test_a_draft_holding_a_marker_is_never_proposed(engine: InfillEngine) -> None:
    text = f"from checks import zeta\n\n\ndef a(buffer):\n    v = {DEFAULT_MARKER}\n"
    edits = fill_markers(engine, text, DEFAULT_MARKER, language="python", settings=EVERY_HOLE,
                         drafts=lambda t, at: (f"zeta({DEFAULT_MARKER})", "zeta(buffer)"))
    assert [new for _, _, new in edits] == ["zeta(buffer)"]


def test_a_later_hole_is_not_copied_as_a_draft_into_an_earlier_one(engine: InfillEngine) -> None:
    line = f"    total = sum({DEFAULT_MARKER}\n"
    text = f"def f(items):\n{line}\n\ndef g(items):\n{line}"
    filled = apply_edits(text, fill_markers(engine, text, DEFAULT_MARKER, language="python",
                                            settings=EVERY_HOLE))
    assert DEFAULT_MARKER not in filled


def test_a_hole_the_engine_abstains_on_keeps_its_marker(engine: InfillEngine) -> None:
    text = f"def f(x):\n    y = {DEFAULT_MARKER}\n    return {DEFAULT_MARKER}\n"
    unsure = FillSettings(min_confidence=1.0)  # no candidate is ever this sure
    assert fill_markers(engine, text, DEFAULT_MARKER, language="python", settings=unsure) == []
    filled = apply_edits(text, fill_markers(engine, text, DEFAULT_MARKER, language="python",
                                            settings=EVERY_HOLE))
    assert DEFAULT_MARKER not in filled
