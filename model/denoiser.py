"""The denoiser interface the infill engine drives, and the default masked-LM backend.

A denoiser maps a canvas of token ids to logits at requested positions. Everything the
sampler needs to know about a model family lives here: special ids, noise kind (absorbing
mask or uniform), logit shift (Dream-family models predict position i from output i-1),
the canvas length it was trained on, and the tokenizer.

Canvases, positions and logits cross this interface as numpy arrays on the CPU: the engine
and the default model never import torch (seconds of start-up). Backends for other families
(masked LMs, Dream-family, LLaDA, DiffusionGemma) live in `model/backends/`, compute in torch
and convert at the boundary; `model.loading.load_denoiser` picks one from a checkpoint's config.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from tokenizers import Tokenizer

from .checkpoint import (
    DEFAULT_CHECKPOINT,
    DenoiserMeta,
    check_folder,
    checked_tokenizer,
    load_meta,
)
from .errors import CheckpointError
from .modernbert import ContextCache, ModernBertMaskedLM
from .sampler_config import SamplerConfig
from .threads import apply_thread_setting

# The arrays that cross the boundary between the engine and a denoiser (numpy, on the CPU).
Tokens = npt.NDArray[np.int64]  # token ids, positions: canvas (B, T), positions (B, K)
Floats = npt.NDArray[np.float32]  # logits (B, K, V)
Bools = npt.NDArray[np.bool_]  # masks over the vocabulary (V,)


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
    line_canvas: int  # canvas for single-line holes (at most max_canvas)
    line_suffix_share: float  # share of a line canvas's context kept for the code after the hole
    line_budget: int  # default hole slots for line-shaped holes
    block_budget: int  # default hole slots for multi-line holes
    forbidden: tuple[int, ...]  # ids a slot may never take

    def logits(self, canvas: Tokens, attention: Tokens, positions: Tokens) -> Floats:
        """Float32 logits (B, K, V) at positions (B, K) of canvas (B, T) with attention (B, T).

        The caller owns the result: it may edit it in place.
        """
        ...


class CachingDenoiser(Denoiser, Protocol):
    """A denoiser that reuses the fixed tokens' keys and values between denoising steps."""

    def context_cache(self, refresh_every: int) -> Any | None:
        """A fresh cache for one denoising loop; None when caching is off."""
        ...

    def logits(
        self, canvas: Tokens, attention: Tokens, positions: Tokens, cache: Any | None = None,
    ) -> Floats:
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
        self, canvas: Tokens, attention: Tokens, slot_positions: list[int],
        cfg: SamplerConfig, poll: Poll, allowed_first: Bools | None,
    ) -> LoopResult:
        """Fill the slots of canvas (N, T); writes the fill back into canvas where it fits."""
        ...


class MaskedLMDenoiser:
    """The shipped default: a ModernBERT masked LM trained with masked diffusion.

    Runs on `model.modernbert`, a numpy forward in float32 on the CPU (no torch import: a
    one-shot fill starts in a fraction of the time). transformers' implementation (torch)
    runs instead when `forward="transformers"` or DIFFILL_FORWARD=transformers asks for it,
    or when the device (cuda, mps) or dtype (bf16, fp16) is one the numpy forward does not
    have. Device "auto" means the CPU unless an NVIDIA GPU is present and the checkpoint is
    large (numpy_runs): the shipped model gains nothing from a GPU, and asking torch whether
    one exists would cost its import. Both load the same safetensors and
    give the same logits. The vocabulary projection runs only at the requested positions:
    the head is the largest single cost of a small model's forward pass. The numpy forward
    also keeps the fixed tokens' keys and values between denoising steps (`context_cache`).
    """

    noise = "mask"
    logit_shift = 0

    def __init__(
        self, path: Path | None = None, device: str = "auto", dtype: str = "auto",
        forward: str | None = None,
    ) -> None:
        self.path = path or DEFAULT_CHECKPOINT
        self.forward_name = forward or os.environ.get("DIFFILL_FORWARD") or "native"
        if self.forward_name not in FORWARDS:
            raise CheckpointError(f"forward must be one of {', '.join(FORWARDS)}, not {self.forward_name!r}")
        if self.forward_name == "native" and not numpy_runs(device, dtype, self.path):
            self.forward_name = "transformers"
        self.native: ModernBertMaskedLM | None = None
        self.model: Any = None  # the transformers forward (hf_forward.TransformersForward)
        if self.forward_name == "native":
            apply_thread_setting()
            self.native, tok, meta = load_native(self.path)
            self.device, self.dtype = "cpu", "fp32"
        else:
            from .hf_forward import TransformersForward

            self.model = TransformersForward(self.path, device, dtype)
            tok, meta = self.model.tokenizer, self.model.meta
            self.device, self.dtype = self.model.device, str(self.model.autocast_dtype).removeprefix("torch.")
        self.tokenizer = tok
        self.meta: DenoiserMeta = meta
        self.ids = SpecialIds(meta.pad_id, meta.mask_id, meta.null_id, meta.bos_id, meta.eos_id)
        self.max_canvas = meta.canvas
        self.line_canvas = meta.line_canvas or meta.canvas  # load_meta checked it fits
        self.line_suffix_share = meta.line_suffix_share
        self.line_budget = meta.line_budget
        self.block_budget = meta.block_budget
        self.forbidden: tuple[int, ...] = (meta.pad_id, meta.mask_id, meta.bos_id, meta.eos_id)

    def context_cache(self, refresh_every: int) -> ContextCache | None:
        """A step cache for one denoising loop (None: this forward has none, or it is off)."""
        return ContextCache(refresh_every) if self.native is not None and refresh_every > 1 else None

    def logits(
        self, canvas: Tokens, attention: Tokens, positions: Tokens, cache: ContextCache | None = None,
    ) -> Floats:
        if self.native is not None:
            return self.native(canvas, attention, positions, cache)
        out: Floats = self.model(canvas, attention, positions)
        return out


FORWARDS = ("native", "transformers")


def numpy_runs(device: str, dtype: str, path: Path | None = None) -> bool:
    """Whether the numpy forward (CPU, float32) serves this device, dtype and checkpoint.

    "auto" stays on the CPU unless an NVIDIA GPU is present (seen without importing torch)
    and the checkpoint is large enough to gain from it (GPU_WORTHWHILE_PARAMS).
    """
    device = device.strip().lower()
    if dtype not in ("auto", "fp32") or device not in ("auto", "cpu"):
        return False
    if device == "auto" and path is not None and nvidia_gpu_present():
        return estimated_parameters(path) < GPU_WORTHWHILE_PARAMS
    return True


# Below this a forward pass is dominated by per-kernel launch and copy overhead on a GPU; the
# shipped 6M model runs its 128-token canvas in about 30 ms on one CPU core.
GPU_WORTHWHILE_PARAMS = 50_000_000


def nvidia_gpu_present() -> bool:
    """Whether the NVIDIA driver is loaded (its proc entry), asked without importing torch."""
    return Path("/proc/driver/nvidia/version").exists()


def estimated_parameters(path: Path) -> int:
    """Parameters of a ModernBERT checkpoint, from its config.json (0 when unreadable)."""
    try:
        cfg = json.loads((path / "config.json").read_text("utf-8"))
        hidden, layers = int(cfg["hidden_size"]), int(cfg["num_hidden_layers"])
        inner, vocab = int(cfg["intermediate_size"]), int(cfg["vocab_size"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0
    # Per layer: the fused QKV and output projections (4 D^2) and the GeGLU MLP (3 D I).
    return layers * (4 * hidden * hidden + 3 * hidden * inner) + vocab * hidden


def load_native(path: Path) -> tuple[ModernBertMaskedLM, Tokenizer, DenoiserMeta]:
    """The numpy model, tokenizer and metadata, with the checks `load_checkpoint` makes."""
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
