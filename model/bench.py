"""Forward-pass latency of candidate denoiser sizes: how the default size was chosen.

The budget: one forward over a 256-token canvas in at most ~15 ms (median) on a 2-core CPU.
Only the encoder runs over the whole canvas; the vocabulary head runs at the hole slots
(32 here), as in `MaskedLMDenoiser.logits`.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

from .checkpoint import ModelSize, count_parameters, new_model

CANDIDATE_SIZES = (
    ModelSize(hidden=256, layers=4, heads=4, intermediate=512),
    ModelSize(hidden=256, layers=6, heads=4, intermediate=512),
    ModelSize(hidden=320, layers=6, heads=5, intermediate=640),
    ModelSize(hidden=384, layers=6, heads=6, intermediate=768),
    ModelSize(hidden=512, layers=6, heads=8, intermediate=1024),
)


@torch.no_grad()
def forward_ms(size: ModelSize, vocab: int, canvas: int, bf16: bool, repeats: int = 25) -> float:
    """Median milliseconds of one forward pass (first 5 runs are warm-up)."""
    model = new_model(vocab, size, max_positions=max(512, canvas)).eval()
    ids = torch.randint(5, vocab, (1, canvas))
    times = []
    for _ in range(repeats + 5):
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            hidden = model.model(input_ids=ids).last_hidden_state
            model.decoder(model.head(hidden[:, :32]))
        times.append(time.perf_counter() - t0)
    return statistics.median(times[5:]) * 1000


def size_table(vocab: int = 8192, canvas: int = 256) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for size in CANDIDATE_SIZES:
        params = count_parameters(new_model(vocab, size, max_positions=512))
        rows.append({
            "hidden": size.hidden, "layers": size.layers, "parameters": params, "canvas": canvas,
            "fp32_ms_p50": round(forward_ms(size, vocab, canvas, bf16=False), 1),
            "bf16_ms_p50": round(forward_ms(size, vocab, canvas, bf16=True), 1),
            "threads": torch.get_num_threads(),
        })
    return rows


def runtime_table(canvas: int = 128, slots: int = 32, repeats: int = 30,
                  compile_too: bool = False) -> list[dict[str, object]]:
    """Forward latency of the shipped model on each runtime this machine has, 1 and 2 threads.

    Rows: transformers' ModernBERT (torch), int8 dynamic quantization of its Linear layers,
    the numpy forward (`model.modernbert`, the default) and its cached step (only the hole
    slots through the layers), optionally torch.compile of transformers' encoder. Median wall
    and CPU milliseconds per forward; the CPU figure is what a loaded machine cannot inflate
    much (one thread).
    """
    import numpy as np

    from .checkpoint import DEFAULT_CHECKPOINT, load_checkpoint
    from .modernbert import ContextCache, ModernBertMaskedLM
    from .threads import limit_blas_threads

    hf, _, _ = load_checkpoint(DEFAULT_CHECKPOINT, "cpu")
    hf_int8, _, _ = load_checkpoint(DEFAULT_CHECKPOINT, "cpu")
    hf_int8 = torch.ao.quantization.quantize_dynamic(hf_int8, {torch.nn.Linear}, dtype=torch.qint8)
    native = ModernBertMaskedLM.from_folder(DEFAULT_CHECKPOINT)
    start = (canvas - slots) // 2
    np_ids = np.random.default_rng(0).integers(5, hf.config.vocab_size, (1, canvas))
    np_ids[:, start : start + slots] = 1
    np_attention = np.ones((1, canvas), dtype=np.int64)
    np_positions = np.arange(start, start + slots)[None, :]
    ids, attention = torch.from_numpy(np_ids), torch.from_numpy(np_attention)

    def transformers_forward(model: Any, encoder: Callable[..., Any]) -> Callable[[], object]:
        def run() -> object:
            hidden = encoder(input_ids=ids, attention_mask=attention).last_hidden_state
            return model.decoder(model.head(hidden[:, start : start + slots]))
        return run

    cache = ContextCache(refresh_every=10**9)
    runtimes: dict[str, Callable[[], object]] = {
        "transformers": transformers_forward(hf, hf.model),
        "transformers_int8": transformers_forward(hf_int8, hf_int8.model),
        "native": lambda: native(np_ids, np_attention, np_positions),
        "native_cached_step": lambda: native(np_ids, np_attention, np_positions, cache),
    }
    if compile_too:
        runtimes["transformers_compiled"] = transformers_forward(hf, torch.compile(hf.model))
    rows: list[dict[str, object]] = []
    threads_before = torch.get_num_threads()
    native(np_ids, np_attention, np_positions, cache)  # fills the cache
    try:
        with torch.no_grad():
            for threads in (1, 2):
                torch.set_num_threads(threads)
                limit_blas_threads(threads)
                for name, fn in runtimes.items():
                    wall, cpu = timed(fn, repeats)
                    rows.append({"runtime": name, "threads": threads, "canvas": canvas, "slots": slots,
                                 "wall_ms_p50": wall, "cpu_ms_p50": cpu,
                                 "load_average": round(os.getloadavg()[0], 2)})
    finally:
        torch.set_num_threads(threads_before)
        limit_blas_threads(int(os.environ.get("DIFFILL_THREADS") or os.cpu_count() or 1))
    return rows


def timed(fn: Callable[[], object], repeats: int, warmup: int = 5) -> tuple[float, float]:
    """Median wall and CPU milliseconds of fn."""
    walls, cpus = [], []
    for i in range(repeats + warmup):
        w, c = time.perf_counter(), time.process_time()
        fn()
        if i >= warmup:
            walls.append(time.perf_counter() - w)
            cpus.append(time.process_time() - c)
    return round(statistics.median(walls) * 1000, 2), round(statistics.median(cpus) * 1000, 2)
