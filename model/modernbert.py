"""ModernBERT masked LM in one file: diffill's checkpoints without importing transformers.

Loads the same `config.json` + `model.safetensors` that `transformers.ModernBertForMaskedLM`
loads (same parameter names, so `load_state_dict` takes the file as it is) and computes the
same logits (tests/unit/test_modernbert.py compares them). Importing transformers costs
seconds; this file costs nothing beyond torch, which is what a one-shot `diffill fill` needs.

It also holds the denoising-step cache (`ContextCache`): the fixed tokens' keys and values of
every layer, computed in a full forward pass, reused while only the hole slots change, so a
cached step runs the layers over the slots alone (Fast-dLLM "DualCache", arXiv 2505.22618;
dKV-Cache, arXiv 2505.15781). The fixed tokens' states are then a few steps stale, the
approximation both papers measure as nearly free; `refresh_every` bounds the staleness.

The architecture (Warner et al. 2024, arXiv 2412.13663): token embedding + LayerNorm; pre-norm
layers of rotary self-attention (global in every `global_every`-th layer, else a local window
of +-local_attention/2 tokens) and a GeGLU MLP; final LayerNorm; a head (dense, GELU,
LayerNorm) and a decoder tied to the embedding. No biases except the decoder's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class ModernBertConfig:
    vocab_size: int = 8192  # tokenizer size (tied embedding and decoder)
    hidden_size: int = 256  # model width D
    num_hidden_layers: int = 6  # layers L
    num_attention_heads: int = 4  # heads H; head size D / H
    intermediate_size: int = 512  # GeGLU width (the input projection is twice this)
    max_position_embeddings: int = 512  # longest canvas the rotary tables cover
    local_attention: int = 128  # local layers see tokens within +-local_attention/2
    layer_types: tuple[str, ...] = ()  # "full_attention" | "sliding_attention" per layer
    global_rope_theta: float = 160000.0  # rotary base of global layers
    local_rope_theta: float = 10000.0  # rotary base of local layers
    norm_eps: float = 1e-5  # LayerNorm epsilon
    decoder_bias: bool = True  # the decoder has a bias (the only one)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ModernBertConfig:
        """From a transformers config.json (older files name the rope bases at the top level)."""
        unsupported = [k for k in ("attention_bias", "mlp_bias", "norm_bias", "classifier_bias")
                       if raw.get(k)]
        acts = {raw.get("hidden_activation", "gelu"), raw.get("classifier_activation", "gelu")}
        if unsupported or acts != {"gelu"} or raw.get("model_type") != "modernbert":
            raise ValueError(f"not a ModernBERT this file implements ({unsupported or acts})")
        rope = raw.get("rope_parameters") or {}
        layers = int(raw["num_hidden_layers"])
        every = int(raw.get("global_attn_every_n_layers", 3))
        types = raw.get("layer_types") or [
            "full_attention" if i % every == 0 else "sliding_attention" for i in range(layers)]
        return cls(
            vocab_size=int(raw["vocab_size"]),
            hidden_size=int(raw["hidden_size"]),
            num_hidden_layers=layers,
            num_attention_heads=int(raw["num_attention_heads"]),
            intermediate_size=int(raw["intermediate_size"]),
            max_position_embeddings=int(raw.get("max_position_embeddings", 512)),
            local_attention=int(raw.get("local_attention", 128)),
            layer_types=tuple(types),
            global_rope_theta=float((rope.get("full_attention") or {}).get(
                "rope_theta", raw.get("global_rope_theta", 160000.0))),
            local_rope_theta=float((rope.get("sliding_attention") or {}).get(
                "rope_theta", raw.get("local_rope_theta", 10000.0))),
            norm_eps=float(raw.get("norm_eps", 1e-5)),
            decoder_bias=bool(raw.get("decoder_bias", True)),
        )


def rotary_tables(theta: float, head_dim: int, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin (length, head_dim) of rotary embeddings with base theta."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float) / head_dim))
    freqs = torch.arange(length, dtype=torch.float)[:, None] * inv_freq  # (T, hd/2)
    emb = torch.cat((freqs, freqs), dim=-1)  # (T, hd)
    return emb.cos(), emb.sin()


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary embedding of x (B, H, T, hd) with cos, sin (T, hd)."""
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin


@dataclass
class ContextCache:
    """Keys and values of every layer from the last full pass, for one denoising loop.

    Valid while the canvas keeps its shape and padding, its tokens outside the hole slots stay
    as they were, the slots are the same and fewer than `refresh_every` steps have passed.
    """

    refresh_every: int  # steps per full pass (1: every step is a full pass)
    keys: list[torch.Tensor] = field(default_factory=list)  # per layer (B, H, T, hd)
    values: list[torch.Tensor] = field(default_factory=list)  # per layer (B, H, T, hd)
    canvas: torch.Tensor | None = None  # (B, T) tokens at the last full pass
    attention: torch.Tensor | None = None  # (B, T) padding mask at the last full pass
    slots: torch.Tensor | None = None  # (K,) the slot positions of the cached steps
    age: int = 0  # steps since the last full pass
    full_passes: int = 0  # statistics
    slot_passes: int = 0

    def usable(self, canvas: torch.Tensor, attention: torch.Tensor, slots: torch.Tensor) -> bool:
        if self.canvas is None or self.attention is None or self.age + 1 >= self.refresh_every:
            return False
        if self.canvas.shape != canvas.shape or not torch.equal(self.attention, attention):
            return False
        if self.slots is not None and not torch.equal(self.slots, slots):
            return False
        fixed = torch.ones(canvas.shape[1], dtype=torch.bool, device=canvas.device)
        fixed[slots] = False
        return torch.equal(self.canvas[:, fixed], canvas[:, fixed])


class Attention(nn.Module):
    def __init__(self, cfg: ModernBertConfig) -> None:
        super().__init__()
        self.heads = cfg.num_attention_heads
        self.Wqkv = nn.Linear(cfg.hidden_size, 3 * cfg.hidden_size, bias=False)
        self.Wo = nn.Linear(cfg.hidden_size, cfg.hidden_size, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, mask: torch.Tensor | None,
                cached: tuple[torch.Tensor, torch.Tensor] | None, at: torch.Tensor | None,
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """X (B, A, D) -> (B, A, D), and the keys and values (B, H, T, hd) attended to.

        cached: the full canvas's keys and values; the A rows at positions `at` are replaced
        with fresh ones (in place) before attending. None: x is the whole canvas.
        """
        b, a, d = x.shape
        qkv = self.Wqkv(x).view(b, a, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = rotate(qkv[0], cos, sin), rotate(qkv[1], cos, sin), qkv[2]  # (B, H, A, hd)
        if cached is not None:
            assert at is not None
            keys, values = cached
            keys[:, :, at] = k
            values[:, :, at] = v
            k, v = keys, values
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (B, H, A, hd)
        return self.Wo(out.transpose(1, 2).reshape(b, a, d)), k, v


class MLP(nn.Module):
    def __init__(self, cfg: ModernBertConfig) -> None:
        super().__init__()
        self.Wi = nn.Linear(cfg.hidden_size, 2 * cfg.intermediate_size, bias=False)
        self.Wo = nn.Linear(cfg.intermediate_size, cfg.hidden_size, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inp, gate = self.Wi(x).chunk(2, dim=-1)
        return self.Wo(F.gelu(inp) * gate)


def layer_norm(cfg: ModernBertConfig) -> nn.LayerNorm:
    return nn.LayerNorm(cfg.hidden_size, eps=cfg.norm_eps, bias=False)


class Layer(nn.Module):
    def __init__(self, cfg: ModernBertConfig, index: int) -> None:
        super().__init__()
        # The first layer's input is the (normed) embedding: no second norm.
        self.attn_norm: nn.Module = nn.Identity() if index == 0 else layer_norm(cfg)
        self.attn = Attention(cfg)
        self.mlp_norm = layer_norm(cfg)
        self.mlp = MLP(cfg)
        self.local = cfg.layer_types[index] == "sliding_attention"


class Embeddings(nn.Module):
    def __init__(self, cfg: ModernBertConfig) -> None:
        super().__init__()
        self.tok_embeddings = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.norm = layer_norm(cfg)


class Encoder(nn.Module):
    def __init__(self, cfg: ModernBertConfig) -> None:
        super().__init__()
        self.embeddings = Embeddings(cfg)
        self.layers = nn.ModuleList(Layer(cfg, i) for i in range(cfg.num_hidden_layers))
        self.final_norm = layer_norm(cfg)


class Head(nn.Module):
    def __init__(self, cfg: ModernBertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.hidden_size, bias=False)
        self.norm = layer_norm(cfg)


class ModernBertMaskedLM(nn.Module):
    """Parameter names follow transformers' ModernBertForMaskedLM (model.*, head.*, decoder)."""

    global_cos: torch.Tensor  # (max positions, hd) rotary tables, buffers
    global_sin: torch.Tensor
    local_cos: torch.Tensor
    local_sin: torch.Tensor

    def __init__(self, cfg: ModernBertConfig) -> None:
        super().__init__()
        assert len(cfg.layer_types) == cfg.num_hidden_layers
        self.cfg = cfg
        self.model = Encoder(cfg)
        self.head = Head(cfg)
        self.decoder = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=cfg.decoder_bias)
        self.decoder.weight = self.model.embeddings.tok_embeddings.weight  # tied
        head_dim = cfg.hidden_size // cfg.num_attention_heads
        for name, theta in (("global", cfg.global_rope_theta), ("local", cfg.local_rope_theta)):
            cos, sin = rotary_tables(theta, head_dim, cfg.max_position_embeddings)
            self.register_buffer(f"{name}_cos", cos, persistent=False)  # (n, hd)
            self.register_buffer(f"{name}_sin", sin, persistent=False)

    @classmethod
    def from_folder(cls, folder: Path) -> ModernBertMaskedLM:
        """Load config.json and model.safetensors (weights cast to fp32), in eval mode."""
        from safetensors.torch import load_file

        cfg = ModernBertConfig.from_json(json.loads((folder / "config.json").read_text()))
        # Built on the CPU (the meta device would skip the random init, but its first use
        # imports torch's reference ops: seconds).
        model = cls(cfg)
        state = {k: v.float() for k, v in load_file(str(folder / "model.safetensors")).items()}
        state.setdefault("decoder.weight", state["model.embeddings.tok_embeddings.weight"])  # tied
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ValueError(f"weights do not fit: missing {missing[:3]}, unexpected {unexpected[:3]}")
        return model.eval()

    def masks(self, attention: torch.Tensor, rows: torch.Tensor) -> dict[bool, torch.Tensor | None]:
        """Boolean attention masks (B, 1, A, T) for query positions rows (A,); key by `local`."""
        t = attention.shape[1]
        keys = attention.bool()[:, None, None, :]  # (B, 1, 1, T)
        distance = (rows[:, None] - torch.arange(t, device=rows.device)[None, :]).abs()  # (A, T)
        near = distance <= self.cfg.local_attention // 2
        padded = not bool(keys.all())
        return {False: keys if padded else None, True: keys & near[None, None]}

    def forward(self, canvas: torch.Tensor, attention: torch.Tensor, positions: torch.Tensor,
                cache: ContextCache | None = None) -> torch.Tensor:
        """Logits (B, K, V) at positions (B, K) of canvas (B, T) with padding mask attention (B, T).

        With a usable cache only the rows at positions (the same in every row: the hole slots)
        go through the layers; otherwise the whole canvas does, and refills the cache.
        """
        b, t = canvas.shape
        assert positions.shape[0] == b and t <= self.cfg.max_position_embeddings
        slots = positions[0]
        partial = cache is not None and bool((positions == slots).all()) and cache.usable(
            canvas, attention, slots)
        rows = slots if partial else torch.arange(t, device=canvas.device)  # (A,) canvas positions computed
        x = self.model.embeddings.norm(self.model.embeddings.tok_embeddings(canvas[:, rows]))  # (B, A, D)
        masks = self.masks(attention, rows)
        tables = {False: (self.global_cos[rows], self.global_sin[rows]),
                  True: (self.local_cos[rows], self.local_sin[rows])}
        if cache is not None and not partial:
            cache.keys, cache.values = [], []
        layers = cast(list[Layer], list(self.model.layers))
        for i, layer in enumerate(layers):
            cos, sin = tables[layer.local]
            cached = (cache.keys[i], cache.values[i]) if partial and cache is not None else None
            h, k, v = layer.attn(layer.attn_norm(x), cos, sin, masks[layer.local], cached, rows)
            if cache is not None and not partial:
                cache.keys.append(k)
                cache.values.append(v)
            x = x + h
            x = x + layer.mlp(layer.mlp_norm(x))
        if partial:
            assert cache is not None
            cache.age += 1
            cache.slot_passes += 1
            picked = x  # rows are the positions
        else:
            if cache is not None:
                cache.canvas, cache.attention, cache.slots = canvas.clone(), attention.clone(), slots.clone()
                cache.age = 0
                cache.full_passes += 1
            picked = torch.gather(x, 1, positions.unsqueeze(-1).expand(-1, -1, x.shape[-1]))  # (B, K, D)
        picked = self.model.final_norm(picked)
        head = self.head.norm(F.gelu(self.head.dense(picked)))
        return self.decoder(head)  # (B, K, V)
