"""Canvases that start from text instead of an all-mask hole: drafts and range rewrites.

A seeded slot holds a real token; the denoiser reads every slot, the ones it doubts are
masked again and refilled. For a draft this is verification (keep what the model agrees
with, correct the rest); for a range rewrite the re-masked share is the rewrite strength.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from diffill.model.denoiser import Denoiser

# A draft slot whose token the model gives less than this probability is re-masked.
VERIFY_REMASK_BELOW = 0.1


def slot_tokens(tokens: Sequence[int], slots: int, null_id: int) -> list[int] | None:
    """Tokens padded with null to the slot count; None when they do not fit."""
    if len(tokens) > slots:
        return None
    return [*tokens, *([null_id] * (slots - len(tokens)))]


def seeded_rows(base: torch.Tensor, positions: Sequence[int], seeds: Sequence[Sequence[int]]) -> torch.Tensor:
    """Copies (S, T) of the canvas row base (T,), the hole slots of row i set to seeds[i]."""
    rows = base.unsqueeze(0).repeat(len(seeds), 1)
    if seeds:
        rows[:, list(positions)] = torch.tensor([list(s) for s in seeds], dtype=rows.dtype)
    return rows


@torch.inference_mode()
def remask_least_likely(
    denoiser: Denoiser,
    canvases: torch.Tensor,
    attention: torch.Tensor,
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
    pos = torch.tensor(list(positions))
    if n_mask >= k:
        canvases[:, pos] = denoiser.ids.mask
        return 0
    index = pos.unsqueeze(0).expand(canvases.shape[0], -1)
    logits = denoiser.logits(canvases, attention, index)  # (N, K, V)
    logits[..., list(denoiser.forbidden)] = -math.inf
    current = canvases[:, pos]
    logp = torch.log_softmax(logits.float(), -1).gather(-1, current.unsqueeze(-1)).squeeze(-1)
    doubt = logp.topk(n_mask, dim=-1, largest=False).indices  # (N, n_mask)
    rows = torch.arange(canvases.shape[0]).unsqueeze(-1).expand_as(doubt)
    canvases[rows, pos[doubt]] = denoiser.ids.mask
    return 1


@torch.inference_mode()
def pseudo_log_likelihood(
    denoiser: Denoiser,
    canvases: torch.Tensor,
    attention: torch.Tensor,
    slot_positions: list[int],
    groups: int = 2,
) -> torch.Tensor:
    """Masked pseudo-log-likelihood (N, K) of every slot of each canvas, one batched forward.

    Slots are split into `groups` interleaved sets; each set is masked in its own row and
    the model's log-probability of the true token at each masked slot is read. Every
    candidate is scored the same way, so drafts and sampled fills compare fairly.
    """
    n, t = canvases.shape
    pos = torch.tensor(slot_positions)
    rows = canvases.repeat_interleave(groups, 0)  # (N*G, T)
    att = attention.repeat_interleave(groups, 0)
    for g in range(groups):
        rows[g::groups, pos[g::groups]] = denoiser.ids.mask
    positions = pos.unsqueeze(0).expand(n * groups, -1)
    logits = denoiser.logits(rows, att, positions)  # (N*G, K, V)
    logits[..., list(denoiser.forbidden)] = -math.inf
    logp = torch.log_softmax(logits, -1)
    truth = canvases[:, pos].repeat_interleave(groups, 0)  # (N*G, K)
    tok_lp = logp.gather(-1, truth.unsqueeze(-1)).squeeze(-1)  # (N*G, K)
    masked = (rows[:, pos] == denoiser.ids.mask).float()
    return (tok_lp * masked).view(n, groups, -1).sum(1)  # each slot is masked in one group


def length_normalized(slot_logp: torch.Tensor, slots: torch.Tensor, null_id: int) -> list[float]:
    """Mean log-probability over a fill's content slots and its first null.

    A plain sum favours short fills (null slots are cheap); the first null still counts, so
    where the fill ends is judged too.
    """
    scores = []
    for lp, ids in zip(slot_logp, slots, strict=True):
        nulls = (ids == null_id).nonzero()
        end = int(nulls[0]) + 1 if len(nulls) else len(ids)
        scores.append(float(lp[:end].mean()))
    return scores
