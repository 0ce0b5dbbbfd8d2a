"""The default model on transformers' ModernBertForMaskedLM (torch), behind the numpy boundary.

Chosen by `forward="transformers"` (DIFFILL_FORWARD), a GPU device or a reduced-precision
dtype: the numpy forward (`model.modernbert`) is the CPU float32 path. Same safetensors,
same logits; torch and transformers are imported here, when this forward is built.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from tokenizers import Tokenizer

from .checkpoint import DenoiserMeta, load_checkpoint
from .devices import pick_device, pick_dtype


class TransformersForward:
    """Logits (B, K, V) at positions (B, K) as float32 numpy, computed by transformers."""

    def __init__(self, path: Path, device: str, dtype: str) -> None:
        import torch

        threads = os.environ.get("DIFFILL_THREADS")
        if threads:
            torch.set_num_threads(int(threads))
        self.device = pick_device(device)
        model, tok, meta = load_checkpoint(path, self.device)
        self.model = model
        self.tokenizer: Tokenizer = tok
        self.meta: DenoiserMeta = meta
        self.autocast_dtype = pick_dtype(self.device, dtype)

    def __call__(self, canvas: npt.NDArray[np.int64], attention: npt.NDArray[Any],
                 positions: npt.NDArray[np.int64], cache: Any = None) -> npt.NDArray[np.float32]:
        import torch

        ids = torch.from_numpy(np.ascontiguousarray(canvas, dtype=np.int64)).to(self.device)
        mask = torch.from_numpy(np.ascontiguousarray(attention, dtype=np.int64)).to(self.device)
        pos = torch.from_numpy(np.ascontiguousarray(positions, dtype=np.int64)).to(self.device)
        use_autocast = self.autocast_dtype != torch.float32
        with torch.no_grad(), torch.autocast(self.device.split(":")[0], dtype=self.autocast_dtype,
                                             enabled=use_autocast):
            hidden = self.model.model(input_ids=ids, attention_mask=mask).last_hidden_state
            picked = torch.gather(hidden, 1, pos.unsqueeze(-1).expand(-1, -1, hidden.shape[-1]))  # (B, K, D)
            out = self.model.decoder(self.model.head(picked))  # (B, K, V)
        logits: npt.NDArray[np.float32] = out.float().cpu().numpy()
        return logits
