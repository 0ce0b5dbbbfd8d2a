from __future__ import annotations

import sys
from dataclasses import replace

import pytest

from diffill.infill.api import StopSignal
from diffill.infill.canvas import CanvasPlan, batch_canvases, build_canvas
from diffill.infill.drafts.buffer import buffer_drafts
from diffill.infill.engine import SURE_WITHOUT_OWN_LINE, FillRequest, InfillEngine
from diffill.infill.ranking import default_ranker
from diffill.infill.seeding import length_normalized, pseudo_log_likelihood
from diffill.infill.syntax import HoleKind

CLASS = (
    "class Point:\n"
    "    def __init__(self, x, y):\n"
    "        self.x = x\n"
    "        self.y = y\n"
    "\n"
    "    def moved(self, dx, dy):\n"
    "        return Point(self.x + dx, self.y + dy)\n"
    "\n"
    "    def scaled(self, k):\n"
    "        return Point(self.x "
)
# The same, in a method whose parameters make the buffer's `moved` line right again.
SHIFTED = CLASS.replace("def scaled(self, k):", "def shifted(self, dx, dy):")


def test_longest_context_match_comes_first():
    drafts = buffer_drafts("a = f(1)\nb = g(2)\nc = f(3)\nb = ", "\n")
    assert drafts[0] == "g(2)"


def test_no_draft_without_a_matching_context():
    assert buffer_drafts("zzzz_unique", "\nnothing alike\n") == []


def test_draft_from_the_buffer_is_chosen_when_right(engine):
    res = engine.fill(FillRequest(text=SHIFTED + "\n", start=len(SHIFTED), language="python"))
    assert res.candidates[0].source == "draft"
    assert res.best == "+ dx, self.y + dy)" and res.shown


def unsure(denoiser) -> InfillEngine:
    """An engine whose ranker is sure of nothing: the denoiser's line is always awaited."""
    return InfillEngine(denoiser, ranker=replace(default_ranker(), bias=-25.0))


def test_the_denoisers_own_line_joins_the_candidates_even_where_drafts_are_admissible(denoiser, engine):
    req = FillRequest(text=SHIFTED + "\n", start=len(SHIFTED), language="python")
    # With the shipped ranker the buffer's draft is sure: the loop is not awaited.
    sure = engine.fill(replace(req, n=8))
    assert sure.candidates[0].confidence >= SURE_WITHOUT_OWN_LINE and sure.steps == 1
    assert all(c.source != "model" for c in sure.candidates)
    engine = unsure(denoiser)
    plan = engine.plan(req)
    pool, result = engine.line_pool(req, plan, engine.budget(req, plan), req.start, None)
    drafts = [f for f in pool.items.values() if f.draft_rank < 9]
    assert drafts and any(f.admissible() for f in drafts)
    # The loop ran past the scoring pass and its line is a described candidate.
    assert result.steps > 1 and len(result.slots) == 1
    own = [f for f in pool.items.values() if f.model]
    assert own and all(f.denoiser > -10.0 and f.tokens > 0 for f in own)
    alone = engine.fill(FillRequest(text=SHIFTED + "\n", start=len(SHIFTED), language="python", n=3,
                                    draft_policy="off"))
    assert alone.steps > 1 and all(c.source == "model" for c in alone.candidates)


class DeadlineInTheLoop(StopSignal):
    """A deadline that passes once the denoising loop has run one step, whatever the clock."""

    def __init__(self) -> None:
        super().__init__()
        self.loop_checks = 0

    def expired(self) -> bool:
        if sys._getframe(1).f_code.co_name != "denoise":
            return False
        self.loop_checks += 1
        return self.loop_checks > 1


def test_a_loop_cut_by_the_deadline_leaves_the_whole_drafts_standing(denoiser):
    # A typed request gives way when its fill is hurried; the denoiser's own line, cut short,
    # must not make it give way where a whole draft is there to show.
    req = FillRequest(text=SHIFTED + "\n", start=len(SHIFTED), language="python")
    engine = unsure(denoiser)
    stop = DeadlineInTheLoop()
    res = engine.fill(req, stop)
    assert stop.loop_checks == 2  # the loop ran a step, then met the deadline
    assert not res.hurried and res.best == "+ dx, self.y + dy)"
    assert all(c.source != "model" for c in engine.fill(replace(req, n=8), DeadlineInTheLoop()).candidates)
    # With nothing but the denoiser's line, the cut fill is hurried, as before.
    alone = engine.fill(replace(req, draft_policy="off"), DeadlineInTheLoop())
    assert alone.hurried
    # Neither cut fill is remembered: the same request with time to spare gets the whole fill.
    assert any(c.source == "model" for c in engine.fill(replace(req, n=8)).candidates)
    assert not engine.fill(replace(req, draft_policy="off")).hurried


def test_a_draft_naming_another_methods_parameters_is_never_shown(engine):
    # In `scaled(self, k)` the buffer's "+ dx, self.y + dy)" names `dx` and `dy`, which
    # nothing there binds: not shown, and with no admissible draft the denoiser writes too.
    res = engine.fill(FillRequest(text=CLASS + "\n", start=len(CLASS), language="python", n=8))
    copied = [c for c in res.candidates if c.text == "+ dx, self.y + dy)"]
    assert copied and not copied[0].shown
    assert res.steps > 1


def test_draft_that_breaks_the_code_after_the_cursor_is_ranked_down(engine):
    # The buffer suggests "+ dx, self.y + dy)", but the code after the cursor already
    # closes the call differently: pasting the draft would be a syntax error.
    text = CLASS + " * k, self.y * k)\n"
    res = engine.fill(FillRequest(text=text, start=len(CLASS), language="python", n=4))
    drafts = [c for c in res.candidates if c.source == "draft"]
    assert drafts and not any(c.syntax_ok for c in drafts if c.text.endswith("dy)"))
    if any(c.syntax_ok for c in res.candidates):
        assert res.candidates[0].syntax_ok


def test_drafts_off_uses_only_the_model(engine):
    res = engine.fill(FillRequest(text=CLASS + "\n", start=len(CLASS), language="python",
                                  draft_policy="off", n=3))
    assert all(c.source == "model" for c in res.candidates)


def test_asking_the_model_alone_for_several_candidates_keeps_its_greedy_one(engine):
    # Several candidates sample; the one a single-candidate request gets stays among them,
    # for a line hole and for a block.
    for kind in (HoleKind.LINE, HoleKind.BLOCK):
        fills = []
        for n in (1, 3):
            req = FillRequest(text=CLASS + "\n", start=len(CLASS), language="python", draft_policy="off", n=n,
                              kind=kind, max_blocks=1)
            fills.append([c.text for c in engine.fill(req).candidates])
        assert fills[0] and fills[0][0] in fills[1]


def test_pseudo_likelihood_scores_every_slot_once(denoiser):
    text = "x = 1\ny = 2\n"
    cv = build_canvas(denoiser.tokenizer, denoiser.ids, text, 6, 11, CanvasPlan(6, 64))
    ids, att = batch_canvases([cv.ids], denoiser.ids.pad)
    tokens = denoiser.tokenizer.encode("y = 2").ids
    ids[0, cv.slot_positions] = tokens + [denoiser.ids.null] * (6 - len(tokens))
    slot_logp = pseudo_log_likelihood(denoiser, ids, att, cv.slot_positions)
    assert slot_logp.shape == (1, 6)
    assert (slot_logp < 0).all()  # every slot got a log-probability from exactly one group
    score = length_normalized(slot_logp, ids[:, cv.slot_positions], denoiser.ids.null)[0]
    assert score == float(slot_logp[0, : len(tokens) + 1].mean())


def test_verify_policy_offers_the_checked_draft(engine):
    # The buffer has the line after the same context; verify seeds a canvas with it, the
    # model keeps the tokens it agrees with, and the draft survives among the candidates.
    text = ("def scale(values, factor):\n    return [v * factor for v in values]\n\n\n"
            "def scale_all(values, factor):\n    return ")
    res = engine.fill(FillRequest(text=text, start=len(text), language="python", n=4,
                                  draft_policy="verify"))
    assert res.steps >= 2  # the denoising passes plus the pseudo-likelihood pass
    assert any(c.source == "draft" for c in res.candidates)
    assert any(c.text.startswith("[v * factor") for c in res.candidates)
    scores = [(c.syntax_ok, c.logprob) for c in res.candidates]
    assert scores == sorted(scores, reverse=True)


def test_unknown_draft_policy_is_an_error():
    with pytest.raises(ValueError):
        FillRequest(text="x", start=0, draft_policy="maybe")


def test_block_hole_takes_a_copied_body_as_a_new_line_before_the_code_below(engine):
    # The previous line opens a block and the next line is already at the opener's
    # indentation: a block hole. The same opener earlier in the file has a one-line body.
    before = ("def clamp(value, low):\n    if value < low:\n        return low\n    return value\n\n\n"
              "def clamp_again(value, low):\n    if value < low:\n")
    text = before + "    return value\n"
    res = engine.fill(FillRequest(text=text, start=len(before), language="python"))
    assert res.kind == HoleKind.LINE  # the body's first line
    assert res.best == "        return low\n"  # with its newline: the code below stays on its line
    assert res.candidates[0].source == "draft"


def test_the_best_line_and_its_confidence_do_not_depend_on_how_many_candidates_are_asked(engine):
    # An editor's invoked request asks for several candidates, a typed one for one: both
    # must rank the same best line at the same (calibrated) confidence.
    text = "def parse(line):\n    key, _, value = line.partition('=')\n    "
    req = FillRequest(text=text + "\n", start=len(text), language="python", n=1)
    one = engine.fill(req)
    assert one.steps > 1  # unsure of its drafts: the denoiser's own line was written
    several = engine.fill(replace(req, n=4))
    assert 1 < len(several.candidates) <= 4
    best = several.candidates[0]
    assert (best.text, best.confidence, best.shown) == (one.best, one.candidates[0].confidence, one.shown)
