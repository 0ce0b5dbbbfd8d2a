"""The single-file ModernBERT computes transformers' logits, and its step cache is exact when
nothing but the slots it recomputes has changed."""

from __future__ import annotations

import subprocess
import sys

import torch

from diffill.model.checkpoint import DEFAULT_CHECKPOINT, ModelSize, load_checkpoint, new_model
from diffill.model.modernbert import ContextCache, ModernBertMaskedLM

SLOTS = torch.arange(40, 72)


def reference_logits(hf, ids, attention, positions):
    with torch.no_grad():
        hidden = hf.model(input_ids=ids, attention_mask=attention).last_hidden_state
        picked = torch.gather(hidden, 1, positions.unsqueeze(-1).expand(-1, -1, hidden.shape[-1]))
        return hf.decoder(hf.head(picked))


def canvas(batch=2, length=128, vocab=8192, pad_from=110, slots=SLOTS):
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(5, vocab, (batch, length), generator=gen)
    ids[:, slots] = 1  # masked hole slots
    attention = torch.ones(batch, length, dtype=torch.long)
    attention[-1, pad_from:] = 0  # a shorter row, padded
    ids[-1, pad_from:] = 0
    return ids, attention, slots.unsqueeze(0).expand(batch, -1)


def test_shipped_model_matches_transformers():
    hf, _, _ = load_checkpoint(DEFAULT_CHECKPOINT, "cpu")
    native = ModernBertMaskedLM.from_folder(DEFAULT_CHECKPOINT)
    ids, attention, positions = canvas()
    with torch.no_grad():
        out = native(ids, attention, positions)
    ref = reference_logits(hf, ids, attention, positions)
    assert out.shape == ref.shape == (2, len(SLOTS), 8192)
    torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)


def test_local_window_smaller_than_canvas_matches(tmp_path):
    # A local window of +-4 tokens on a 64-token canvas: the window mask is exercised.
    size = ModelSize(hidden=32, layers=3, heads=2, intermediate=64, local_window=8, global_every=3)
    hf = new_model(96, size, max_positions=64).eval()
    hf.save_pretrained(tmp_path, safe_serialization=True)
    native = ModernBertMaskedLM.from_folder(tmp_path)
    ids, attention, positions = canvas(length=64, vocab=96, pad_from=50, slots=torch.arange(10, 30))
    with torch.no_grad():
        out = native(ids, attention, positions)
    torch.testing.assert_close(out, reference_logits(hf, ids, attention, positions), atol=1e-5, rtol=1e-4)


def test_cached_step_is_exact_while_the_fixed_tokens_are_unchanged():
    native = ModernBertMaskedLM.from_folder(DEFAULT_CHECKPOINT)
    ids, attention, positions = canvas()
    cache = ContextCache(refresh_every=4)
    with torch.no_grad():
        full = native(ids, attention, positions, cache)
        again = native(ids, attention, positions, cache)  # slots only, same canvas
        assert (cache.full_passes, cache.slot_passes) == (1, 1)
        torch.testing.assert_close(again, full, atol=1e-4, rtol=1e-4)
        ids[:, SLOTS[:3]] = torch.tensor([7, 8, 9])  # the sampler commits three slots
        step = native(ids, attention, positions, cache)
        assert cache.slot_passes == 2
        exact = native(ids, attention, positions)
        # Approximate: the fixed tokens did not see the new slots. Close, not equal.
        assert (step.argmax(-1) == exact.argmax(-1)).float().mean() > 0.8
        ids[0, 5] = 11  # a fixed token changes: the cache cannot be used
        native(ids, attention, positions, cache)
        assert cache.full_passes == 2
        for _ in range(4):  # refresh_every bounds how long it is reused: 3 slot passes, 1 full
            native(ids, attention, positions, cache)
        assert (cache.full_passes, cache.slot_passes) == (3, 5)


def test_default_denoiser_imports_no_transformers():
    code = ("import sys; from diffill.model.denoiser import load_default; d = load_default('cpu'); "
            "assert d.native is not None; assert 'transformers' not in sys.modules, 'transformers'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
