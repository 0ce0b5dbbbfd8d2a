"""Training canvases: hole layout, null padding, context masking and CLI overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from diffill.model.noise import ExampleMaker, NoiseConfig, for_canvas, with_overrides
from diffill.model.paths import DEFAULT_CHECKPOINT
from diffill.model.tokenizer import MASK, NULL, load_tokenizer

SOURCE = (Path(__file__).parents[1] / "fixtures" / "inventory.py").read_text()


@pytest.fixture(scope="module")
def tok():
    return load_tokenizer(DEFAULT_CHECKPOINT / "tokenizer.json")


def hole_example(tok, cfg: NoiseConfig, seed: int = 0):
    maker = ExampleMaker(tok, cfg, seed=seed)
    begin = SOURCE.index("def ")
    end = SOURCE.index("\n", begin)
    return maker.infill(SOURCE, (begin, end), cfg.line_budget), tok.encode(SOURCE[begin:end]).ids


def test_hole_targets_are_the_middle_then_nulls(tok):
    cfg = NoiseConfig(canvas=128, p_context_mask=0.0, p_replace_example=0.0, t_min=1.0, p_draft_example=0.0)
    ex, middle = hole_example(tok, cfg)
    assert len(ex.input_ids) <= 128
    scored = [t for t in ex.targets if t != -100]
    assert scored[: len(middle)] == middle
    assert set(scored[len(middle) :]) <= {NULL}
    # t = 1: every hole slot is masked, and nothing outside the hole is.
    assert ex.input_ids.count(MASK) == len(scored)


def test_context_masking_scores_the_masked_context_tokens(tok):
    cfg = NoiseConfig(canvas=128, p_context_mask=1.0, context_mask_rate=0.3, t_min=1.0,
                      p_replace_example=0.0, p_draft_example=0.0)
    ex, middle = hole_example(tok, cfg)
    masked = [i for i, t in enumerate(ex.input_ids) if t == MASK]
    first_slot = ex.targets.index(middle[0])
    context_masked = [i for i in masked if i < first_slot]
    assert context_masked, "some prefix tokens should be masked at rate 0.3"
    for i in context_masked:
        assert ex.targets[i] not in (-100, MASK, NULL)
        assert ex.weights[i] > 0
    # Weights are positive exactly where there is a target.
    assert all((w > 0) == (t != -100) for w, t in zip(ex.weights, ex.targets, strict=True))


def test_block_budget_leaves_room_for_context():
    assert for_canvas(128).block_budget == 48
    assert for_canvas(256).block_budget == 96


def test_overrides_parse_types_and_reject_unknown_fields():
    cfg = with_overrides(for_canvas(128), ["p_context_mask=0", "time_weighting=true", "line_budget=16"])
    assert (cfg.p_context_mask, cfg.time_weighting, cfg.line_budget) == (0.0, True, 16)
    with pytest.raises(ValueError, match="FIELD=VALUE"):
        with_overrides(cfg, ["no_such_field=1"])
    with pytest.raises(ValueError):
        with_overrides(cfg, ["p_line"])


def test_draft_examples_seed_slots_and_score_every_slot(tok):
    cfg = NoiseConfig(canvas=128, p_draft_example=1.0, p_context_mask=0.0)
    maker = ExampleMaker(tok, cfg, seed=3)
    begin = SOURCE.index("def ")
    end = SOURCE.index("\n", begin)
    middle = tok.encode(SOURCE[begin:end]).ids
    right = wrong = 0
    for _ in range(40):
        ex = maker.infill(SOURCE, (begin, end), cfg.line_budget)
        scored = [i for i, t in enumerate(ex.targets) if t != -100]
        assert scored == list(range(scored[0], scored[0] + len(scored)))  # every slot, contiguous
        visible = [(ex.input_ids[i], ex.targets[i]) for i in scored if ex.input_ids[i] != MASK]
        if visible and all(a == b for a, b in visible):
            right += 1
        elif visible:
            wrong += 1
        assert [ex.targets[i] for i in scored][: len(middle)] == middle
    assert right >= 5 and wrong >= 5  # both right and wrong drafts are shown
