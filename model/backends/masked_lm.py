"""Any `AutoModelForMaskedLM` (ModernBERT, CodeBERT, ...) as a one-step denoiser.

One forward pass predicts every masked slot; `infill.sampler` iterates it, committing the
confident slots and masking the rest again (MaskGIT-style), exactly as for the shipped model.
Such models were not trained to leave a slot empty, so the pad id stands in for the null
slot: it is allowed in slots and dropped from the text, but expect full-length fills.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..denoiser import SpecialIds
from .common import (
    BOS_NAMES,
    EOS_NAMES,
    MASK_NAMES,
    PAD_NAMES,
    HFDenoiser,
    first_id,
    gather_positions,
    load_hf_tokenizer,
    load_weights,
    pick,
    read_json,
    require,
    token_id,
    tokenizer_config_id,
)


class HFMaskedLMDenoiser(HFDenoiser):
    """A stock masked LM; logits are unshifted and computed over the whole canvas."""

    noise = "mask"
    logit_shift = 0

    @classmethod
    def from_folder(
        cls, folder: Path, device: str, dtype: torch.dtype, quantization_config: Any = None
    ) -> HFMaskedLMDenoiser:
        from transformers import AutoModelForMaskedLM

        config = read_json(folder / "config.json")
        tok = load_hf_tokenizer(folder)
        mask = pick(tokenizer_config_id(folder, tok, "mask_token"), token_id(tok, MASK_NAMES))
        pad = pick(first_id(config.get("pad_token_id")), tokenizer_config_id(folder, tok, "pad_token"),
                   token_id(tok, PAD_NAMES))
        bos = pick(first_id(config.get("cls_token_id")), first_id(config.get("bos_token_id")),
                   tokenizer_config_id(folder, tok, "cls_token"), token_id(tok, BOS_NAMES))
        eos = pick(first_id(config.get("sep_token_id")), first_id(config.get("eos_token_id")),
                   tokenizer_config_id(folder, tok, "sep_token"), token_id(tok, EOS_NAMES))
        pad_id = require(pad, "pad", folder)
        ids = SpecialIds(pad=pad_id, mask=require(mask, "mask", folder), null=pad_id,
                         bos=require(bos, "bos/cls", folder), eos=require(eos, "eos/sep", folder))
        model = load_weights(AutoModelForMaskedLM, folder, device=device, dtype=dtype,
                             quantization_config=quantization_config)
        positions = int(config.get("max_position_embeddings") or 512)
        # RoBERTa-style models offset positions by pad+1; two spare positions cover that.
        return cls(model, tok, ids, device, max_canvas=max(64, min(positions - 2, 510)))

    @torch.no_grad()  # not inference_mode: callers edit the returned logits in place
    def torch_logits(
        self, canvas: torch.Tensor, attention: torch.Tensor, positions: torch.Tensor
    ) -> torch.Tensor:
        canvas = canvas.to(self.device)
        attention = attention.to(self.device)
        full = self.model(input_ids=canvas, attention_mask=attention).logits  # (B, T, V)
        return self.fit(gather_positions(full, positions.to(self.device)))  # (B, K, V_tok)
