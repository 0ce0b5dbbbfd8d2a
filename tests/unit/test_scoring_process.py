"""The scoring pass in a second process computes what the engine's own thread computes, and an
engine whose process is gone still fills."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from diffill.infill.api import FillRequest
from diffill.infill.canvas import CanvasPlan, batch_canvases, build_canvas
from diffill.infill.engine import InfillEngine
from diffill.infill.line_candidates import masked_prior
from diffill.infill.scoring_process import ScoringProcess, request_of
from diffill.model.modernbert import ContextCache

TEXT = ("class Contact:\n    def __init__(self, name, email):\n        self.name = name\n        \n\n"
        "    def __repr__(self):\n        return f\"Contact({self.name!r}, {self.email!r})\"\n")
CURSOR = TEXT.index("\n        \n") + 9

READY_WITHIN_S = 120  # a safety net for a stuck child on a busy machine; the wait ends at ready


@pytest.fixture(scope="module")
def scorer(denoiser):
    proc = ScoringProcess(denoiser.path)
    assert proc.usable.wait(READY_WITHIN_S), "the scoring process never loaded the model"
    yield proc
    proc.close()


def test_the_process_scores_as_this_thread_does(denoiser, scorer):
    cv = build_canvas(denoiser.tokenizer, denoiser.ids, TEXT, CURSOR, CURSOR, CanvasPlan(32, 128))
    ids, attention = batch_canvases([cv.ids], denoiser.ids.pad)
    here, warm_here = masked_prior(denoiser, ids, attention, cv.slot_positions, None, 8)
    future = scorer.submit(request_of(denoiser.forbidden, ids, attention, cv.slot_positions, None, 8))
    assert future is not None
    there, warm_there = future.result()
    np.testing.assert_allclose(there, here, atol=1e-5)
    np.testing.assert_allclose(warm_there.logits, warm_here.logits, atol=1e-5)
    # The step cache stays in the child until the denoising loop asks for it.
    assert warm_there.cache is None
    cache = warm_there.step_cache()
    assert isinstance(cache, ContextCache) and cache.full_passes == 1
    assert np.array_equal(cache.slots, np.array(cv.slot_positions))


def test_an_engine_fills_the_same_with_and_without_the_process(denoiser):
    req = FillRequest(text=TEXT, start=CURSOR, language="python")
    alone = InfillEngine(denoiser).fill(req)
    engine = InfillEngine(denoiser)
    assert engine.start_scoring_process()
    assert engine.scorer is not None and engine.scorer.usable.wait(READY_WITHIN_S)
    try:
        paired = engine.fill(req)
        assert [(c.text, c.shown) for c in paired.candidates] == [(c.text, c.shown) for c in alone.candidates]
        assert paired.candidates[0].confidence == pytest.approx(alone.candidates[0].confidence, abs=1e-4)
        # The child dies: the next fill scores in this thread instead, and says the same.
        engine.scorer.proc.kill()
        engine.scorer.proc.wait()
        engine.cache.clear()
        again = engine.fill(req)
        assert [c.text for c in again.candidates] == [c.text for c in alone.candidates]
        assert not engine.scorer.ready()
    finally:
        engine.close()
    assert engine.scorer is None


def test_a_hung_process_is_ended_and_the_fill_scores_here(denoiser):
    import os
    import signal

    engine = InfillEngine(denoiser)
    assert engine.start_scoring_process()
    scorer = engine.scorer
    assert scorer is not None and scorer.usable.wait(READY_WITHIN_S)
    engine.scoring_patience_s = 0.5
    os.kill(scorer.proc.pid, signal.SIGSTOP)  # alive, never answering
    try:
        result = engine.fill(FillRequest(text=TEXT, start=CURSOR, language="python"))
    finally:
        if scorer.proc.poll() is None:
            os.kill(scorer.proc.pid, signal.SIGCONT)
        engine.close()
    assert result.candidates  # scored in this process instead
    assert engine.scorer is None and scorer.proc.poll() is not None  # the hung child was ended


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads the child's environment in /proc")
def test_the_process_and_this_one_share_the_cores(denoiser, monkeypatch):
    # Each process with OpenBLAS's default (every core) would oversubscribe the machine.
    from diffill.model import threads

    applied: list[int] = []
    monkeypatch.setattr(threads, "limit_blas_threads", applied.append)
    monkeypatch.delenv("DIFFILL_THREADS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    engine = InfillEngine(denoiser)
    assert engine.start_scoring_process() and engine.scorer is not None
    try:
        environ = Path(f"/proc/{engine.scorer.proc.pid}/environ").read_bytes().split(b"\0")
        assert b"DIFFILL_THREADS=2" in environ and applied == [2]
    finally:
        engine.close()


def test_a_thread_setting_of_the_user_wins_over_the_share(monkeypatch):
    from diffill.model import threads

    applied: list[int] = []
    monkeypatch.setattr(threads, "limit_blas_threads", applied.append)
    monkeypatch.setenv("DIFFILL_THREADS", "3")
    assert threads.share_cores(2) == 3 and applied == [3]
    monkeypatch.delenv("DIFFILL_THREADS")
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert threads.share_cores(2) == 1  # never zero
