"""The denoiser interface the infill engine drives, and the default masked-LM backend.

A denoiser maps a canvas of token ids to logits at requested positions. Everything the
sampler needs to know about a model family lives here: special ids, noise kind (absorbing
mask or uniform), logit shift (Dream-family models predict position i from output i-1),
the canvas length it was trained on, and the tokenizer.

Backends for other families (masked LMs, Dream-family, LLaDA, DiffusionGemma) live in
`model/backends/`; `model.loading.load_denoiser` picks one from a checkpoint's config.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch
from tokenizers import Tokenizer

from .checkpoint import DEFAULT_CHECKPOINT, DenoiserMeta, load_checkpoint


@dataclass(frozen=True)
class SpecialIds:
    pad: int
    mask: int
    null: int  # an empty hole slot: dropped from the filled text
    bos: int
    eos: int


class Denoiser(Protocol):
    """What the sampler needs from a model."""

    tokenizer: Tokenizer
    ids: SpecialIds
    noise: str  # "mask" (absorbing) or "uniform"
    logit_shift: int  # 0, or 1 for models whose output i predicts token i+1
    max_canvas: int  # longest canvas the model handles well
    line_budget: int  # default hole slots for line-shaped holes
    block_budget: int  # default hole slots for multi-line holes
    forbidden: tuple[int, ...]  # ids a slot may never take

    def logits(
        self, canvas: torch.Tensor, attention: torch.Tensor, positions: torch.Tensor
    ) -> torch.Tensor:
        """Float CPU logits (B, K, V) at positions (B, K) of canvas (B, T) with attention (B, T)."""
        ...


# A denoiser whose family needs its own step loop (uniform-state noise, holes that grow and
# shrink) also defines `sample`; `infill.sampler.denoise` then hands the whole loop to it.
# These plain types exist because model/ never imports infill/.


@dataclass(frozen=True)
class LoopConfig:
    """The sampler knobs a self-sampling denoiser receives (mirror of infill's SamplerConfig)."""

    rule: str = "confidence"  # confidence | margin | entropy (families may use their own rule)
    threshold: float = 0.9  # commit every open slot scoring at least this (>= 1 per step)
    temperature: float = 0.0  # 0: greedy; families with their own schedule ignore it
    top_p: float = 1.0  # nucleus size when sampling
    max_steps: int = 64  # hard cap on forward passes per canvas
    seed: int = 0  # sampling seed


@dataclass
class LoopResult:
    """What a self-sampling denoiser returns; rows may differ in length (variable-length holes)."""

    slots: list[list[int]]  # (N, K_i) final ids of each row's hole slots
    logprob: list[float]  # (N,) sum of log-probabilities of the final slot tokens
    steps: int  # forward passes
    committed: int  # slot commits over all rows
    hurried: bool = False  # the deadline cut the loop short; the last predictions were taken
    cancelled: bool = False  # the cancel flag fired (or the deadline, before any step)


# Polled between steps: "cancel", "expire" or None.
Poll = Callable[[], str | None]


class LoopDenoiser(Denoiser, Protocol):
    """A denoiser that runs its own step loop."""

    def sample(
        self, canvas: torch.Tensor, attention: torch.Tensor, slot_positions: list[int],
        cfg: LoopConfig, poll: Poll, allowed_first: torch.Tensor | None,
    ) -> LoopResult:
        """Fill the slots of canvas (N, T); writes the fill back into canvas where it fits."""
        ...


def pick_dtype(device: str, dtype: str) -> torch.dtype:
    if dtype == "fp32":
        return torch.float32
    if dtype == "bf16":
        return torch.bfloat16
    if dtype == "fp16":
        return torch.float16
    # auto: bf16 where the hardware has fast bf16 matmuls, else fp32
    if device == "cpu":
        return torch.bfloat16 if cpu_has_bf16() else torch.float32
    return torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() else torch.float16


def cpu_has_bf16() -> bool:
    try:
        with open("/proc/cpuinfo") as fh:
            flags = fh.read(20000)
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def pick_device(device: str) -> str:
    if device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


class MaskedLMDenoiser:
    """The shipped default: a ModernBERT masked LM trained with masked diffusion.

    Computes the vocabulary projection only at the requested positions: the head is the
    largest single cost of a small model's forward pass over a 256-token canvas.
    """

    noise = "mask"
    logit_shift = 0

    def __init__(
        self, path: Path | None = None, device: str = "auto", dtype: str = "auto"
    ) -> None:
        self.path = path or DEFAULT_CHECKPOINT
        self.device = pick_device(device)
        model, tok, meta = load_checkpoint(self.path, self.device)
        self.model = model
        self.tokenizer = tok
        self.meta: DenoiserMeta = meta
        self.autocast_dtype = pick_dtype(self.device, dtype)
        self.ids = SpecialIds(meta.pad_id, meta.mask_id, meta.null_id, meta.bos_id, meta.eos_id)
        self.max_canvas = meta.canvas
        self.line_budget = meta.line_budget
        self.block_budget = meta.block_budget
        self.forbidden: tuple[int, ...] = (meta.pad_id, meta.mask_id, meta.bos_id, meta.eos_id)
        threads = os.environ.get("DIFFILL_THREADS")
        if threads:
            torch.set_num_threads(int(threads))

    @torch.no_grad()  # not inference_mode: callers edit the returned logits in place
    def logits(
        self, canvas: torch.Tensor, attention: torch.Tensor, positions: torch.Tensor
    ) -> torch.Tensor:
        canvas = canvas.to(self.device)
        attention = attention.to(self.device)
        positions = positions.to(self.device)
        use_autocast = self.autocast_dtype != torch.float32
        with torch.autocast(self.device, dtype=self.autocast_dtype, enabled=use_autocast):
            hidden = self.model.model(input_ids=canvas, attention_mask=attention).last_hidden_state
            index = positions.unsqueeze(-1).expand(-1, -1, hidden.shape[-1])  # (B, K, D)
            picked = torch.gather(hidden, 1, index)
            out = self.model.decoder(self.model.head(picked))  # (B, K, V)
        return out.float().cpu()  # the sampler indexes logits with CPU tensors


def load_default(device: str = "auto", dtype: str = "auto") -> MaskedLMDenoiser:
    return MaskedLMDenoiser(None, device, dtype)
