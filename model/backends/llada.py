"""LLaDA: a Llama-like bidirectional mask predictor (ML-GSAI/LLaDA).

Logits are unshifted (output i predicts token i) and the mask has its own id (126336 in
LLaDA-8B, read from config.json). The model code ships with the checkpoint
(`modeling_llada.py`), so loading needs the user's explicit `trust_remote_code`. Its forward
takes `attention_bias`, a (B, 1, T, T) bool of allowed query/key pairs; LLaDA's code turns a
2-D `attention_mask` into a *causal* bias, so padding is expressed through the bias only.
LLaDA pads answers with end-of-text tokens: they are folded into the null slot.
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
    HFDenoiser,
    all_ids,
    first_id,
    gather_positions,
    key_padding_pairs,
    load_hf_tokenizer,
    load_weights,
    pick,
    read_json,
    require,
    token_id,
    tokenizer_config_id,
)

END_OF_TURN_NAMES = ("<|eot_id|>", "<|im_end|>")


def llada_ids(folder: Path, tok: Any) -> tuple[SpecialIds, list[int]]:
    config = read_json(folder / "config.json")
    gen = read_json(folder / "generation_config.json")
    mask = pick(first_id(config.get("mask_token_id")), first_id(gen.get("mask_token_id")),
                token_id(tok, ("<|mdm_mask|>",)), tokenizer_config_id(folder, tok, "mask_token"),
                token_id(tok, MASK_NAMES))
    eos_all = all_ids(config.get("eos_token_id")) + all_ids(gen.get("eos_token_id"))
    eos = pick(eos_all[0] if eos_all else None, tokenizer_config_id(folder, tok, "eos_token"),
               token_id(tok, EOS_NAMES))
    pad = pick(first_id(config.get("pad_token_id")), tokenizer_config_id(folder, tok, "pad_token"), eos)
    bos = pick(first_id(config.get("bos_token_id")), tokenizer_config_id(folder, tok, "bos_token"),
               token_id(tok, BOS_NAMES))
    eos_id = require(eos, "eos", folder)
    ids = SpecialIds(pad=require(pad, "pad", folder), mask=require(mask, "mask", folder), null=eos_id,
                     bos=require(bos, "bos", folder), eos=eos_id)
    turn = token_id(tok, END_OF_TURN_NAMES)
    aliases = [*eos_all, ids.pad] + ([turn] if turn is not None else [])
    return ids, aliases


class LLaDADenoiser(HFDenoiser):
    """LLaDA: mask noise, unshifted logits, iterated by `infill.sampler`."""

    noise = "mask"
    logit_shift = 0

    @classmethod
    def from_folder(
        cls, folder: Path, device: str, dtype: torch.dtype, trust_remote_code: bool,
        quantization_config: Any = None,
    ) -> LLaDADenoiser:
        from transformers import AutoModel

        tok = load_hf_tokenizer(folder, trust_remote_code)
        ids, aliases = llada_ids(folder, tok)
        model = load_weights(AutoModel, folder, device=device, dtype=dtype,
                             trust_remote_code=trust_remote_code, quantization_config=quantization_config)
        return cls(model, tok, ids, device, null_aliases=aliases)

    @torch.no_grad()  # not inference_mode: callers edit the returned logits in place
    def torch_logits(
        self, canvas: torch.Tensor, attention: torch.Tensor, positions: torch.Tensor
    ) -> torch.Tensor:
        canvas = canvas.to(self.device)
        attention = attention.to(self.device)
        bias = None if bool(attention.all()) else key_padding_pairs(attention)
        full = self.model(input_ids=canvas, attention_bias=bias).logits  # (B, T, V)
        return self.fit(gather_positions(full, positions.to(self.device)))
