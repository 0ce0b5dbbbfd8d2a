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

    Rows: transformers' ModernBERT, the single-file forward (`model.modernbert`), its cached
    step (only the hole slots through the layers), int8 dynamic quantization of its Linear
    layers, and optionally torch.compile. Median wall and CPU milliseconds per forward; the
    CPU figure is what a loaded machine cannot inflate much (one thread).
    """
    from .checkpoint import DEFAULT_CHECKPOINT, load_checkpoint
    from .modernbert import ContextCache, ModernBertMaskedLM

    hf, _, _ = load_checkpoint(DEFAULT_CHECKPOINT, "cpu")
    native = ModernBertMaskedLM.from_folder(DEFAULT_CHECKPOINT)
    int8 = torch.ao.quantization.quantize_dynamic(
        ModernBertMaskedLM.from_folder(DEFAULT_CHECKPOINT), {torch.nn.Linear}, dtype=torch.qint8)
    start = (canvas - slots) // 2
    ids = torch.randint(5, hf.config.vocab_size, (1, canvas))
    ids[:, start : start + slots] = 1
    attention = torch.ones(1, canvas, dtype=torch.long)
    positions = torch.arange(start, start + slots).unsqueeze(0)

    def transformers_forward() -> None:
        hidden = hf.model(input_ids=ids, attention_mask=attention).last_hidden_state
        hf.decoder(hf.head(hidden[:, start : start + slots]))

    cache = ContextCache(refresh_every=10**9)
    runtimes: dict[str, Callable[[], object]] = {
        "transformers": transformers_forward,
        "native": lambda: native(ids, attention, positions),
        "native_cached_step": lambda: native(ids, attention, positions, cache),
        "native_int8": lambda: int8(ids, attention, positions),
    }
    if compile_too:
        compiled = torch.compile(native)
        runtimes["native_compiled"] = lambda: compiled(ids, attention, positions)
    rows: list[dict[str, object]] = []
    threads_before = torch.get_num_threads()
    try:
        with torch.no_grad():
            native(ids, attention, positions, cache)  # fills the cache
            for threads in (1, 2):
                torch.set_num_threads(threads)
                for name, fn in runtimes.items():
                    wall, cpu = timed(fn, repeats)
                    rows.append({"runtime": name, "threads": threads, "canvas": canvas, "slots": slots,
                                 "wall_ms_p50": wall, "cpu_ms_p50": cpu,
                                 "load_average": round(os.getloadavg()[0], 2)})
    finally:
        torch.set_num_threads(threads_before)
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
