"""The scoring pass in a second process computes what the engine's own thread computes, and an
engine whose process is gone still fills."""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from diffill.infill.api import Cancelled, FillRequest, SamplerConfig, StopSignal
from diffill.infill.canvas import CanvasPlan, batch_canvases, build_canvas
from diffill.infill.engine import InfillEngine
from diffill.infill.line_candidates import masked_prior
from diffill.infill.ranking import default_ranker
from diffill.infill.sampler import denoise
from diffill.infill.scoring_process import CANCEL, ScoringProcess, request_of

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


def canvas_of(denoiser):
    cv = build_canvas(denoiser.tokenizer, denoiser.ids, TEXT, CURSOR, CURSOR, CanvasPlan(32, 128))
    ids, attention = batch_canvases([cv.ids], denoiser.ids.pad)
    return ids, attention, cv.slot_positions


def test_the_process_scores_and_denoises_as_this_thread_does(denoiser, scorer):
    ids, attention, positions = canvas_of(denoiser)
    here, warm_here = masked_prior(denoiser, ids, attention, positions, None, 8)
    future = scorer.submit(request_of(denoiser.forbidden, ids, attention, positions, None, 8), READY_WITHIN_S)
    assert future is not None
    there, warm_there = future.result(READY_WITHIN_S)
    np.testing.assert_allclose(there, here, atol=1e-5)
    np.testing.assert_allclose(warm_there.logits, warm_here.logits, atol=1e-5)
    # The step cache stays in the child, and the loop from that pass runs there.
    assert warm_there.cache is None and warm_there.elsewhere is not None
    sampler = SamplerConfig()
    local = denoise(denoiser, np.repeat(ids, 2, axis=0), np.repeat(attention, 2, axis=0), positions, sampler,
                    None, None, warm_here)
    remote = warm_there.elsewhere(2, sampler, None, READY_WITHIN_S)
    assert remote.slots == local.slots and remote.steps == local.steps
    np.testing.assert_allclose(remote.logprob, local.logprob, atol=1e-4)
    # One loop per pass: the cache was spent.
    with pytest.raises(RuntimeError, match="no scoring pass"):
        warm_there.elsewhere(1, sampler, None, READY_WITHIN_S)


def test_a_cancel_ends_the_loop_in_the_process_and_it_serves_on(denoiser, scorer, monkeypatch):
    ids, attention, positions = canvas_of(denoiser)
    future = scorer.submit(request_of(denoiser.forbidden, ids, attention, positions, None, 8), READY_WITHIN_S)
    assert future is not None
    _, warm = future.result(READY_WITHIN_S)
    assert warm.elsewhere is not None
    # Both the loop request and the cancel wait in the pipe of a stopped child: the loop
    # sees the cancel before its first step, however busy the machine.
    sent: list[object] = []
    cancel_sent = threading.Event()
    send = scorer.send

    def recording(message):
        send(message)
        sent.append(message)
        if isinstance(message, tuple) and message[0] == CANCEL:
            cancel_sent.set()

    monkeypatch.setattr(scorer, "send", recording)
    stop = StopSignal()
    stop.cancel.set()
    outcome: list[object] = []
    os.kill(scorer.proc.pid, signal.SIGSTOP)
    try:
        loop = warm.elsewhere
        worker = threading.Thread(target=lambda: outcome.append(catch(loop, 1, SamplerConfig(), stop)))
        worker.start()
        assert cancel_sent.wait(READY_WITHIN_S)
    finally:
        os.kill(scorer.proc.pid, signal.SIGCONT)
    worker.join(READY_WITHIN_S)
    assert outcome and isinstance(outcome[0], Cancelled)
    # A late cancel of an ended loop does not touch the next one.
    scorer.send((CANCEL, 10_000))
    again = scorer.submit(request_of(denoiser.forbidden, ids, attention, positions, None, 8), READY_WITHIN_S)
    assert again is not None
    _, warm = again.result(READY_WITHIN_S)
    assert warm.elsewhere is not None
    assert warm.elsewhere(1, SamplerConfig(), None, READY_WITHIN_S).slots


def catch(fn, *args):
    try:
        return fn(*args, READY_WITHIN_S)
    except Exception as exc:
        return exc


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


def test_a_loop_that_hangs_in_the_process_is_ended_and_runs_here(denoiser, monkeypatch):
    # Every pass exact (no step cache): the rerun here has no cache, and the line must not
    # depend on which approximate cache each path would have kept.
    req = FillRequest(text=TEXT, start=CURSOR, language="python", draft_policy="off",
                      sampler=SamplerConfig(refresh_every=1))
    alone = InfillEngine(denoiser).fill(req)
    engine = InfillEngine(denoiser)
    assert engine.start_scoring_process()
    scorer = engine.scorer
    assert scorer is not None and scorer.usable.wait(READY_WITHIN_S)
    engine.scoring_patience_s = 0.5
    submit, start_loop = scorer.submit, scorer.start_loop
    hung: list[int] = []

    def pass_alone(req, patience_s, then_loop=None):
        return submit(req, patience_s)  # the loop is asked for once the pass has answered

    def hang_then_start(*args):
        os.kill(scorer.proc.pid, signal.SIGSTOP)  # the pass answered; the loop never will
        hung.append(scorer.proc.pid)
        return start_loop(*args)

    monkeypatch.setattr(scorer, "submit", pass_alone)
    monkeypatch.setattr(scorer, "start_loop", hang_then_start)
    try:
        result = engine.fill(req)
        closed_by_the_fill = engine.scorer is None
    finally:
        if scorer.proc.poll() is None:
            os.kill(scorer.proc.pid, signal.SIGCONT)
        engine.close()
    # The loop ran here from the pass's logits: the same line as a fill without the helper.
    assert hung and closed_by_the_fill and scorer.proc.poll() is not None
    assert [c.text for c in result.candidates] == [c.text for c in alone.candidates]


def test_an_answer_nobody_read_is_not_taken_for_the_next_one(denoiser, scorer):
    # A fill cancelled while its pass ran leaves that pass's answer in the pipe.
    ids, attention, positions = canvas_of(denoiser)
    first = request_of(denoiser.forbidden, ids, attention, positions, None, 8)
    abandoned = scorer.submit(first, READY_WITHIN_S)
    assert abandoned is not None
    other = TEXT.replace("email", "phone")
    cv = build_canvas(denoiser.tokenizer, denoiser.ids, other, CURSOR, CURSOR, CanvasPlan(32, 128))
    ids2, attention2 = batch_canvases([cv.ids], denoiser.ids.pad)
    here, _ = masked_prior(denoiser, ids2, attention2, cv.slot_positions, None, 8)
    pending = scorer.submit(request_of(denoiser.forbidden, ids2, attention2, cv.slot_positions, None, 8),
                            READY_WITHIN_S)
    assert pending is not None
    there, _ = pending.result(READY_WITHIN_S)
    np.testing.assert_allclose(there, here, atol=1e-5)


def test_a_loop_never_continues_an_older_pass(denoiser, scorer):
    ids, attention, positions = canvas_of(denoiser)
    good = scorer.submit(request_of(denoiser.forbidden, ids, attention, positions, None, 8), READY_WITHIN_S)
    assert good is not None
    good.result(READY_WITHIN_S)  # the child now holds this pass
    beyond = [ids.shape[1] + 5]  # a slot past the canvas: the pass fails in the child
    bad = scorer.submit(request_of(denoiser.forbidden, ids, attention, beyond, None, 8), READY_WITHIN_S,
                        then_loop=(1, SamplerConfig(), None))
    assert bad is not None
    with pytest.raises(RuntimeError, match="failed"):
        bad.result(READY_WITHIN_S)
    with pytest.raises(RuntimeError, match="no scoring pass"):
        bad.loop(1, SamplerConfig(), None, READY_WITHIN_S)
    assert scorer.ready()  # and it serves on


def recorded_cancels(scorer, monkeypatch) -> list[object]:
    """The CANCEL messages the scorer sends from now on (the messages still go out)."""
    cancels: list[object] = []
    send = scorer.send

    def recording(message):
        send(message)
        if isinstance(message, tuple) and message[0] == CANCEL:
            cancels.append(message)

    monkeypatch.setattr(scorer, "send", recording)
    return cancels


def test_a_pass_abandoned_before_its_loop_was_read_stops_that_loop(denoiser, scorer, monkeypatch):
    # A fill cancelled while proposing drafts never reads the loop sent with its pass; left
    # running, that loop would hold the next fill's pass behind it.
    ids, attention, positions = canvas_of(denoiser)
    wanted = request_of(denoiser.forbidden, ids, attention, positions, None, 8)
    cancels = recorded_cancels(scorer, monkeypatch)
    # The child stopped: the pass, the loop and the cancel all wait in its pipe, so the loop
    # meets the cancel before its first step however busy the machine.
    os.kill(scorer.proc.pid, signal.SIGSTOP)
    try:
        pending = scorer.submit(wanted, READY_WITHIN_S, then_loop=(1, SamplerConfig(), None))
        assert pending is not None
        pending.abandon()
        pending.abandon()
    finally:
        os.kill(scorer.proc.pid, signal.SIGCONT)
    assert cancels == [(CANCEL, pending.loop_id)]  # once
    assert isinstance(scorer.answer(READY_WITHIN_S), np.ndarray)  # the pass itself ran
    with pytest.raises(Cancelled):
        scorer.answer(READY_WITHIN_S)
    assert scorer.unread == 0 and scorer.ready()
    # A pass whose loop was read is not cancelled afterwards.
    again = scorer.submit(wanted, READY_WITHIN_S, then_loop=(1, SamplerConfig(), None))
    assert again is not None
    _, warm = again.result(READY_WITHIN_S)
    assert warm.elsewhere is not None and warm.elsewhere(1, SamplerConfig(), None, READY_WITHIN_S).slots
    again.abandon()
    assert len(cancels) == 1 and scorer.unread == 0


def test_a_fill_cancelled_while_proposing_stops_the_loop_it_sent(denoiser, monkeypatch):
    # Sure of nothing, so every fill awaits the denoiser's line (engine.SURE_WITHOUT_OWN_LINE).
    engine = InfillEngine(denoiser, ranker=replace(default_ranker(), bias=-25.0))
    assert engine.start_scoring_process()
    assert engine.scorer is not None and engine.scorer.usable.wait(READY_WITHIN_S)
    scorer = engine.scorer
    cancels = recorded_cancels(scorer, monkeypatch)
    stop = StopSignal()
    stop.cancel.set()  # the newer keystroke came while the drafts were proposed
    try:
        os.kill(scorer.proc.pid, signal.SIGSTOP)
        try:
            with pytest.raises(Cancelled):
                engine.fill(FillRequest(text=TEXT, start=CURSOR, language="python"), stop)
        finally:
            os.kill(scorer.proc.pid, signal.SIGCONT)
        assert len(cancels) == 1
        # The next fill drains the pass and the cancelled loop, then answers in full.
        res = engine.fill(FillRequest(text=TEXT, start=CURSOR, language="python"))
        assert res.candidates and res.steps > 1 and scorer.ready()
    finally:
        engine.close()


def test_a_sure_candidate_cancels_the_loop_and_the_next_fill_is_whole(denoiser, monkeypatch):
    # Sure of every admissible candidate: the denoiser's line is not awaited, its loop stops.
    engine = InfillEngine(denoiser, ranker=replace(default_ranker(), bias=25.0))
    assert engine.start_scoring_process()
    assert engine.scorer is not None and engine.scorer.usable.wait(READY_WITHIN_S)
    cancels = recorded_cancels(engine.scorer, monkeypatch)
    try:
        sure = engine.fill(FillRequest(text=TEXT, start=CURSOR, language="python"))
        assert sure.steps == 1 and sure.shown and len(cancels) == 1
        alone = engine.fill(FillRequest(text=TEXT, start=CURSOR, language="python", draft_policy="off"))
        assert alone.steps > 1 and alone.candidates and len(cancels) == 1
    finally:
        engine.close()
