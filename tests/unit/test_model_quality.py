"""The shipped weights are trained: masked tokens of unseen code are recovered."""

from __future__ import annotations

import random
from pathlib import Path

import torch

FIXTURE = Path(__file__).parents[1] / "fixtures" / "inventory.py"
# Measured with the shipped checkpoint (see MODEL_CARD.md): random weights score ~0.
TOKEN_ACCURACY_FLOOR = 0.35


def masked_token_accuracy(denoiser, rate: float = 0.15, seed: int = 0) -> float:
    tok, ids = denoiser.tokenizer, denoiser.ids
    text = FIXTURE.read_text()
    rng = random.Random(seed)
    hits = total = 0
    tokens = tok.encode(text).ids
    width = denoiser.max_canvas - 2
    for start in range(0, len(tokens), width):
        window = tokens[start : start + width]
        canvas = torch.tensor([[ids.bos, *window, ids.eos]])
        masked = [i + 1 for i in range(len(window)) if rng.random() < rate]
        canvas[0, masked] = ids.mask
        logits = denoiser.logits(canvas, torch.ones_like(canvas), torch.tensor([masked]))
        logits[..., list(denoiser.forbidden)] = -float("inf")
        pred = logits.argmax(-1)[0].tolist()
        hits += sum(p == window[m - 1] for p, m in zip(pred, masked, strict=True))
        total += len(masked)
    return hits / total


def test_masked_tokens_of_unseen_code_are_recovered(denoiser):
    assert masked_token_accuracy(denoiser) >= TOKEN_ACCURACY_FLOOR
