from __future__ import annotations

import pytest

from diffill.infill.engine import FillRequest, HoleKind
from diffill.infill.sampler import Cancelled, StopSignal

CODE = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"


def test_fill_at_cursor_returns_one_line(engine):
    text = CODE + "\n\ndef mul(a, b):\n    return "
    res = engine.fill(FillRequest(text=text, start=len(text), language="python"))
    assert res.kind == HoleKind.REST_OF_LINE
    assert res.steps >= 1 and res.ms > 0
    for cand in res.candidates:
        assert "\n" not in cand.text


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
    keys = [(c.syntax_ok, c.logprob) for c in res.candidates]
    assert keys == sorted(keys, reverse=True)


def test_range_rewrite_replaces_only_the_range(engine):
    start = CODE.index("a - b")
    end = start + len("a - b")
    res = engine.fill(FillRequest(text=CODE, start=start, end=end, language="python"))
    assert (res.start, res.end) == (start, end)
    assert res.kind == HoleKind.RANGE


def test_block_hole_after_header(engine):
    text = "def greet(name):\n    "
    res = engine.fill(FillRequest(text=text, start=len(text), language="python", max_blocks=2))
    assert res.kind == HoleKind.BLOCK


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
