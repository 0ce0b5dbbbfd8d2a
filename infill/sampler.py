"""The denoising step loop: commit confident slots in parallel, re-mask doubtful ones.

Each step is one forward pass over the canvas. Open (masked) slots whose score clears the
threshold are committed together, at least one per step (Fast-dLLM's parallel decoding).
Scores: `confidence` (top probability), `margin` (top-1 minus top-2, Dream's topk_margin),
`entropy` (negative entropy, Dream/DreamOn). Committed slots whose probability later falls
below `remask_below` are masked again, at most `max_remasks` times per request (the
"re-noising" of DiffusionGemma). The loop checks a cancel flag and a deadline between
steps; when either fires it returns None rather than a half-denoised canvas.
Denoisers that define `sample` (DiffusionGemma's uniform noise, DreamOn's growing holes) run
their own loop under the same cancel and deadline rules (`denoise_own_loop`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from diffill.model.denoiser import Bools, Denoiser, Floats, LoopResult, Tokens

from .api import COMMIT_RULES, Cancelled, SamplerConfig, StopSignal

__all__ = ["COMMIT_RULES", "Cancelled", "SamplerConfig", "StopSignal", "SampleResult", "WarmStart", "denoise",
           "score"]

@dataclass
class SampleResult:
    slots: list[list[int]]  # (N, K) final token id of every slot, one row per candidate
    logprob: list[float]  # (N,) sum of log-probabilities of the committed tokens
    steps: int  # forward passes
    committed: int  # slot commits over all candidates (re-masked slots count again)
    ms: float
    hurried: bool = False  # the deadline forced the last open slots in at once

    @property
    def tokens_per_forward(self) -> float:
        return self.committed / max(self.steps * max(len(self.slots), 1), 1)


@dataclass
class WarmStart:
    """A forward pass already run over the starting canvas (row 0): the loop's first step.

    The line path scores every candidate against the all-masked canvas before denoising it;
    that pass is exactly the loop's first, so the loop takes its logits and the context cache
    it filled instead of running it again.
    """

    logits: Floats  # (1, K, V) raw logits at the slot positions of the starting canvas
    cache: Any | None  # the context cache that pass filled (None: no cache, or it is elsewhere)
    # Runs the loop where the pass ran, the cache with it (infill.scoring_process):
    # (n, sampler, stop, patience in seconds) -> the result.
    elsewhere: Callable[[int, SamplerConfig, StopSignal | None, float], SampleResult] | None = None


def context_cache(denoiser: Denoiser, refresh_every: int) -> Any | None:
    """A fresh step cache when the denoiser keeps one (model.modernbert.ContextCache), else None."""
    make = getattr(denoiser, "context_cache", None)
    return make(refresh_every) if callable(make) else None


def forward(denoiser: Denoiser, canvas: Tokens, attention: Tokens, positions: Tokens,
            cache: Any | None) -> Floats:
    """Logits (N, K, V), through the step cache when there is one."""
    if cache is not None:
        return denoiser.logits(canvas, attention, positions, cache=cache)  # type: ignore[call-arg]
    return denoiser.logits(canvas, attention, positions)


def softmax(logits: Floats) -> Floats:
    """Probabilities over the last axis; -inf logits get probability 0."""
    e = np.exp(logits - logits.max(-1, keepdims=True))
    probs: Floats = e / e.sum(-1, keepdims=True)
    return probs


def log_softmax(logits: Floats) -> Floats:
    shifted = logits - logits.max(-1, keepdims=True)
    out: Floats = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    return out


def take(values: Floats, ids: Tokens) -> Floats:
    """values[..., ids] per position: (N, K) from values (N, K, V) and ids (N, K)."""
    picked: Floats = np.take_along_axis(values, ids[..., None], axis=-1)[..., 0]
    return picked


def log_clamped(p: Floats) -> Floats:
    out: Floats = np.log(np.maximum(p, np.float32(1e-12)))
    return out


def score(probs: Floats, rule: str) -> Floats:
    """Score (N, K) of slot distributions probs (N, K, V); higher means more certain."""
    if rule == "confidence":
        best: Floats = probs.max(-1)
        return best
    if rule == "margin":
        top2 = np.partition(probs, -2, axis=-1)[..., -2:]
        margin: Floats = top2[..., 1] - top2[..., 0]
        return margin
    if rule == "entropy":
        ent = -(probs * log_clamped(probs)).sum(-1)
        certainty: Floats = np.exp(-ent)  # in (0, 1]: 1 for a one-hot distribution
        return certainty
    raise ValueError(f"unknown commit rule {rule!r}; choose from {COMMIT_RULES}")


def null_tail(slots: Tokens, choice: Tokens, scores: Floats, null_id: int, threshold: float) -> Bools:
    """Bool (N, K): the run of slots at the end of each row predicted (or fixed) null.

    A hole's nulls are always its last slots (training pads the middle at the end), so once
    the last slot is confidently null the whole predicted null run ends the fill together.
    """
    is_null = (choice == null_id) | (slots == null_id)
    # Slot j is in the tail when it and every slot after it are null.
    tail = np.logical_and.accumulate(is_null[:, ::-1], axis=-1)[:, ::-1]
    sure = (scores[:, -1:] >= threshold) | (slots[:, -1:] == null_id)
    out: Bools = tail & sure
    return out


def stutter(commit: Bools, choice: Tokens, scores: Floats, null_id: int) -> Bools:
    """Bool (N, K): commits to hold back because a neighbour commits the same token now.

    Slots predicted in one pass are independent given the canvas, so two adjacent slots
    that each think a token comes next both write it ("_to_to_to"). Of such a pair only the
    more confident slot commits; the other is predicted again next step, seeing it.
    """
    same = (choice[:, 1:] == choice[:, :-1]) & commit[:, 1:] & commit[:, :-1]
    same &= choice[:, 1:] != null_id  # a run of nulls is the end of the fill, not a stutter
    left_lower = scores[:, :-1] < scores[:, 1:]
    hold = np.zeros_like(commit)
    hold[:, :-1] |= same & left_lower
    hold[:, 1:] |= same & ~left_lower
    return hold


def nucleus_sample(probs: Floats, top_p: float, gen: np.random.Generator) -> Tokens:
    """Sample (N, K) ids from (N, K, V) probabilities restricted to the top-p nucleus."""
    n, k, v = probs.shape
    flat = probs.reshape(n * k, v).astype(np.float64)  # float64: the cumulative sums need it
    order = np.argsort(-flat, axis=-1, kind="stable")
    sorted_p = np.take_along_axis(flat, order, axis=-1)
    if top_p < 1.0:
        sorted_p = sorted_p * (sorted_p.cumsum(-1) - sorted_p < top_p)
    cdf = sorted_p.cumsum(-1)
    # One uniform draw per slot, scaled to the kept mass: inverse-CDF sampling.
    u = gen.random(n * k) * cdf[:, -1]
    picked = np.minimum((cdf <= u[:, None]).sum(-1), v - 1)
    ids: Tokens = order[np.arange(n * k), picked].reshape(n, k)
    return ids


def denoise(
    denoiser: Denoiser,
    canvas: Tokens,
    attention: Tokens,
    slot_positions: Sequence[int],
    cfg: SamplerConfig,
    stop: StopSignal | None = None,
    allowed_first: Bools | None = None,
    warm: WarmStart | None = None,
) -> SampleResult:
    """Fill the masked slots of canvas (N, T) in place; N candidates run as one batch.

    slot_positions: canvas indices of the hole slots (same for every row). Slots that are
    not the mask id at the start are drafts: they count as committed and can be re-masked.
    allowed_first: optional bool (V,) of tokens the first slot may take (token healing).
    warm: the first step's forward, already run over this canvas (its rows all equal row 0);
    `steps` then counts only the passes this call ran.
    """
    if cfg.rule not in COMMIT_RULES:
        raise ValueError(f"unknown commit rule {cfg.rule!r}; choose from {COMMIT_RULES}")
    own_loop = getattr(denoiser, "sample", None)
    if callable(own_loop):
        return denoise_own_loop(own_loop, canvas, attention, slot_positions, cfg, stop, allowed_first)
    start = time.perf_counter()
    mask_id = denoiser.ids.mask
    n, _ = canvas.shape
    pos = np.array(list(slot_positions), dtype=np.int64)  # (K,)
    k = pos.size
    positions = np.repeat(pos[None, :], n, axis=0)  # (N, K)
    gen = np.random.default_rng(cfg.seed)
    token_logp = np.zeros((n, k), dtype=np.float32)
    remasks = 0
    steps = committed = 0
    bias = np.zeros(0, dtype=np.float32)
    hurried = False
    choice = np.zeros((n, k), dtype=np.int64)  # (N, K) last step's prediction per slot
    choice_p = np.ones((n, k), dtype=np.float32)
    # Fixed tokens' keys and values reused between full passes (model.modernbert.ContextCache).
    cache = warm.cache if warm is not None else context_cache(denoiser, cfg.refresh_every)
    while True:
        if stop is not None and stop.cancelled():
            raise Cancelled()
        if stop is not None and stop.expired():
            if steps == 0:
                raise Cancelled()  # nothing computed yet: there is no fill to return
            # Out of time: open slots take the last step's predictions, no further forward.
            rows, cols = np.nonzero(canvas[:, pos] == mask_id)
            canvas[rows, pos[cols]] = choice[rows, cols]
            token_logp[rows, cols] = log_clamped(choice_p[rows, cols])
            committed += len(rows)
            hurried = True
            break
        slots = canvas[:, pos]  # (N, K)
        open_ = slots == mask_id
        # Columns to predict: the open ones (a committed slot's distribution matters only to
        # re-masking); every column when re-masking is on or nothing is open.
        cols = np.nonzero(open_.any(0))[0]
        if cfg.remask_below > 0 or cols.size == 0:
            cols = np.arange(k)
        if warm is not None and steps == 0:
            logits = np.repeat(warm.logits[:, cols], n, axis=0)  # a copy: the loop edits it
        else:
            logits = forward(denoiser, canvas, attention, positions[:, cols], cache)  # (N, C, V)
        steps += 1
        if bias.shape[-1] != logits.shape[-1]:
            bias = np.zeros(logits.shape[-1], dtype=np.float32)
            bias[list(denoiser.forbidden)] = -np.inf
        logits = logits + bias
        if allowed_first is not None and cols[0] == 0:
            logits[:, 0, ~allowed_first] = -np.inf
        if cfg.temperature > 0:
            probs = softmax(logits / np.float32(cfg.temperature))
            picked = nucleus_sample(probs, cfg.top_p, gen)
        else:
            probs = softmax(logits)
            picked = probs.argmax(-1)  # (N, C)
        # (N, K) views of this step: a column not predicted keeps its committed token.
        choice = slots.copy()
        choice[:, cols] = picked
        choice_p = np.ones((n, k), dtype=np.float32)
        choice_p[:, cols] = take(probs, picked)
        current_p = np.ones((n, k), dtype=np.float32)
        current_p[:, cols] = take(probs, np.maximum(slots[:, cols], 0))
        # Re-mask committed slots the model now doubts (self-correction), within the cap.
        if cfg.remask_below > 0 and remasks < cfg.max_remasks:
            doubt = (~open_) & (current_p < cfg.remask_below)
            if doubt.any():
                budget = cfg.max_remasks - remasks
                flat = np.argwhere(doubt)[:budget]
                canvas[flat[:, 0], pos[flat[:, 1]]] = mask_id
                remasks += len(flat)
                open_ = canvas[:, pos] == mask_id
        # A committed slot's log-probability: from the last step that predicted its column.
        token_logp[:, cols] = np.where(open_[:, cols], token_logp[:, cols], log_clamped(current_p[:, cols]))
        if not open_.any():
            break
        s = np.full((n, k), np.float32(-1.0), dtype=np.float32)  # (N, K); closed slots -1
        s[:, cols] = np.where(open_[:, cols], score(probs, cfg.rule), np.float32(-1.0))
        commit = (s >= cfg.threshold) & open_
        # A row whose every open slot predicts null has ended its fill: commit them all now
        # rather than spending a forward pass per low-confidence null.
        ended = ~(open_ & (choice != denoiser.ids.null)).any(-1, keepdims=True)
        commit |= open_ & ended
        if cfg.null_tail:
            commit |= open_ & null_tail(slots, choice, s, denoiser.ids.null, cfg.threshold)
        if cfg.stutter_guard:
            commit &= ~stutter(commit, choice, s, denoiser.ids.null)
        # At least ceil(open / steps left) per row, so a row finishes within max_steps (one
        # per step when the budget is generous): the knob that trades passes for quality.
        steps_left = max(cfg.max_steps - steps + 1, 1)
        quota = (open_.sum(-1) + steps_left - 1) // steps_left  # (N,)
        ranked = np.argsort(-s, axis=-1, kind="stable")  # open slots first (closed ones score -1)
        take_top = np.arange(k)[None, :] < quota[:, None]  # (N, K)
        np.put_along_axis(commit, ranked, np.take_along_axis(commit, ranked, axis=-1) | take_top, axis=-1)
        commit &= open_
        if steps >= cfg.max_steps:
            commit = open_  # out of steps: commit everything that is left
        rows, cols = np.nonzero(commit)
        canvas[rows, pos[cols]] = choice[rows, cols]
        token_logp[rows, cols] = log_clamped(choice_p[rows, cols])
        committed += len(rows)
        if not (canvas[:, pos] == mask_id).any():
            break
    return SampleResult(
        slots=canvas[:, pos].tolist(),
        logprob=[float(x) for x in token_logp.sum(-1)],
        steps=steps - (warm is not None),
        committed=committed,
        ms=(time.perf_counter() - start) * 1000,
        hurried=hurried,
    )


def denoise_own_loop(
    sample: Callable[..., LoopResult],
    canvas: Tokens,
    attention: Tokens,
    slot_positions: Sequence[int],
    cfg: SamplerConfig,
    stop: StopSignal | None,
    allowed_first: Bools | None,
) -> SampleResult:
    """Families with their own step loop (uniform noise, growing holes): same stop semantics."""
    start = time.perf_counter()

    def poll() -> str | None:
        if stop is None:
            return None
        if stop.cancelled():
            return "cancel"
        return "expire" if stop.expired() else None

    out = sample(canvas, attention, list(slot_positions), cfg, poll, allowed_first)
    if out.cancelled:
        raise Cancelled()
    return SampleResult(slots=out.slots, logprob=out.logprob, steps=out.steps, committed=out.committed,
                        ms=(time.perf_counter() - start) * 1000, hurried=out.hurried)
