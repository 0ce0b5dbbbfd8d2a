"""What the Hugging Face backends share: tokenizer, special ids, vocabulary fitting, loading.

The backends compute in torch; the engine speaks numpy. `HFDenoiser.logits` and `own_loop`
are the boundary: numpy arrays become tensors sharing their memory (a loop's in-place writes
reach the engine's canvas) and logits leave as float32 numpy.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer

from ..denoiser import Bools, Floats, LoopResult, Poll, SpecialIds, Tokens
from ..errors import CheckpointError
from ..sampler_config import SamplerConfig

MASK_NAMES = ("<|mask|>", "<mask>", "[MASK]", "<|mdm_mask|>")
PAD_NAMES = ("<|pad|>", "<pad>", "[PAD]")
BOS_NAMES = ("<|beginoftext|>", "<|startoftext|>", "<bos>", "<s>", "[CLS]", "<|bos|>")
EOS_NAMES = ("<|endoftext|>", "<eos>", "</s>", "[SEP]", "<|eos|>")


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from path; {} when the file does not exist."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path} is unreadable: {exc}") from exc
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} is not a JSON object")
    return data


def quiet_transformers() -> None:
    # stdout/stderr belong to the caller (the LSP transport, a CLI's output): no progress bars.
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def set_threads() -> None:
    threads = os.environ.get("DIFFILL_THREADS")
    if threads:
        torch.set_num_threads(int(threads))


def plain_tokenizer(tok: Tokenizer) -> Tokenizer:
    """The canvas code encodes bare text: no [CLS]/[SEP] or BOS added behind its back."""
    tok.post_processor = None
    # Source text that spells a special token ("<|mask|>") must stay text.
    tok.encode_special_tokens = True
    return tok


def load_hf_tokenizer(
    folder: Path, trust_remote_code: bool = False, fallback: str | None = None
) -> Tokenizer:
    """The checkpoint's tokenizer as a `tokenizers.Tokenizer` (tokenizer.json, else converted).

    Without tokenizer.json, transformers converts vocab.json + merges.txt (and the like) to a
    fast tokenizer; `fallback` names a transformers tokenizer class to try when the folder's
    own class is custom code with no fast form (Dream ships a copy of Qwen2's tokenizer).
    """
    path = folder / "tokenizer.json"
    if path.is_file():
        try:
            return plain_tokenizer(Tokenizer.from_file(str(path)))
        except Exception as exc:  # tokenizers raises a bare Exception on bad JSON
            raise CheckpointError(f"{path} is unreadable: {exc}") from exc
    import transformers

    problems: list[str] = []
    attempts = [("AutoTokenizer", {"trust_remote_code": trust_remote_code})]
    if fallback:
        attempts.append((fallback, {}))
    for name, extra in attempts:
        try:
            loaded = getattr(transformers, name).from_pretrained(str(folder), local_files_only=True, **extra)
        except Exception as exc:  # missing files, custom code refused: many types
            problems.append(f"{name}: {exc}")
            continue
        backend = getattr(loaded, "backend_tokenizer", None)
        if backend is not None:
            return plain_tokenizer(Tokenizer.from_str(backend.to_str()))
        problems.append(f"{name}: no fast (tokenizers) form")
    raise CheckpointError(f"{folder} has no tokenizer.json and its tokenizer could not be converted "
                          f"({'; '.join(problems)})")


def first_id(value: Any) -> int | None:
    """An id from a config field that may be an int, a list of ints or missing."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, list) and value and isinstance(value[0], int):
        return int(value[0])
    return None


def all_ids(value: Any) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]
    if isinstance(value, list):
        return [int(v) for v in value if isinstance(v, int) and not isinstance(v, bool)]
    return []


def token_id(tok: Tokenizer, names: Iterable[str]) -> int | None:
    for name in names:
        found = tok.token_to_id(name)
        if found is not None:
            return int(found)
    return None


def tokenizer_config_id(folder: Path, tok: Tokenizer, key: str) -> int | None:
    """Id of a special token named in tokenizer_config.json ("mask_token": "<|mask|>")."""
    value = read_json(folder / "tokenizer_config.json").get(key)
    if isinstance(value, dict):
        value = value.get("content")
    return tok.token_to_id(value) if isinstance(value, str) else None


def pick(*candidates: int | None) -> int | None:
    return next((c for c in candidates if c is not None), None)


def require(value: int | None, what: str, folder: Path) -> int:
    if value is None:
        raise CheckpointError(f"{folder}: cannot tell the {what} token id (not in config.json, "
                              "generation_config.json or the tokenizer)")
    return value


def tensor(array: Any) -> torch.Tensor:
    """An engine array (numpy) as a CPU tensor sharing its memory; tensors pass through."""
    if isinstance(array, np.ndarray) and not array.flags.writeable:
        array = array.copy()  # torch cannot share a read-only buffer
    return torch.as_tensor(array)


def key_padding_pairs(attention: torch.Tensor) -> torch.Tensor:
    """(B, 1, T, T) bool: query i may attend key j when both are real tokens."""
    real = attention.bool()
    return real[:, None, :, None] & real[:, None, None, :]


def gather_positions(full: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """(B, K, V) rows of full (B, T, V) at positions (B, K)."""
    index = positions.unsqueeze(-1).expand(-1, -1, full.shape[-1])
    return torch.gather(full, 1, index)


def commit_scores(probs: torch.Tensor, rule: str) -> torch.Tensor:
    """(..., ) certainty of distributions probs (..., V): the sampler's commit rules."""
    if rule == "margin":
        top2 = probs.topk(2, dim=-1).values
        return top2[..., 0] - top2[..., 1]
    if rule == "entropy":
        return torch.exp((probs * probs.clamp_min(1e-12).log()).sum(-1))
    return probs.max(-1).values


def draw(probs: torch.Tensor, temperature: float, top_p: float, gen: torch.Generator) -> torch.Tensor:
    """(M,) ids from (M, V) probabilities already tempered: argmax when temperature is 0."""
    if temperature <= 0:
        return probs.argmax(-1)
    if top_p < 1.0:
        sorted_p, order = probs.sort(-1, descending=True)
        keep = sorted_p.cumsum(-1) - sorted_p < top_p
        picked = torch.multinomial(sorted_p * keep, 1, generator=gen)
        return order.gather(-1, picked).squeeze(-1)
    return torch.multinomial(probs, 1, generator=gen).squeeze(-1)


class HFDenoiser:
    """State shared by the Hugging Face backends; subclasses say how logits are computed.

    Logits leave a backend sized to the tokenizer's vocabulary (models often pad theirs), with
    every "end of text" id the family pads holes with folded into `ids.null`, so the engine
    drops unused hole slots whatever the family calls them.
    """

    noise = "mask"
    logit_shift = 0

    def __init__(
        self,
        model: Any,
        tokenizer: Tokenizer,
        ids: SpecialIds,
        device: str = "cpu",
        *,
        max_canvas: int = 512,
        line_budget: int = 32,
        block_budget: int = 96,
        null_aliases: Iterable[int] = (),
        extra_forbidden: Iterable[int] = (),
    ) -> None:
        set_threads()
        self.model = model
        self.tokenizer = tokenizer
        self.ids = ids
        self.device = device
        self.max_canvas = max_canvas
        self.line_canvas = max_canvas
        self.line_suffix_share = 0.3
        self.line_budget = line_budget
        self.block_budget = block_budget
        self.vocab = tokenizer.get_vocab_size()
        for name, value in vars(ids).items():
            if not 0 <= value < self.vocab:
                raise CheckpointError(f"special id {name}={value} is outside the tokenizer's "
                                      f"vocabulary ({self.vocab})")
        self.null_aliases = tuple(sorted({a for a in null_aliases if a != ids.null and 0 <= a < self.vocab}))
        banned = {ids.pad, ids.mask, ids.bos, ids.eos, *extra_forbidden}
        banned -= {ids.null, *self.null_aliases}
        self.forbidden: tuple[int, ...] = tuple(sorted(i for i in banned if 0 <= i < self.vocab))

    def torch_logits(self, canvas: torch.Tensor, attention: torch.Tensor,
                     positions: torch.Tensor) -> torch.Tensor:
        """Float CPU logits (B, K, V_tok) at positions (B, K); each family computes its own."""
        raise NotImplementedError

    def logits(self, canvas: Tokens, attention: Tokens, positions: Tokens) -> Floats:
        """Float32 logits (B, K, V_tok) at positions (B, K) of canvas (B, T): the numpy boundary."""
        with torch.no_grad():  # not inference_mode: the engine edits the logits in place
            out = self.torch_logits(tensor(canvas), tensor(attention), tensor(positions))
        logits: Floats = np.array(out.float().cpu().numpy(), dtype=np.float32)
        return logits

    def fit(self, logits: torch.Tensor) -> torch.Tensor:
        """Float CPU logits (..., V_tok) from model logits (..., V_model); null aliases folded.

        The sampler indexes logits with CPU tensors, so they leave the backend on the CPU.
        """
        logits = logits.float()
        have = logits.shape[-1]
        if have > self.vocab:
            logits = logits[..., : self.vocab]
        elif have < self.vocab:
            pad = logits.new_full((*logits.shape[:-1], self.vocab - have), -math.inf)
            logits = torch.cat([logits, pad], -1)
        if self.null_aliases:
            group = [self.ids.null, *self.null_aliases]
            logits = logits.clone()
            logits[..., self.ids.null] = torch.logsumexp(logits[..., group], -1)
            logits[..., list(self.null_aliases)] = -math.inf
        return logits.cpu()


def load_weights(
    auto_class: Any,
    folder: Path,
    *,
    device: str,
    dtype: torch.dtype,
    trust_remote_code: bool = False,
    quantization_config: Any = None,
    **extra: Any,
) -> Any:
    """from_pretrained with diffill's rules: safetensors only, local files only, no surprise code."""
    quiet_transformers()
    kwargs: dict[str, Any] = {
        "dtype": dtype,
        "use_safetensors": True,
        "trust_remote_code": trust_remote_code,
        "local_files_only": True,  # nothing is downloaded, weights or code
        **extra,
    }
    if quantization_config is not None:
        kwargs["quantization_config"] = quantization_config
        kwargs["device_map"] = {"": device}
    try:
        model = auto_class.from_pretrained(str(folder), **kwargs)
    except Exception as exc:  # corrupt safetensors, missing code, unknown config: many types
        raise CheckpointError(f"weights in {folder} could not be loaded: {exc}") from exc
    if quantization_config is None:
        model.to(device)
    return model.eval()


def own_loop(
    torch_sample: Any, canvas: Tokens, attention: Tokens, slot_positions: list[int],
    cfg: SamplerConfig, poll: Poll, allowed_first: Bools | None,
) -> LoopResult:
    """A family's own step loop run on the engine's numpy canvas (written back in place)."""
    ids = tensor(canvas)
    allowed = None if allowed_first is None else tensor(allowed_first)
    with torch.no_grad():
        result: LoopResult = torch_sample(ids, tensor(attention), slot_positions, cfg, poll, allowed)
    if isinstance(canvas, np.ndarray) and not np.shares_memory(ids.numpy(), canvas):
        canvas[...] = ids.numpy()  # a copy was made on the way in: write the fill back
    return result


class OwnLoop:
    """A family whose step loop runs in torch: `sample` hands it the engine's numpy canvas."""

    torch_sample: Any  # (canvas, attention, slot_positions, cfg, poll, allowed_first) -> LoopResult

    def sample(
        self, canvas: Tokens, attention: Tokens, slot_positions: list[int],
        cfg: SamplerConfig, poll: Poll, allowed_first: Bools | None,
    ) -> LoopResult:
        """The engine's numpy canvas through `torch_sample` (written back in place)."""
        return own_loop(self.torch_sample, canvas, attention, slot_positions, cfg, poll, allowed_first)
