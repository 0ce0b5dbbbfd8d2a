from __future__ import annotations

import threading

import numpy as np
import pytest

from diffill.infill.canvas import CanvasPlan, batch_canvases, build_canvas
from diffill.infill.sampler import Cancelled, SamplerConfig, StopSignal, denoise, score

TEXT = "def area(width, height):\n    return width * height\n\n\nprint(area(2, 3))\n"


def canvas_for(denoiser, slots=16, n=1):
    cursor = TEXT.index("width *")
    cv = build_canvas(denoiser.tokenizer, denoiser.ids, TEXT, cursor, TEXT.index("\n\n\n"),
                      CanvasPlan(slots, 128))
    ids, att = batch_canvases([cv.ids] * n, denoiser.ids.pad)
    return cv, ids, att


def test_fills_every_slot_and_reports_stats(denoiser):
    cv, ids, att = canvas_for(denoiser)
    res = denoise(denoiser, ids, att, cv.slot_positions, SamplerConfig(threshold=0.9))
    assert denoiser.ids.mask not in res.slots[0]
    assert 1 <= res.steps <= 16
    assert res.committed >= 16
    assert res.tokens_per_forward >= 1.0


def test_threshold_one_commits_one_token_per_step(denoiser):
    cv, ids, att = canvas_for(denoiser, slots=8)
    res = denoise(denoiser, ids, att, cv.slot_positions, SamplerConfig(threshold=1.01))
    assert res.committed == 8 and res.steps <= 8
    # Fewer steps only when the fill ended: the slots committed together at the end are null.
    skipped = 8 - res.steps
    assert res.slots[0].count(denoiser.ids.null) >= skipped


def test_deterministic_under_seed(denoiser):
    cfg = SamplerConfig(temperature=0.8, top_p=0.9, seed=7)
    outs = []
    for _ in range(2):
        cv, ids, att = canvas_for(denoiser, n=3)
        outs.append(denoise(denoiser, ids, att, cv.slot_positions, cfg).slots)
    assert outs[0] == outs[1]


def test_fixed_tokens_are_never_changed(denoiser):
    cv, ids, att = canvas_for(denoiser)
    before = ids.copy()
    denoise(denoiser, ids, att, cv.slot_positions, SamplerConfig(remask_below=0.5))
    fixed = np.ones(ids.shape[1], dtype=bool)
    fixed[cv.slot_positions] = False
    assert np.array_equal(ids[:, fixed], before[:, fixed])


def test_cancel_between_steps(denoiser):
    cv, ids, att = canvas_for(denoiser)
    stop = StopSignal(cancel=threading.Event())
    stop.cancel.set()
    with pytest.raises(Cancelled):
        denoise(denoiser, ids, att, cv.slot_positions, SamplerConfig(), stop)


def test_expired_deadline_cancels(denoiser):
    cv, ids, att = canvas_for(denoiser)
    with pytest.raises(Cancelled):
        denoise(denoiser, ids, att, cv.slot_positions, SamplerConfig(), StopSignal(deadline=0.0))


def test_first_slot_constraint(denoiser):
    cv, ids, att = canvas_for(denoiser, slots=4)
    allowed = np.zeros(denoiser.tokenizer.get_vocab_size(), dtype=bool)
    target = denoiser.tokenizer.encode(" width").ids[0]
    allowed[target] = True
    res = denoise(denoiser, ids, att, cv.slot_positions, SamplerConfig(), allowed_first=allowed)
    assert res.slots[0][0] == target


def test_scores():
    probs = np.array([[[0.7, 0.2, 0.1], [1 / 3, 1 / 3, 1 / 3]]], dtype=np.float32)
    assert np.allclose(score(probs, "confidence"), [[0.7, 1 / 3]])
    assert np.allclose(score(probs, "margin"), [[0.5, 0.0]], atol=1e-6)
    ent = score(probs, "entropy")
    assert ent[0, 0] > ent[0, 1]
    with pytest.raises(ValueError):
        score(probs, "vibes")


class ExpiresAfterFirstStep(StopSignal):
    """A deadline that passes right after the first forward pass (deterministic)."""

    def __init__(self) -> None:
        super().__init__()
        self.checks = 0

    def expired(self) -> bool:
        self.checks += 1
        return self.checks > 1


def test_deadline_finishes_with_a_complete_fill(denoiser):
    cv, ids, att = canvas_for(denoiser, slots=16)
    res = denoise(denoiser, ids, att, cv.slot_positions, SamplerConfig(threshold=1.01),
                  ExpiresAfterFirstStep())
    assert res.hurried and res.steps == 1
    assert denoiser.ids.mask not in res.slots[0]  # never a half-denoised canvas


def test_step_budget_bounds_the_passes(denoiser):
    # Each step commits at least open / steps-left slots, so 16 slots finish within 4 passes.
    cv, ids, att = canvas_for(denoiser, slots=16)
    res = denoise(denoiser, ids, att, cv.slot_positions, SamplerConfig(threshold=1.01, max_steps=4))
    assert res.steps <= 4 and denoiser.ids.mask not in res.slots[0]
    assert res.tokens_per_forward >= 4.0


def test_null_tail_is_committed_at_once():
    from diffill.infill.sampler import null_tail

    null = 2
    slots = np.array([[1, 1, 1, 1], [1, 1, 1, 2]])  # all open / last already null
    choice = np.array([[7, 2, 2, 2], [7, 8, 2, 2]])
    scores = np.array([[0.9, 0.2, 0.4, 0.95], [0.9, 0.1, 0.1, -1.0]], dtype=np.float32)
    tail = null_tail(slots, choice, scores, null, threshold=0.5)
    assert tail.tolist() == [[False, True, True, True], [False, False, True, True]]
    # An unsure last slot commits nothing yet.
    assert not null_tail(slots[:1], choice[:1], scores[:1] * 0.1, null, threshold=0.5).any()


def test_stutter_holds_back_the_less_confident_of_adjacent_equal_commits():
    from diffill.infill.sampler import stutter

    null = 2
    choice = np.array([[7, 7, 7, 9, null, null]])
    commit = np.array([[True, True, True, True, True, True]])
    scores = np.array([[0.4, 0.9, 0.5, 0.8, 0.6, 0.6]], dtype=np.float32)
    hold = stutter(commit, choice, scores, null)
    # The run of 7s keeps its most confident slot; distinct tokens and the null run commit.
    assert hold.tolist() == [[True, False, True, False, False, False]]
    # A neighbour that is not committed this step does not hold anything back.
    commit = np.array([[False, True, False, True, True, True]])
    assert not stutter(commit, choice, scores, null).any()


def test_a_warm_start_is_the_first_step(denoiser):
    # The line path's scoring pass over the all-masked canvas seeds the loop: the same fill as
    # a loop that runs that pass itself, one forward pass fewer.
    from diffill.infill.line_candidates import masked_prior

    cfg = SamplerConfig(refresh_every=1)  # no cache: both runs compute every step exactly
    cv, ids, att = canvas_for(denoiser, n=2)
    cold = denoise(denoiser, ids.copy(), att, cv.slot_positions, cfg)
    _, warm = masked_prior(denoiser, ids, att, cv.slot_positions, None, cfg.refresh_every)
    hot = denoise(denoiser, ids.copy(), att, cv.slot_positions, cfg, warm=warm)
    assert hot.slots == cold.slots
    assert hot.steps == cold.steps - 1


def test_committed_columns_are_not_predicted_again(denoiser):
    # Without re-masking only open slots need a distribution: each pass asks for those alone.
    asked: list[int] = []
    real = denoiser.logits

    def counting(canvas, attention, positions, **kw):
        asked.append(positions.shape[1])
        return real(canvas, attention, positions, **kw)

    cv, ids, att = canvas_for(denoiser, slots=8)
    denoiser.logits = counting
    try:
        res = denoise(denoiser, ids, att, cv.slot_positions, SamplerConfig(threshold=1.01, null_tail=False))
    finally:
        del denoiser.logits
    assert asked[0] == 8 and asked == sorted(asked, reverse=True) and len(set(asked)) == len(asked)
    assert res.committed == 8 and denoiser.ids.mask not in res.slots[0]
