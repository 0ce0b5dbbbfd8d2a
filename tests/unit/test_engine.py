from __future__ import annotations

import pytest

from diffill.infill.engine import FillRequest, HoleKind
from diffill.infill.sampler import Cancelled, StopSignal

CODE = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"


def test_fill_at_cursor_returns_one_line(engine):
    text = CODE + "\n\ndef mul(a, b):\n    return "
    res = engine.fill(FillRequest(text=text, start=len(text), language="python", draft_policy="off"))
    assert res.kind == HoleKind.REST_OF_LINE
    assert res.steps >= 1 and res.ms > 0
    for cand in res.candidates:
        assert "\n" not in cand.text


def test_the_models_own_line_takes_at_most_line_max_steps_passes(engine):
    from diffill.infill.api import SamplerConfig

    # One slot per pass (threshold above 1) over a 32-slot hole takes 32 passes uncapped.
    text = CODE + "\n\ndef mul(a, b):\n    return "
    for cap, passes in ((8, 8), (64, 32)):
        one_per_step = SamplerConfig(threshold=2.0, null_tail=False, max_steps=64, line_max_steps=cap)
        res = engine.fill(FillRequest(text=text, start=len(text), language="python", draft_policy="off",
                                      sampler=one_per_step, slots=32))
        assert res.steps == passes  # the scoring pass is the loop's first step
    assert res.candidates and "\n" not in res.candidates[0].text


def test_result_is_cached_by_context(engine):
    text = CODE + "\n\ndef div(a, b):\n    return a "
    req = FillRequest(text=text, start=len(text), language="python")
    first = engine.fill(req)
    second = engine.fill(req)
    assert second.cached and second.best == first.best


def test_n_candidates_are_distinct_and_ranked(engine):
    text = CODE + "\n\ndef mod(a, b):\n    "
    res = engine.fill(FillRequest(text=text, start=len(text), language="python", n=4,
                                  draft_policy="off"))
    texts = [c.text for c in res.candidates]
    assert len(texts) == len(set(texts)) >= 1
    confidences = [c.confidence for c in res.candidates]
    # One calibrated order: the admissible candidates by confidence, then the never-shown ones.
    assert any(part == sorted(part, reverse=True) and rest == sorted(rest, reverse=True)
               for k in range(len(confidences) + 1) for part, rest in [(confidences[:k], confidences[k:])])
    assert all(0.0 <= c <= 1.0 for c in confidences)
    assert all(c.syntax_ok for c in res.candidates if c.shown)


def test_range_rewrite_replaces_only_the_range(engine):
    start = CODE.index("a - b")
    end = start + len("a - b")
    res = engine.fill(FillRequest(text=CODE, start=start, end=end, language="python"))
    assert (res.start, res.end) == (start, end)
    assert res.kind == HoleKind.RANGE


def test_empty_body_gets_its_first_line_and_an_asked_block_is_never_shown(engine):
    text = "def greet(name):\n    "
    res = engine.fill(FillRequest(text=text, start=len(text), language="python", max_blocks=2))
    assert res.kind == HoleKind.LINE  # planned as a block: the first line, ranked and calibrated
    assert all("\n" not in c.text for c in res.candidates)
    asked = engine.fill(FillRequest(text=text, start=len(text), language="python", max_blocks=2,
                                    kind=HoleKind.BLOCK))
    assert asked.kind == HoleKind.BLOCK and not asked.shown  # blocks have no calibrated score yet


def test_out_of_range_is_an_error(engine):
    with pytest.raises(ValueError):
        engine.fill(FillRequest(text="abc", start=10))


def test_cancelled_request_returns_nothing_half_done(engine):
    stop = StopSignal(deadline=0.0)
    with pytest.raises(Cancelled):
        engine.fill(FillRequest(text=CODE + "x = ", start=len(CODE) + 4), stop)


def test_unknown_language_works_as_plain_text(engine):
    text = "name: diffill\nversion: "
    res = engine.fill(FillRequest(text=text, start=len(text), language=None))
    assert res.kind == HoleKind.REST_OF_LINE


def test_healed_prefix_is_not_duplicated(engine):
    text = CODE + "\n\nresult = ad"
    res = engine.fill(FillRequest(text=text, start=len(text), language="python"))
    if res.best:
        # The fill continues the word; it never starts by repeating the typed "ad".
        assert not res.best.startswith("ad")


def test_rewrite_at_strength_zero_keeps_the_text(engine):
    start = CODE.index("a - b")
    end = start + len("a - b")
    res = engine.fill(FillRequest(text=CODE, start=start, end=end, language="python", strength=0.0))
    assert res.best == "a - b"


def test_partial_rewrite_keeps_what_the_model_trusts(engine):
    # At strength 0.5 half the slots (old tokens and null padding) are regenerated: the
    # rewrite differs from a from-scratch one, and some old token survives.
    start = CODE.index("return a - b")
    end = start + len("return a - b")
    half = engine.fill(FillRequest(text=CODE, start=start, end=end, language="python", strength=0.5,
                                   draft_policy="off"))
    assert half.kind == HoleKind.RANGE and half.steps >= 2
    assert half.candidates, "a partial rewrite should offer an edit"
    old_words = {"return", "a", "-", "b"}
    assert old_words & set(half.best.replace("-", " - ").split())


def test_strength_out_of_range_is_an_error():
    with pytest.raises(ValueError):
        FillRequest(text=CODE, start=0, end=3, strength=1.5)


def test_partial_rewrite_of_a_range_too_long_for_one_canvas_is_an_error(engine):
    text = "x = [" + ", ".join(str(i) for i in range(400)) + "]\n"
    with pytest.raises(ValueError, match="strength 1"):
        engine.fill(FillRequest(text=text, start=0, end=len(text) - 1, strength=0.5))



def test_rows_with_different_prefixes_share_aligned_slot_positions(denoiser):
    # From the second block on every row's prefix holds its own earlier output, so rows'
    # slots start at different canvas indices; the batch must line them up.
    import numpy as np

    from diffill.infill.canvas import CanvasPlan, aligned_batch, batch_canvases, build_canvas

    texts = ["def f(x):\n    y = x\n    ", "def f(x):\n    y = compute(x, 1, 2, 3) + other(x)\n    "]
    canvases = [build_canvas(denoiser.tokenizer, denoiser.ids, t, len(t), len(t), CanvasPlan(6, 128))
                for t in texts]
    assert canvases[0].slot_start != canvases[1].slot_start
    ids, attention, positions = aligned_batch(canvases, denoiser.ids.pad)
    assert (ids[:, positions] == denoiser.ids.mask).all()
    assert attention.sum(-1).tolist() == [len(c.ids) for c in canvases]
    out = denoiser.logits(ids, attention, np.array([positions] * 2))
    one, one_attention = batch_canvases([canvases[0].ids], denoiser.ids.pad)  # the padded row, alone
    alone = denoiser.logits(one, one_attention, np.array([canvases[0].slot_positions]))
    assert np.abs(out[0] - alone[0]).max() < 1e-3  # left padding changes nothing the model sees


def test_server_and_cli_build_the_engine_one_way(monkeypatch):
    from diffill.infill.engine import load_engine

    monkeypatch.setenv("DIFFILL_CORPUS_INDEX", "0")
    assert load_engine(None, "cpu", "fp32").corpus is None  # honoured by the server too now
    monkeypatch.setenv("DIFFILL_CORPUS_INDEX", "1")
    assert load_engine(None, "cpu", "fp32").corpus is not None  # loads in its own thread


def test_line_holes_use_the_checkpoints_line_canvas_and_blocks_the_full_one(denoiser, monkeypatch):
    from diffill.infill.engine import InfillEngine

    assert denoiser.line_canvas < denoiser.max_canvas  # the shipped checkpoint sets a shorter one
    widths: list[int] = []
    suffixes: list[int] = []  # tokens after the last slot (the suffix, no end marker: text goes on)
    logits = denoiser.logits

    def recording(canvas, attention, positions, **kwargs):
        widths.append(canvas.shape[1])
        suffixes.append(int(attention[0].sum()) - int(positions[0].max()) - 1)
        return logits(canvas, attention, positions, **kwargs)

    monkeypatch.setattr(denoiser, "logits", recording)
    engine = InfillEngine(denoiser)  # no scoring helper: every pass runs here
    head = "x = 1\n" * 200 + "def mul(a, b):\n    return "
    text = head + "\n\n" + "y = 2\n" * 200  # context on both sides fills either canvas
    engine.fill(FillRequest(text=text, start=len(head), language="python", draft_policy="off"))
    assert widths and max(widths) <= denoiser.line_canvas
    context = widths[0] - denoiser.line_budget - 1  # the start marker is the other fixed token
    assert suffixes[0] == int((denoiser.line_canvas - denoiser.line_budget - 2) * denoiser.line_suffix_share)
    assert 0 < suffixes[0] < context
    widths.clear()
    engine.fill(FillRequest(text=text, start=len(head), language="python", kind=HoleKind.BLOCK,
                            draft_policy="off", max_blocks=1))
    assert widths and min(widths) > denoiser.line_canvas
    widths.clear()
    # A line asking for more slots than half the line canvas gets the full canvas.
    engine.fill(FillRequest(text=text, start=len(head), language="python", draft_policy="off",
                            slots=denoiser.line_canvas // 2 + 1))
    assert widths and min(widths) > denoiser.line_canvas


def test_every_candidate_is_scored_by_its_lead_in_unless_drafts_are_off(engine):
    text = CODE + "\n\ndef mul(a, b):\n    "
    for policy, scored in (("prefer", True), ("off", False)):
        req = FillRequest(text=text + "\n\n\ndef main():\n    print(mul(2, 3))\n", start=len(text),
                          language="python", draft_policy=policy)
        plan = engine.plan(req)
        pool, _ = engine.line_pool(req, plan, engine.budget(req, plan), req.start, None)
        assert pool.items
        assert all((f.lead_in is not None) == scored for f in pool.items.values())


def test_a_stopped_lead_in_leaves_every_candidate_unscored(engine):
    text = CODE + "\n\ndef mul(a, b):\n    "
    req = FillRequest(text=text + "\n", start=len(text), language="python")
    plan = engine.plan(req)
    pool, _ = engine.line_pool(req, plan, engine.budget(req, plan), req.start, None)
    for f in list(pool.items.values())[1:]:
        f.lead_in = None  # as if the model's lines joined after the first scoring
    stop = StopSignal()
    stop.cancel.set()
    engine.score_lead_in(req, pool, req.start, stop)
    assert all(f.lead_in is None for f in pool.items.values())


def test_a_line_copied_by_analogy_joins_the_candidates(engine):
    # `limit(y_raw)` stands nowhere in the file: only the analogy with the x lines writes it.
    text = "x_low = clamp(x_raw)\nx_high = limit(x_raw)\ny_low = clamp(y_raw)\ny_high = "
    req = FillRequest(text=text + "\n", start=len(text), language="python")
    plan = engine.plan(req)
    pool, _ = engine.line_pool(req, plan, engine.budget(req, plan), req.start, None)
    assert pool.items["limit(y_raw)"].analogy_matched >= 4
    assert all(f.analogy_matched == 0 for text, f in pool.items.items() if text != "limit(y_raw)")


def test_a_hole_with_code_after_it_on_its_line_has_its_own_threshold(engine):
    from dataclasses import replace

    from diffill.infill.engine import InfillEngine

    never_inside = replace(engine.ranker, show_at=0.0, show_at_in_line=1.0)
    strict_inside = InfillEngine(engine.denoiser, ranker=never_inside)
    text = 'def save(path, text):\n    with open(path, "w") as f:\n        f.write()\n'
    inside = text.index("f.write(") + len("f.write(")
    assert not strict_inside.fill(FillRequest(text=text, start=inside, language="python")).shown
    end = text.index("f.write()")
    at_end = text[:end] + "\n"
    assert strict_inside.fill(FillRequest(text=at_end, start=end, language="python")).shown


def test_names_in_scope_join_the_candidates_inside_brackets(engine):
    text = 'def save(path, text):\n    with open(path, "w") as f:\n        f.write()\n'
    start = text.index("f.write(") + len("f.write(")
    result = engine.fill(FillRequest(text=text, start=start, language="python", n=12))
    assert "text" in [c.text for c in result.candidates]


def test_inside_a_name_being_typed_the_shape_drafts_go_on_with_it(engine):
    # `sel|` and `print(te|`: no line start, no argument start at the cursor, but the scope's
    # `__init__` line and the names in scope begin with what was typed; the rest is offered.
    text = ("class User:\n    def __init__(self, name, email):\n        self.name = name\n        sel\n\n\n"
            "def show(text):\n    print(te\n")

    def pool_at(marker: str) -> dict:
        start = text.index(marker + "\n") + len(marker)
        req = FillRequest(text=text, start=start, language="python")
        plan = engine.plan(req)
        return engine.line_pool(req, plan, engine.budget(req, plan), start, None)[0].items

    init = pool_at("        sel")
    assert init["f.email = email"].scope == "init"
    assert not any(fill.startswith("sel") for fill in init)  # what was typed is not typed again
    assert pool_at("print(te")["xt)"].name_rank == 0


def test_a_loop_the_code_below_needs_joins_the_pool_and_binds_its_names(engine):
    text = ("def shout(words):\n    \n        print(word.upper())\n    return len(words)\n")
    start = text.index("    \n") + 4
    req = FillRequest(text=text, start=start, language="python")
    plan = engine.plan(req)
    items = engine.line_pool(req, plan, engine.budget(req, plan), start, None)[0].items
    loop = items["for word in words:"]
    assert loop.scope == "binds" and (loop.needed_met, loop.needed_unmet) == (1, 0)
    # Every other candidate is told what it leaves unbound.
    assert all(f.needed_met + f.needed_unmet == 1 for f in items.values() if f.syntax_ok)
