"""ModernBERT masked LM in numpy: diffill's default inference forward, without torch.

Loads the same `config.json` + `model.safetensors` that `transformers.ModernBertForMaskedLM`
loads (same parameter names) and computes the same logits within float32 rounding
(tests/unit/test_modernbert.py compares them). Importing torch costs seconds; numpy costs
a tenth of one, which is what a one-shot `diffill fill` and a server's first suggestion need.
Training keeps transformers' torch module (`checkpoint.new_model`); this file is inference
only, in float32 (numpy has no bfloat16; the CPUs this targets compute fp32 fastest anyway).

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
import math
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]


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



def rotary_tables(theta: float, head_dim: int, length: int) -> tuple[F32, F32]:
    """cos, sin (length, head_dim) of rotary embeddings with base theta (as torch computes them)."""
    inv_freq = (1.0 / (theta ** (np.arange(0, head_dim, 2, dtype=np.float32) / head_dim))).astype(np.float32)
    freqs = np.arange(length, dtype=np.float32)[:, None] * inv_freq  # (T, hd/2)
    emb = np.concatenate((freqs, freqs), axis=-1)  # (T, hd)
    return np.cos(emb), np.sin(emb)


def rotate(x: F32, cos: F32, sin: F32) -> F32:
    """Rotary embedding of x (B, H, T, hd) with cos, sin (T, hd)."""
    half = x.shape[-1] // 2
    rotated = np.concatenate((-x[..., half:], x[..., :half]), axis=-1)
    return x * cos + rotated * sin


def layer_norm(x: F32, weight: F32, eps: float) -> F32:
    """LayerNorm over the last axis, no bias (ModernBERT's norms have none)."""
    mean = x.mean(-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(-1, keepdims=True)
    return centred / np.sqrt(var + np.float32(eps)) * weight


# Abramowitz & Stegun 7.1.26: erf to 1.5e-7 with one exp; numpy has no erf (nor is scipy a
# dependency), and a polynomial in place costs a fraction of a generic one.
ERF_P = np.float32(0.3275911)
ERF_A = tuple(np.float32(a) for a in (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429))


def erf(x: F32) -> F32:
    """The error function, to ~5e-7 in float32 (A&S 7.1.26)."""
    z = np.abs(x)
    t = z * ERF_P
    t += 1
    np.reciprocal(t, out=t)
    poly = t * ERF_A[4]
    for a in ERF_A[3::-1]:
        poly += a
        poly *= t
    z *= z
    np.negative(z, out=z)
    np.exp(z, out=z)
    poly *= z  # erfc(|x|)
    np.subtract(np.float32(1), poly, out=poly)
    out: F32 = np.copysign(poly, x, out=poly)
    return out


def gelu(x: F32) -> F32:
    """Exact (erf) GELU, as transformers' "gelu" activation: 0.5 x (1 + erf(x / sqrt 2))."""
    y = erf(x * np.float32(1 / math.sqrt(2)))
    y += 1
    y *= x
    y *= np.float32(0.5)
    return y


def softmax_(x: F32) -> F32:
    """Softmax over the last axis, in place (the scores are a temporary)."""
    x -= x.max(-1, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(-1, keepdims=True)
    return x


@dataclass
class ContextCache:
    """Keys and values of every layer, for one denoising loop.

    A full pass fills it; its query positions become the cache's `slots`, the only rows a
    cached step may recompute. A cached step recomputes the slots it is asked about plus
    those whose token changed since their keys and values were last computed (a slot the
    sampler just committed); the others keep theirs (dKV-Cache's delayed caching of decoded
    tokens). Valid while the canvas keeps its shape and padding, its tokens outside the slots
    stay as they were, the asked positions are slots, and fewer than `refresh_every` steps
    have passed since the full pass.
    """

    refresh_every: int  # steps per full pass (1: every step is a full pass)
    keys: list[F32] = field(default_factory=list)  # per layer (B, H, T, hd)
    values: list[F32] = field(default_factory=list)  # per layer (B, H, T, hd)
    canvas: I64 | None = None  # (B, T) tokens as of their keys' and values' last computation
    attention: npt.NDArray[Any] | None = None  # (B, T) padding mask at the last full pass
    slots: I64 | None = None  # (K,) the query positions of the last full pass
    age: int = 0  # steps since the last full pass
    full_passes: int = 0  # statistics
    slot_passes: int = 0
    rows_computed: int = 0  # canvas rows run through the layers, all passes

    def usable(self, canvas: I64, attention: npt.NDArray[Any], wanted: I64) -> bool:
        if self.canvas is None or self.attention is None or self.slots is None:
            return False
        if self.age + 1 >= self.refresh_every:
            return False
        if self.canvas.shape != canvas.shape or not np.array_equal(self.attention, attention):
            return False
        if not np.isin(wanted, self.slots).all():
            return False
        fixed = np.ones(canvas.shape[1], dtype=bool)
        fixed[self.slots] = False
        return np.array_equal(self.canvas[:, fixed], canvas[:, fixed])

    def stale_rows(self, canvas: I64, wanted: I64) -> I64:
        """Sorted rows a cached step computes: the wanted slots and slots whose token changed."""
        assert self.canvas is not None and self.slots is not None
        changed = (self.canvas[:, self.slots] != canvas[:, self.slots]).any(0)
        rows: I64 = np.union1d(wanted, self.slots[changed])
        return rows


@dataclass
class Layer:
    """One encoder layer's weights, matrices stored transposed (x @ w) for row-major matmuls."""

    attn_norm: F32 | None  # (D,); None in the first layer, whose input is the normed embedding
    wqkv: F32  # (D, 3D)
    wo: F32  # (D, D)
    mlp_norm: F32  # (D,)
    wi: F32  # (D, 2I) GeGLU input: the first half is the input, the second the gate
    mlp_out: F32  # (I, D)
    local: bool  # sliding-window attention (else global)


def read_safetensors(path: Path) -> dict[str, F32]:
    """Every tensor of a safetensors file as float32; bf16 files (numpy has no bf16) widened."""
    with path.open("rb") as fh:
        (size,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(size))
    header.pop("__metadata__", None)
    if not any(info["dtype"] == "BF16" for info in header.values()):
        from safetensors.numpy import load_file

        return {k: v.astype(np.float32, copy=False) for k, v in load_file(str(path)).items()}
    raw = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + size)
    kinds = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16}
    out: dict[str, F32] = {}
    for name, info in header.items():
        lo, hi = info["data_offsets"]
        data = np.frombuffer(raw[lo:hi], dtype=kinds[info["dtype"]])
        if info["dtype"] == "BF16":  # the high half of a float32
            data = (data.astype(np.uint32) << 16).view(np.float32)
        out[name] = data.astype(np.float32).reshape(info["shape"])
    return out


class ModernBertMaskedLM:
    """Inference forward of transformers' ModernBertForMaskedLM, in numpy (float32)."""

    def __init__(self, cfg: ModernBertConfig, weights: dict[str, F32]) -> None:
        assert len(cfg.layer_types) == cfg.num_hidden_layers
        self.cfg = cfg
        w = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in weights.items()}
        self.embedding = w["model.embeddings.tok_embeddings.weight"]  # (V, D)
        self.embedding_norm = w["model.embeddings.norm.weight"]
        self.layers = [
            Layer(attn_norm=w.get(f"model.layers.{i}.attn_norm.weight") if i else None,
                  wqkv=np.ascontiguousarray(w[f"model.layers.{i}.attn.Wqkv.weight"].T),
                  wo=np.ascontiguousarray(w[f"model.layers.{i}.attn.Wo.weight"].T),
                  mlp_norm=w[f"model.layers.{i}.mlp_norm.weight"],
                  wi=np.ascontiguousarray(w[f"model.layers.{i}.mlp.Wi.weight"].T),
                  mlp_out=np.ascontiguousarray(w[f"model.layers.{i}.mlp.Wo.weight"].T),
                  local=cfg.layer_types[i] == "sliding_attention")
            for i in range(cfg.num_hidden_layers)]
        self.final_norm = w["model.final_norm.weight"]
        self.head_dense = np.ascontiguousarray(w["head.dense.weight"].T)  # (D, D)
        self.head_norm = w["head.norm.weight"]
        # Tied to the embedding unless the file has its own decoder.
        self.decoder = np.ascontiguousarray(w.get("decoder.weight", self.embedding).T)  # (D, V)
        zeros = np.zeros(cfg.vocab_size, dtype=np.float32)
        self.decoder_bias = w.get("decoder.bias", zeros) if cfg.decoder_bias else zeros  # (V,)
        head_dim = cfg.hidden_size // cfg.num_attention_heads
        self.tables = {  # keyed by `local`: (max positions, hd) cos and sin
            False: rotary_tables(cfg.global_rope_theta, head_dim, cfg.max_position_embeddings),
            True: rotary_tables(cfg.local_rope_theta, head_dim, cfg.max_position_embeddings)}

    @classmethod
    def from_folder(cls, folder: Path) -> ModernBertMaskedLM:
        """Load config.json and model.safetensors (weights as float32)."""
        cfg = ModernBertConfig.from_json(json.loads((folder / "config.json").read_text()))
        weights = read_safetensors(folder / "model.safetensors")
        need = ["model.embeddings.tok_embeddings.weight", "model.final_norm.weight", "head.dense.weight"]
        missing = [k for k in need if k not in weights]
        if missing:
            raise ValueError(f"weights do not fit: missing {missing[:3]}")
        try:
            return cls(cfg, weights)
        except KeyError as exc:
            raise ValueError(f"weights do not fit: missing {exc}") from exc

    def masks(self, attention: npt.NDArray[Any], rows: I64) -> dict[bool, F32 | None]:
        """Additive attention masks (B, 1, A, T) for query positions rows (A,); key by `local`.

        0 where a query may attend a key, -1e30 where not. Finite, not -inf: a padded query
        whose whole window is padding must not turn NaN (its NaN values would reach real rows
        as 0 * NaN); real rows give those keys exactly 0.
        """
        t = attention.shape[1]
        keys = attention.astype(bool)[:, None, None, :]  # (B, 1, 1, T)
        near = np.abs(rows[:, None] - np.arange(t)[None, :]) <= self.cfg.local_attention // 2  # (A, T)
        blocked = np.float32(-1e30)
        local = np.where(keys & near[None, None], np.float32(0), blocked)
        padded = not bool(keys.all())
        return {False: np.where(keys, np.float32(0), blocked) if padded else None, True: local}

    def attend(self, x: F32, layer: Layer, cos: F32, sin: F32, mask: F32 | None,
               cached: tuple[F32, F32] | None, at: I64, queries: I64 | None = None) -> tuple[F32, F32, F32]:
        """X (B, A, D) -> (B, Q, D), and the keys and values (B, H, T, hd) attended to.

        cached: the full canvas's keys and values; the A rows at positions `at` are replaced
        with fresh ones (in place) before attending. None: x is the whole canvas.
        queries: the Q of the A rows whose output is wanted (None: all); every row still
        gets fresh keys and values.
        """
        b, a, d = x.shape
        heads = self.cfg.num_attention_heads
        qkv = (x.reshape(b * a, d) @ layer.wqkv).reshape(b, a, 3, heads, d // heads)
        qkv = qkv.transpose(2, 0, 3, 1, 4)  # (3, B, H, A, hd)
        k, v = rotate(qkv[1], cos, sin), qkv[2]
        if queries is None:
            q = rotate(qkv[0], cos, sin)
        else:
            q = rotate(qkv[0][:, :, queries], cos[queries], sin[queries])
            mask = None if mask is None else mask[:, :, queries]
        if cached is not None:
            keys, values = cached
            keys[:, :, at] = k
            values[:, :, at] = v
            k, v = keys, values
        scale = np.float32(1 / math.sqrt(d // heads))
        scores = ((q * scale) @ k.swapaxes(-1, -2)).astype(np.float32, copy=False)  # (B, H, Q, T)
        if mask is not None:
            scores += mask
        out = softmax_(scores) @ v  # (B, H, Q, hd)
        return out.transpose(0, 2, 1, 3).reshape(-1, d) @ layer.wo, k, v

    def __call__(self, canvas: I64, attention: npt.NDArray[Any], positions: I64,
                 cache: ContextCache | None = None) -> F32:
        """Logits (B, K, V) at positions (B, K) of canvas (B, T) with padding mask attention (B, T).

        With a usable cache only the rows at positions (the same in every row, all among the
        cache's slots) and the slots changed since their last computation go through the
        layers (`ContextCache.stale_rows`); otherwise the whole canvas does, and refills it.
        """
        b, t = canvas.shape
        assert positions.shape[0] == b and t <= self.cfg.max_position_embeddings
        eps = self.cfg.norm_eps
        wanted = positions[0]
        partial = cache is not None and bool((positions == wanted).all()) and cache.usable(
            canvas, attention, wanted)
        # (A,) canvas positions computed
        rows = cache.stale_rows(canvas, wanted) if partial and cache is not None else np.arange(t)
        x = layer_norm(self.embedding[canvas[:, rows]], self.embedding_norm, eps)  # (B, A, D)
        a, d = x.shape[1], x.shape[2]
        masks = self.masks(attention, rows)
        if cache is not None and not partial:
            cache.keys, cache.values = [], []
        # The last layer's output is read at the asked positions only: the other rows need
        # their keys and values there (attended to, cached), not attention or the MLP.
        same = bool((positions == wanted).all())
        last_rows = np.searchsorted(rows, wanted) if same else None  # (K,) indexes into rows
        for i, layer in enumerate(self.layers):
            cos, sin = (table[rows] for table in self.tables[layer.local])
            h = x if layer.attn_norm is None else layer_norm(x, layer.attn_norm, eps)
            cached = (cache.keys[i], cache.values[i]) if partial and cache is not None else None
            queries = last_rows if i == len(self.layers) - 1 else None
            out, k, v = self.attend(h, layer, cos, sin, masks[layer.local], cached, rows, queries)
            if cache is not None and not partial:
                cache.keys.append(np.ascontiguousarray(k))
                cache.values.append(np.ascontiguousarray(v))
            if queries is not None:
                x = x[:, queries]
            q = x.shape[1]
            x = x + out.reshape(b, q, d)
            inp, gate = np.split(layer_norm(x, layer.mlp_norm, eps).reshape(b * q, d) @ layer.wi, 2, axis=-1)
            x = x + ((gelu(inp) * gate) @ layer.mlp_out).reshape(b, q, d)
        if cache is not None:
            cache.rows_computed += a
        if partial:
            assert cache is not None and cache.canvas is not None
            cache.age += 1
            cache.slot_passes += 1
            cache.canvas[:, rows] = canvas[:, rows]  # these rows' keys and values are fresh now
        elif cache is not None:
            cache.canvas, cache.attention, cache.slots = canvas.copy(), attention.copy(), wanted.copy()
            cache.age = 0
            cache.full_passes += 1
        # (B, K, D): the last layer kept the asked rows only, unless rows ask different positions
        picked = x if last_rows is not None else np.take_along_axis(x, positions[:, :, None], axis=1)
        k = picked.shape[1]
        picked = layer_norm(picked, self.final_norm, eps).reshape(b * k, d)
        head = layer_norm(gelu(picked @ self.head_dense), self.head_norm, eps)
        logits: F32 = (head @ self.decoder + self.decoder_bias).reshape(b, k, -1)
        return logits  # (B, K, V)
