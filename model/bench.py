"""Forward-pass latency of candidate denoiser sizes: how the default size was chosen.

The budget: one forward over a 256-token canvas in at most ~15 ms (median) on a 2-core CPU.
Only the encoder runs over the whole canvas; the vocabulary head runs at the hole slots
(32 here), as in `MaskedLMDenoiser.logits`.
"""

from __future__ import annotations

import statistics
import time

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
