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
from typing import Any, Protocol

import torch
from tokenizers import Tokenizer

from .checkpoint import (
    DEFAULT_CHECKPOINT,
    DenoiserMeta,
    check_folder,
    checked_tokenizer,
    load_checkpoint,
    load_meta,
)
from .errors import CheckpointError
from .modernbert import ContextCache, ModernBertMaskedLM
from .sampler_config import SamplerConfig


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


class CachingDenoiser(Denoiser, Protocol):
    """A denoiser that reuses the fixed tokens' keys and values between denoising steps."""

    def context_cache(self, refresh_every: int) -> Any | None:
        """A fresh cache for one denoising loop; None when caching is off."""
        ...

    def logits(
        self, canvas: torch.Tensor, attention: torch.Tensor, positions: torch.Tensor,
        cache: Any | None = None,
    ) -> torch.Tensor:
        """As Denoiser.logits; with a cache, a step may recompute only the slots at positions."""
        ...


# A denoiser whose family needs its own step loop (uniform-state noise, holes that grow and
# shrink) also defines `sample`; `infill.sampler.denoise` then hands the whole loop to it.
# They receive the same SamplerConfig and read the fields their loop uses.


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
        cfg: SamplerConfig, poll: Poll, allowed_first: torch.Tensor | None,
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

    Runs on `model.modernbert` (one readable file, no transformers import: start-up in a
    fraction of the time) unless `forward="transformers"` or DIFFILL_FORWARD=transformers asks
    for transformers' implementation; both load the same safetensors and give the same logits.
    Computes the vocabulary projection only at the requested positions: the head is the
    largest single cost of a small model's forward pass. The native forward also keeps the
    fixed tokens' keys and values between denoising steps (`context_cache`).
    """

    noise = "mask"
    logit_shift = 0

    def __init__(
        self, path: Path | None = None, device: str = "auto", dtype: str = "auto",
        forward: str | None = None,
    ) -> None:
        self.path = path or DEFAULT_CHECKPOINT
        self.device = pick_device(device)
        self.forward_name = forward or os.environ.get("DIFFILL_FORWARD") or "native"
        if self.forward_name not in FORWARDS:
            raise CheckpointError(f"forward must be one of {', '.join(FORWARDS)}, not {self.forward_name!r}")
        threads = os.environ.get("DIFFILL_THREADS")
        if threads:
            torch.set_num_threads(int(threads))
        self.native: ModernBertMaskedLM | None = None
        self.model: Any = None
        if self.forward_name == "native":
            self.native, tok, meta = load_native(self.path)
            self.native.to(self.device)
        else:
            self.model, tok, meta = load_checkpoint(self.path, self.device)
        self.tokenizer = tok
        self.meta: DenoiserMeta = meta
        self.autocast_dtype = pick_dtype(self.device, dtype)
        self.ids = SpecialIds(meta.pad_id, meta.mask_id, meta.null_id, meta.bos_id, meta.eos_id)
        self.max_canvas = meta.canvas
        self.line_budget = meta.line_budget
        self.block_budget = meta.block_budget
        self.forbidden: tuple[int, ...] = (meta.pad_id, meta.mask_id, meta.bos_id, meta.eos_id)

    def context_cache(self, refresh_every: int) -> ContextCache | None:
        """A step cache for one denoising loop (None: this forward has none, or it is off)."""
        return ContextCache(refresh_every) if self.native is not None and refresh_every > 1 else None

    @torch.no_grad()  # not inference_mode: callers edit the returned logits in place
    def logits(
        self, canvas: torch.Tensor, attention: torch.Tensor, positions: torch.Tensor,
        cache: ContextCache | None = None,
    ) -> torch.Tensor:
        canvas = canvas.to(self.device)
        attention = attention.to(self.device)
        positions = positions.to(self.device)
        use_autocast = self.autocast_dtype != torch.float32
        with torch.autocast(self.device, dtype=self.autocast_dtype, enabled=use_autocast):
            if self.native is not None:
                out = self.native(canvas, attention, positions, cache)
            else:
                hidden = self.model.model(input_ids=canvas, attention_mask=attention).last_hidden_state
                index = positions.unsqueeze(-1).expand(-1, -1, hidden.shape[-1])  # (B, K, D)
                picked = torch.gather(hidden, 1, index)
                out = self.model.decoder(self.model.head(picked))  # (B, K, V)
        return out.float().cpu()  # the sampler indexes logits with CPU tensors


FORWARDS = ("native", "transformers")


def load_native(path: Path) -> tuple[ModernBertMaskedLM, Tokenizer, DenoiserMeta]:
    """The single-file model, tokenizer and metadata, with the checks `load_checkpoint` makes."""
    check_folder(path)
    meta = load_meta(path)
    tok = checked_tokenizer(path)
    try:
        model = ModernBertMaskedLM.from_folder(path)
    except Exception as exc:  # corrupt safetensors or config surface as many types
        raise CheckpointError(f"weights in {path} could not be loaded: {exc}") from exc
    if model.cfg.vocab_size != tok.get_vocab_size():
        raise CheckpointError(
            f"{path}: model vocabulary {model.cfg.vocab_size} != tokenizer {tok.get_vocab_size()}")
    return model, tok, meta


def load_default(device: str = "auto", dtype: str = "auto", forward: str | None = None) -> MaskedLMDenoiser:
    return MaskedLMDenoiser(None, device, dtype, forward)
