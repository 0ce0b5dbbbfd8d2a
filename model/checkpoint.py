"""Checkpoint folders: a plain transformers ModernBERT masked LM plus diffill's metadata.

Layout (loads with `AutoModelForMaskedLM.from_pretrained(dir)`, no custom code):
  config.json, model.safetensors   the denoiser weights (safetensors only)
  tokenizer.json                   the byte-level BPE tokenizer
  diffill.json                     special ids, canvas defaults, training provenance
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tokenizers import Tokenizer

from .errors import CheckpointError
from .paths import DEFAULT_CHECKPOINT
from .tokenizer import BOS, EOS, MASK, NULL, PAD, load_tokenizer

__all__ = [
    "DEFAULT_CHECKPOINT", "CheckpointError", "DenoiserMeta", "ModelSize", "count_parameters",
    "lineage_totals", "load_checkpoint", "new_model", "save_checkpoint",
]
if TYPE_CHECKING:  # torch and transformers take seconds to import: loaded where a function needs them
    import torch
    from transformers import ModernBertForMaskedLM

REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "diffill.json")


@dataclass
class DenoiserMeta:
    """diffill.json: what the engine needs beyond the transformers config."""

    pad_id: int = PAD
    mask_id: int = MASK
    null_id: int = NULL
    bos_id: int = BOS
    eos_id: int = EOS
    canvas: int = 256  # canvas length the model was trained on
    line_budget: int = 32  # hole slots for line holes (training draws up to its own; fewer may do)
    block_budget: int = 96  # hole slots for block holes
    # Canvas for single-line holes at inference (None: `canvas`). Shorter is faster; the
    # value is chosen on the development repositories (MODEL_CARD.md), not in training.
    line_canvas: int | None = None
    line_suffix_share: float = 0.3  # share of a line canvas's context kept for the suffix
    noise: str = "mask"  # absorbing-mask diffusion (plus some uniform noise in training)
    training: dict[str, object] = field(default_factory=dict)  # tokens seen, CPU-hours, losses


def lineage_totals(training: dict[str, object]) -> dict[str, float]:
    """CPU-hours, GPU-hours and tokens of this run plus every run it was fine-tuned from (`--init`).

    A fine-tuning run counts from zero and nests its parent's provenance under
    `init_training`; the model card and the exact-match curve need the whole lineage.
    """
    cpu_hours = gpu_hours = 0.0
    tokens = 0.0
    runs = 0
    node: object = training
    while isinstance(node, dict) and node:
        cpu_hours += float(node.get("cpu_hours") or 0.0)
        gpu_hours += float(node.get("gpu_hours") or 0.0)
        tokens += float(node.get("tokens_seen") or 0.0)
        runs += 1
        node = node.get("init_training")
    return {"cpu_hours": round(cpu_hours, 3), "gpu_hours": round(gpu_hours, 4), "tokens_seen": tokens,
            "runs": runs}


@dataclass(frozen=True)
class ModelSize:
    """Architecture knobs; everything else is ModernBERT's default."""

    hidden: int = 256
    layers: int = 6
    heads: int = 4
    intermediate: int = 512
    local_window: int = 128
    global_every: int = 3


def new_model(vocab_size: int, size: ModelSize, max_positions: int) -> ModernBertForMaskedLM:
    from transformers import ModernBertConfig, ModernBertForMaskedLM

    cfg = ModernBertConfig(
        vocab_size=vocab_size,
        hidden_size=size.hidden,
        num_hidden_layers=size.layers,
        num_attention_heads=size.heads,
        intermediate_size=size.intermediate,
        max_position_embeddings=max_positions,
        local_attention=size.local_window,
        # Every `global_every`-th layer attends globally, the rest in a local window.
        layer_types=[
            "sliding_attention" if i % size.global_every else "full_attention"
            for i in range(size.layers)
        ],
        pad_token_id=PAD,
        bos_token_id=BOS,
        eos_token_id=EOS,
        cls_token_id=BOS,
        sep_token_id=EOS,
        attention_dropout=0.0,
        embedding_dropout=0.0,
        mlp_dropout=0.0,
        tie_word_embeddings=True,
    )
    return ModernBertForMaskedLM(cfg)


def save_checkpoint(
    out: Path, model: ModernBertForMaskedLM, tok: Tokenizer, meta: DenoiserMeta
) -> None:
    """Write atomically: a temp folder renamed over the old one, so a crash never corrupts."""
    tmp = out.with_name(out.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    model.save_pretrained(tmp, safe_serialization=True)
    tok.save(str(tmp / "tokenizer.json"))
    (tmp / "diffill.json").write_text(json.dumps(asdict(meta), indent=2) + "\n")
    old = out.with_name(out.name + ".old")
    if out.exists():
        if old.exists():
            shutil.rmtree(old)
        out.rename(old)
    tmp.rename(out)
    if old.exists():
        shutil.rmtree(old)


def check_folder(path: Path) -> None:
    if not path.is_dir():
        raise CheckpointError(f"checkpoint folder {path} does not exist")
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise CheckpointError(f"checkpoint {path} lacks {', '.join(missing)}")


def load_meta(path: Path) -> DenoiserMeta:
    try:
        raw = json.loads((path / "diffill.json").read_text())
        meta = DenoiserMeta(**raw)
    except (OSError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{path / 'diffill.json'} is unreadable: {exc}") from exc
    # A line canvas must hold its slots twice over (the engine then leaves it for the full
    # one), and some context must go to each side of the hole.
    if meta.line_canvas is not None and not 2 * meta.line_budget <= meta.line_canvas <= meta.canvas:
        raise CheckpointError(f"{path / 'diffill.json'}: line_canvas {meta.line_canvas} is not between "
                              f"twice line_budget ({2 * meta.line_budget}) and canvas ({meta.canvas})")
    if not 0.0 < meta.line_suffix_share < 1.0:
        raise CheckpointError(f"{path / 'diffill.json'}: line_suffix_share {meta.line_suffix_share} "
                              "is not between 0 and 1")
    return meta


def checked_tokenizer(path: Path) -> Tokenizer:
    """The checkpoint's tokenizer; a CheckpointError saying which file when it is unreadable."""
    try:
        return load_tokenizer(path / "tokenizer.json")
    except Exception as exc:  # tokenizers raises a bare Exception on bad JSON
        raise CheckpointError(f"{path / 'tokenizer.json'} is unreadable: {exc}") from exc


def load_checkpoint(
    path: Path, device: str = "cpu"
) -> tuple[ModernBertForMaskedLM, Tokenizer, DenoiserMeta]:
    """Load weights (safetensors only), tokenizer and metadata, with clear errors."""
    import torch
    from transformers import ModernBertForMaskedLM
    from transformers.utils import logging as hf_logging

    check_folder(path)
    # stdout/stderr belong to the caller (the LSP transport, a CLI's output): no progress bars.
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    meta = load_meta(path)
    tok = checked_tokenizer(path)
    try:
        model = ModernBertForMaskedLM.from_pretrained(
            # fp32 whatever the stored dtype (a bf16-shipped checkpoint too): CPU matmuls want it.
            str(path), use_safetensors=True, trust_remote_code=False, dtype=torch.float32
        )
    except Exception as exc:  # corrupt safetensors or config surface as many types
        raise CheckpointError(f"weights in {path} could not be loaded: {exc}") from exc
    if model.config.vocab_size != tok.get_vocab_size():
        raise CheckpointError(
            f"{path}: model vocabulary {model.config.vocab_size} != tokenizer "
            f"{tok.get_vocab_size()}"
        )
    model = model.to(device)  # type: ignore[arg-type]  # transformers types .to() oddly
    model.eval()
    return model, tok, meta


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
