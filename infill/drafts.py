"""Drafts: text the buffer already has, proposed as a starting canvas for the hole.

A small denoiser that cannot write a line from nothing can still recognise the right one
when it is put in front of it. Drafts come from spans whose left context matches the tail
of the prefix (longest match first, as in the copy baseline); each continuation up to its
line end is one draft. The denoiser then scores every candidate, drafts and its own fill
alike, by masked pseudo-log-likelihood, so the choice is the model's.
"""

from __future__ import annotations

import math

import torch

from diffill.model.denoiser import Denoiser

MIN_MATCH = 4  # characters of prefix tail a draft's context must share
MAX_DRAFTS = 3


def buffer_drafts(
    prefix: str, suffix: str, max_drafts: int = MAX_DRAFTS, min_match: int = MIN_MATCH
) -> list[str]:
    """Continuations (to line end) of the longest matches of the prefix tail, best first.

    min_match: characters of context a draft must share with the prefix tail.
    """
    return [draft for draft, _ in buffer_draft_matches(prefix, suffix, max_drafts, min_match)]


def buffer_draft_matches(
    prefix: str, suffix: str, max_drafts: int = MAX_DRAFTS, min_match: int = MIN_MATCH
) -> list[tuple[str, int]]:
    """(draft, characters of matching context) pairs, longest match first."""
    haystack = prefix + suffix
    cursor = len(prefix)
    drafts: list[tuple[str, int]] = []
    seen: set[str] = set()
    length = min(len(prefix), 400)
    # Walk down from long to short tails; each distinct continuation is a draft.
    while length >= min_match and len(drafts) < max_drafts:
        tail = prefix[-length:]
        pos = haystack.rfind(tail)
        seen_here = 0
        while pos >= 0 and seen_here < 8:
            end = pos + length
            if end != cursor:
                line_end = haystack.find("\n", end)
                cont = haystack[end:] if line_end < 0 else haystack[end:line_end]
                if cont.strip() and cont not in seen:
                    seen.add(cont)
                    drafts.append((cont, length))
                    if len(drafts) >= max_drafts:
                        break
            pos = haystack.rfind(tail, 0, end - 1)
            seen_here += 1
        length = length // 2 if length > 64 else length - 1
    return drafts


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
