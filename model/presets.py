"""Model size presets for `diffill train --size`, and the shipping size limit.

`small` is the shipped CPU default. `base` is the largest size whose weights still ship under
`SHIP_LIMIT_BYTES` (stored as bf16). `large` is for GPU experiments only: at bf16 its weights
are twice the shipping limit. Parameter counts are for the 8,192-token vocabulary (tied input
and output embeddings).
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

from .checkpoint import ModelSize

SIZES: dict[str, ModelSize] = {
    # Tests and smoke runs: trains in seconds on one CPU core.
    "tiny": ModelSize(hidden=64, layers=2, heads=2, intermediate=128, local_window=64, global_every=2),
    # 6.1M parameters: the shipped default (one 128-token forward in ~15 ms on 2 CPU cores).
    "small": ModelSize(),
    # 19.9M parameters: 39.9 MB as bf16, the largest that ships.
    "base": ModelSize(hidden=448, layers=8, heads=7, intermediate=896),
    # 44.9M parameters: GPU experiments; 90 MB as bf16, does not ship.
    "large": ModelSize(hidden=576, layers=12, heads=9, intermediate=1152),
}

SHIP_LIMIT_BYTES = 40_000_000  # model.safetensors of a shipped checkpoint


def resolve_size(name_or_path: str) -> ModelSize:
    """A preset by name, or a JSON file with ModelSize fields (missing fields keep defaults)."""
    if name_or_path in SIZES:
        return SIZES[name_or_path]
    path = Path(name_or_path)
    if not path.is_file():
        raise ValueError(f"--size expects one of {sorted(SIZES)} or a JSON file; got {name_or_path!r}")
    raw = json.loads(path.read_text())
    known = {f.name for f in fields(ModelSize)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"{path}: unknown ModelSize fields {unknown}; known: {sorted(known)}")
    return ModelSize(**raw)


def export_checkpoint(src: Path, out: Path, dtype: str = "auto") -> str:
    """Copy a checkpoint's weights for shipping (no optimizer state); returns the dtype stored.

    auto: fp32 when its weights fit SHIP_LIMIT_BYTES, else bf16. A bf16 checkpoint loads back
    as fp32 (`load_checkpoint`), so the CPU engine runs it as it runs the fp32 default.
    """
    import torch

    from .checkpoint import count_parameters, load_checkpoint, save_checkpoint

    model, tok, meta = load_checkpoint(src)
    if dtype == "auto":
        dtype = "fp32" if 4 * count_parameters(model) <= SHIP_LIMIT_BYTES else "bf16"
    if dtype == "bf16":
        model = model.to(torch.bfloat16)  # type: ignore[arg-type]  # transformers types .to() oddly
    save_checkpoint(out, model, tok, meta)
    return dtype
