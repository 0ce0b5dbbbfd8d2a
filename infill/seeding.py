"""Canvases that start from text instead of an all-mask hole: drafts and range rewrites.

A seeded slot holds a real token; the denoiser reads every slot, the ones it doubts are
masked again and refilled. For a draft this is verification (keep what the model agrees
with, correct the rest); for a range rewrite the re-masked share is the rewrite strength.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from diffill.model.denoiser import Denoiser, Floats, Tokens

from .sampler import log_softmax, take

# A draft slot whose token the model gives less than this probability is re-masked.
VERIFY_REMASK_BELOW = 0.1


def slot_tokens(tokens: Sequence[int], slots: int, null_id: int) -> list[int] | None:
    """Tokens padded with null to the slot count; None when they do not fit."""
    if len(tokens) > slots:
        return None
    return [*tokens, *([null_id] * (slots - len(tokens)))]


def seeded_rows(base: Tokens, positions: Sequence[int], seeds: Sequence[Sequence[int]]) -> Tokens:
    """Copies (S, T) of the canvas row base (T,), the hole slots of row i set to seeds[i]."""
    rows = np.repeat(base[None, :], len(seeds), axis=0)
    if seeds:
        rows[:, list(positions)] = np.array([list(s) for s in seeds], dtype=rows.dtype)
    return rows


def remask_least_likely(
    denoiser: Denoiser,
    canvases: Tokens,
    attention: Tokens,
    positions: Sequence[int],
    share: float,
) -> int:
    """Mask, in place, the share of each row's slots whose token the model finds least likely.

    share 0 masks nothing, 1 masks every slot; returns the forward passes spent (0 or 1).
    """
    k = len(positions)
    n_mask = round(share * k)
    if n_mask == 0:
        return 0
    pos = np.array(list(positions), dtype=np.int64)
    if n_mask >= k:
        canvases[:, pos] = denoiser.ids.mask
        return 0
    index = np.repeat(pos[None, :], canvases.shape[0], axis=0)
    logits = denoiser.logits(canvases, attention, index)  # (N, K, V)
    logits[..., list(denoiser.forbidden)] = -np.inf
    logp = take(log_softmax(logits), canvases[:, pos])  # (N, K)
    doubt = np.argsort(logp, axis=-1, kind="stable")[:, :n_mask]  # (N, n_mask) least likely first
    rows = np.arange(canvases.shape[0])[:, None]
    canvases[rows, pos[doubt]] = denoiser.ids.mask
    return 1


def pseudo_log_likelihood(
    denoiser: Denoiser,
    canvases: Tokens,
    attention: Tokens,
    slot_positions: list[int],
    groups: int = 2,
) -> Floats:
    """Masked pseudo-log-likelihood (N, K) of every slot of each canvas, one batched forward.

    Slots are split into `groups` interleaved sets; each set is masked in its own row and
    the model's log-probability of the true token at each masked slot is read. Every
    candidate is scored the same way, so drafts and sampled fills compare fairly.
    """
    n, _ = canvases.shape
    pos = np.array(slot_positions, dtype=np.int64)
    rows = np.repeat(canvases, groups, axis=0)  # (N*G, T)
    att = np.repeat(attention, groups, axis=0)
    for g in range(groups):
        rows[g::groups, pos[g::groups]] = denoiser.ids.mask
    positions = np.repeat(pos[None, :], n * groups, axis=0)
    logits = denoiser.logits(rows, att, positions)  # (N*G, K, V)
    logits[..., list(denoiser.forbidden)] = -np.inf
    truth = np.repeat(canvases[:, pos], groups, axis=0)  # (N*G, K)
    tok_lp = take(log_softmax(logits), truth)  # (N*G, K)
    masked = (rows[:, pos] == denoiser.ids.mask).astype(np.float32)
    out: Floats = (tok_lp * masked).reshape(n, groups, -1).sum(1)  # each slot is masked in one group
    return out


def length_normalized(slot_logp: Floats, slots: Tokens, null_id: int) -> list[float]:
    """Mean log-probability over a fill's content slots and its first null.

    A plain sum favours short fills (null slots are cheap); the first null still counts, so
    where the fill ends is judged too.
    """
    scores = []
    for lp, ids in zip(slot_logp, slots, strict=True):
        nulls = np.flatnonzero(ids == null_id)
        end = int(nulls[0]) + 1 if len(nulls) else len(ids)
        scores.append(float(lp[:end].mean()))
    return scores
