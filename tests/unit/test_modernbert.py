"""The numpy ModernBERT computes transformers' logits, its step cache is exact when nothing but
the slots it recomputes has changed, and the default fill path never imports torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from diffill.model.checkpoint import DEFAULT_CHECKPOINT, ModelSize, load_checkpoint, new_model
from diffill.model.denoiser import MaskedLMDenoiser
from diffill.model.modernbert import ContextCache, ModernBertMaskedLM, erf

SLOTS = np.arange(40, 72)
ROOT = Path(__file__).parents[2]


def reference_logits(hf, ids, attention, positions):
    """transformers' logits at positions, for numpy inputs; float32 numpy out."""
    ids, attention, positions = (torch.from_numpy(a) for a in (ids, attention, positions))
    with torch.no_grad():
        hidden = hf.model(input_ids=ids, attention_mask=attention).last_hidden_state
        picked = torch.gather(hidden, 1, positions.unsqueeze(-1).expand(-1, -1, hidden.shape[-1]))
        return hf.decoder(hf.head(picked)).float().numpy()


def canvas(batch=2, length=128, vocab=8192, pad_from=110, slots=SLOTS):
    rng = np.random.default_rng(0)
    ids = rng.integers(5, vocab, (batch, length))
    ids[:, slots] = 1  # masked hole slots
    attention = np.ones((batch, length), dtype=np.int64)
    attention[-1, pad_from:] = 0  # a shorter row, padded
    ids[-1, pad_from:] = 0
    return ids, attention, np.ascontiguousarray(np.broadcast_to(slots, (batch, len(slots))))


def test_erf_matches_torch():
    x = np.linspace(-6, 6, 10001, dtype=np.float32)
    # A&S 7.1.26 is good to 1.5e-7; float32 rounding adds a few more.
    assert np.abs(erf(x) - torch.erf(torch.from_numpy(x)).numpy()).max() < 1e-6


def test_shipped_model_matches_transformers():
    hf, _, _ = load_checkpoint(DEFAULT_CHECKPOINT, "cpu")
    native = ModernBertMaskedLM.from_folder(DEFAULT_CHECKPOINT)
    ids, attention, positions = canvas()
    out = native(ids, attention, positions)
    ref = reference_logits(hf, ids, attention, positions)
    assert out.shape == ref.shape == (2, len(SLOTS), 8192) and out.dtype == np.float32
    np.testing.assert_allclose(out, ref, atol=1e-4, rtol=1e-4)


def test_both_forwards_of_the_default_denoiser_agree():
    # The Denoiser boundary speaks numpy whichever forward computes behind it.
    native = MaskedLMDenoiser(device="cpu", forward="native")
    # fp32 named: "auto" is bf16 on a CPU with bf16 matmuls (avx512_bf16, AMX).
    hf = MaskedLMDenoiser(device="cpu", dtype="fp32", forward="transformers")
    assert native.native is not None and hf.native is None
    ids, attention, positions = canvas()
    a, b = native.logits(ids, attention, positions), hf.logits(ids, attention, positions)
    assert isinstance(b, np.ndarray) and b.dtype == np.float32 and b.flags.writeable
    np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-4)


def test_local_window_smaller_than_canvas_matches(tmp_path):
    # A local window of +-4 tokens on a 64-token canvas: the window mask is exercised.
    size = ModelSize(hidden=32, layers=3, heads=2, intermediate=64, local_window=8, global_every=3)
    hf = new_model(96, size, max_positions=64).eval()
    hf.save_pretrained(tmp_path, safe_serialization=True)
    native = ModernBertMaskedLM.from_folder(tmp_path)
    ids, attention, positions = canvas(length=64, vocab=96, pad_from=50, slots=np.arange(10, 30))
    out = native(ids, attention, positions)
    np.testing.assert_allclose(out, reference_logits(hf, ids, attention, positions), atol=1e-5, rtol=1e-4)


def test_bf16_weights_are_widened_to_fp32(tmp_path):
    # numpy has no bfloat16: a checkpoint exported in bf16 is read as the same values in fp32.
    size = ModelSize(hidden=32, layers=3, heads=2, intermediate=64, local_window=8, global_every=3)
    hf = new_model(96, size, max_positions=64).eval()
    hf.to(torch.bfloat16).save_pretrained(tmp_path, safe_serialization=True)
    native = ModernBertMaskedLM.from_folder(tmp_path)
    ids, attention, positions = canvas(length=64, vocab=96, pad_from=50, slots=np.arange(10, 30))
    ref = reference_logits(hf.float(), ids, attention, positions)
    np.testing.assert_allclose(native(ids, attention, positions), ref, atol=1e-5, rtol=1e-4)


def test_cached_step_is_exact_while_the_fixed_tokens_are_unchanged():
    native = ModernBertMaskedLM.from_folder(DEFAULT_CHECKPOINT)
    ids, attention, positions = canvas()
    cache = ContextCache(refresh_every=4)
    full = native(ids, attention, positions, cache)
    again = native(ids, attention, positions, cache)  # slots only, same canvas
    assert (cache.full_passes, cache.slot_passes) == (1, 1)
    np.testing.assert_allclose(again, full, atol=1e-4, rtol=1e-4)
    ids[:, SLOTS[:3]] = [7, 8, 9]  # the sampler commits three slots
    step = native(ids, attention, positions, cache)
    assert cache.slot_passes == 2
    exact = native(ids, attention, positions)
    # Approximate: the fixed tokens did not see the new slots. Close, not equal.
    assert (step.argmax(-1) == exact.argmax(-1)).mean() > 0.8
    ids[0, 5] = 11  # a fixed token changes: the cache cannot be used
    native(ids, attention, positions, cache)
    assert cache.full_passes == 2
    for _ in range(4):  # refresh_every bounds how long it is reused: 3 slot passes, 1 full
        native(ids, attention, positions, cache)
    assert (cache.full_passes, cache.slot_passes) == (3, 5)


def test_a_cached_step_computes_the_asked_slots_and_the_changed_ones():
    native = ModernBertMaskedLM.from_folder(DEFAULT_CHECKPOINT)
    ids, attention, positions = canvas()
    cache = ContextCache(refresh_every=100)
    full = native(ids, attention, positions, cache)
    assert cache.rows_computed == ids.shape[1]
    few = positions[:, 5:8]
    again = native(ids, attention, few, cache)  # nothing changed: the same logits, 3 rows run
    assert cache.rows_computed == ids.shape[1] + 3
    np.testing.assert_allclose(again, full[:, 5:8], atol=1e-4, rtol=1e-4)
    ids[:, SLOTS[:2]] = [7, 8]  # two slots committed: their keys and values are stale
    native(ids, attention, few, cache)
    assert cache.rows_computed == ids.shape[1] + 3 + 5
    native(ids, attention, few, cache)  # now fresh: only the asked rows again
    assert cache.rows_computed == ids.shape[1] + 3 + 5 + 3
    outside = np.ascontiguousarray(np.broadcast_to([5], (2, 1)))  # not a slot of the cache
    native(ids, attention, outside, cache)
    assert cache.full_passes == 2


def test_rows_asking_different_positions_get_each_rows_own_logits():
    # The last layer runs only the asked rows when every canvas row asks the same
    # positions; rows asking different ones (later blocks) take the general path.
    native = ModernBertMaskedLM.from_folder(DEFAULT_CHECKPOINT)
    ids, attention, positions = canvas()
    shifted = positions.copy()
    shifted[1] -= 1
    mixed = native(ids, attention, shifted)
    np.testing.assert_allclose(mixed[0], native(ids, attention, positions)[0], atol=1e-5, rtol=1e-4)
    same = np.ascontiguousarray(np.broadcast_to(shifted[1], shifted.shape))
    np.testing.assert_allclose(mixed[1], native(ids, attention, same)[1], atol=1e-5, rtol=1e-4)


def test_default_denoiser_imports_no_torch_nor_transformers():
    code = ("import sys; from diffill.model.denoiser import load_default; d = load_default(); "
            "assert d.native is not None; "
            "heavy = [m for m in ('torch', 'transformers') if m in sys.modules]; assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_fill_at_a_cursor_never_imports_torch():
    # `diffill fill FILE --at L:C` end to end (the command's own main), in a fresh process.
    code = ("import sys; from diffill.lsp.cli import main; "
            "code = main(['fill', 'examples/shapes.py', '--at', '12:8', '--json']); "
            "assert code == 0, code; assert 'torch' not in sys.modules, 'torch was imported'")
    env = {**os.environ, "DIFFILL_CORPUS_INDEX": "0", "DIFFILL_FORWARD": ""}
    out = subprocess.run([sys.executable, "-c", code], check=True, timeout=120, cwd=ROOT, env=env,
                         capture_output=True, text=True)
    result = json.loads(out.stdout)
    assert result["edits"] and result["steps"] >= 1  # it filled, with the model's scoring pass


def test_numpy_forward_serves_the_cpu_in_fp32_only():
    # GPUs and reduced precision go to transformers' forward (torch); "auto" stays on numpy.
    from diffill.model.denoiser import numpy_runs

    assert numpy_runs("auto", "auto") and numpy_runs("cpu", "fp32")
    assert not numpy_runs("cuda", "auto") and not numpy_runs("cpu", "bf16") and not numpy_runs("mps", "fp16")


def test_auto_takes_a_gpu_only_for_a_checkpoint_large_enough(tmp_path, monkeypatch):
    from diffill.model import denoiser

    big = tmp_path / "big"
    big.mkdir()
    (big / "config.json").write_text(json.dumps(
        {"hidden_size": 1024, "num_hidden_layers": 24, "intermediate_size": 2624, "vocab_size": 50368}))
    monkeypatch.setattr(denoiser, "nvidia_gpu_present", lambda: True)
    assert denoiser.estimated_parameters(DEFAULT_CHECKPOINT) < denoiser.GPU_WORTHWHILE_PARAMS
    assert denoiser.numpy_runs("auto", "auto", DEFAULT_CHECKPOINT)  # the shipped model: CPU
    assert not denoiser.numpy_runs("auto", "auto", big)  # ~300M parameters: the GPU
    assert denoiser.numpy_runs("cpu", "auto", big)  # asked for the CPU: numpy
    monkeypatch.setattr(denoiser, "nvidia_gpu_present", lambda: False)
    assert denoiser.numpy_runs("auto", "auto", big)
