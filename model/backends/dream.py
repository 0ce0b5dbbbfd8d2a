"""Dream / DiffuCoder / DreamOn: masked diffusion on a bidirectional Qwen2.

Dream was initialised from an autoregressive Qwen2.5, so its output at position i-1 predicts
token i: logits are shifted right by one before use (HKUNLP/Dream, generation_utils.py).

Two ways to run the weights. By default they load into transformers' own Qwen2 with every
attention mask bidirectional (`DreamQwen2`): Dream's `modeling_dream.py` is Qwen2 with
`is_causal = False` and the same weight names, so no code from the checkpoint runs. With the
user's explicit `trust_remote_code`, the checkpoint's own `modeling_dream.py` is used instead.
Both take Dream's calling convention: (input_ids, attention_mask, position_ids), the mask being
the string "full" or a (B, 1, T, T) bool of allowed query/key pairs.

Dream and DiffuCoder run through `infill.sampler` (entropy / margin / confidence commit rules).
DreamOn (DreamLM/DreamOn) adds two tokens that change the hole's length while it is being
filled: a slot predicted as `<|expand|>` becomes two masks, one predicted as `<|delete|>`
disappears. That needs a canvas whose length changes between steps, so `DreamOnDenoiser`
runs its own step loop (`sample`); it starts from a few masks and lets the model size the hole.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from transformers import Qwen2ForCausalLM

from ..denoiser import LoopResult, Poll, SpecialIds
from ..sampler_config import SamplerConfig
from .common import (
    BOS_NAMES,
    EOS_NAMES,
    MASK_NAMES,
    HFDenoiser,
    OwnLoop,
    all_ids,
    commit_scores,
    draw,
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

EXPAND_NAMES = ("<|expand|>",)
DELETE_NAMES = ("<|delete|>",)
DREAMON_START_SLOTS = 8  # masks a DreamOn hole starts with before it expands or shrinks


class DreamQwen2(Qwen2ForCausalLM):
    """Dream's forward on transformers' Qwen2 code: attention is bidirectional everywhere."""

    def forward(self, input_ids: torch.Tensor, attention_mask: Any = None,  # type: ignore[override]
                position_ids: torch.Tensor | None = None, **kwargs: Any) -> Any:
        b, t = input_ids.shape
        if attention_mask is None or isinstance(attention_mask, str):  # "full"
            attention_mask = torch.ones(b, 1, t, t, dtype=torch.bool, device=input_ids.device)
        # A ready 4-D mask is used as given (no causal part is added by transformers).
        bias = torch.zeros(attention_mask.shape, dtype=self.dtype, device=input_ids.device)
        bias = bias.masked_fill(~attention_mask, torch.finfo(self.dtype).min)
        return super().forward(input_ids=input_ids, attention_mask=bias, position_ids=position_ids, **kwargs)


def dream_ids(folder: Path, tok: Any) -> tuple[SpecialIds, list[int]]:
    """Special ids and the ids folded into null (Dream pads unused positions with end of text)."""
    config = read_json(folder / "config.json")
    gen = read_json(folder / "generation_config.json")
    mask = pick(first_id(config.get("mask_token_id")), first_id(gen.get("mask_token_id")),
                tokenizer_config_id(folder, tok, "mask_token"), token_id(tok, MASK_NAMES))
    eos_all = all_ids(config.get("eos_token_id")) + all_ids(gen.get("eos_token_id"))
    eos = pick(eos_all[0] if eos_all else None, tokenizer_config_id(folder, tok, "eos_token"),
               token_id(tok, EOS_NAMES))
    pad = pick(first_id(config.get("pad_token_id")), first_id(gen.get("pad_token_id")),
               tokenizer_config_id(folder, tok, "pad_token"), eos)
    bos = pick(tokenizer_config_id(folder, tok, "bos_token"), first_id(config.get("bos_token_id")),
               first_id(gen.get("bos_token_id")), token_id(tok, BOS_NAMES))
    pad_id = require(pad, "pad", folder)
    ids = SpecialIds(pad=pad_id, mask=require(mask, "mask", folder), null=pad_id,
                     bos=require(bos, "bos", folder), eos=require(eos, "eos", folder))
    im_end = tok.token_to_id("<|im_end|>")
    aliases = [*eos_all, ids.eos] + ([im_end] if im_end is not None else [])
    return ids, aliases


class DreamDenoiser(HFDenoiser):
    """Dream and DiffuCoder: mask noise, logits shifted right by one."""

    noise = "mask"
    logit_shift = 1

    @classmethod
    def from_folder(
        cls, folder: Path, device: str, dtype: torch.dtype, trust_remote_code: bool,
        quantization_config: Any = None,
    ) -> DreamDenoiser:
        from transformers import AutoModel, Qwen2Config

        tok = load_hf_tokenizer(folder, trust_remote_code, fallback="Qwen2Tokenizer")
        ids, aliases = dream_ids(folder, tok)
        if trust_remote_code:  # the checkpoint's own modeling_dream.py
            model = load_weights(AutoModel, folder, device=device, dtype=dtype, trust_remote_code=True,
                                 quantization_config=quantization_config)
        else:  # the same weights on transformers' Qwen2, made bidirectional
            config = Qwen2Config.from_dict(read_json(folder / "config.json"))
            model = load_weights(DreamQwen2, folder, device=device, dtype=dtype,
                                 quantization_config=quantization_config, config=config)
        gen = read_json(folder / "generation_config.json")
        expand = pick(first_id(gen.get("expand_token_id")), token_id(tok, EXPAND_NAMES))
        delete = pick(first_id(gen.get("delete_token_id")), token_id(tok, DELETE_NAMES))
        if expand is not None and delete is not None:
            return DreamOnDenoiser(model, tok, ids, device, null_aliases=aliases, expand=expand,
                                   delete=delete)
        return cls(model, tok, ids, device, null_aliases=aliases)

    def forward_logits(self, canvas: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
        """Aligned logits (B, T, V_model): row i predicts canvas token i."""
        canvas = canvas.to(self.device)
        attention = attention.to(self.device)
        if bool(attention.all()):
            out = self.model(canvas, "full", None).logits
        else:
            # Dream's own recipe: a pairwise padding mask and positions that skip padding.
            positions = (attention.long().cumsum(-1) - 1).masked_fill(~attention.bool(), 1)
            out = self.model(canvas, key_padding_pairs(attention), positions).logits
        return torch.cat([out[:, :1], out[:, :-1]], dim=1)  # output i-1 predicts token i

    @torch.no_grad()  # not inference_mode: callers edit the returned logits in place
    def torch_logits(
        self, canvas: torch.Tensor, attention: torch.Tensor, positions: torch.Tensor
    ) -> torch.Tensor:
        full = self.forward_logits(canvas, attention)
        return self.fit(gather_positions(full, positions.to(self.device)))


class DreamOnDenoiser(OwnLoop, DreamDenoiser):
    """DreamOn: Dream whose holes grow (`<|expand|>`) and shrink (`<|delete|>`) while filling."""

    def __init__(self, *args: Any, expand: int, delete: int, start_slots: int = DREAMON_START_SLOTS,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.expand = expand
        self.delete = delete
        self.start_slots = start_slots
        # The mask path (pseudo-likelihood scoring) must never pick the length tokens.
        self.forbidden = tuple(sorted({*self.forbidden, expand, delete}))

    @torch.no_grad()
    def torch_sample(
        self, canvas: torch.Tensor, attention: torch.Tensor, slot_positions: list[int],
        cfg: SamplerConfig, poll: Poll, allowed_first: torch.Tensor | None,
    ) -> LoopResult:
        """Fill each row's hole; the hole may end up shorter or longer than its slots.

        A row is at most `len(slot_positions)` tokens long; a row that ends shorter gets a
        trailing null, which tells the engine the hole is complete.
        """
        start, k = slot_positions[0], len(slot_positions)
        rows: list[list[int]] = []
        logprobs: list[float] = []
        steps = committed = 0
        hurried = False
        for r in range(canvas.shape[0]):
            length = int(attention[r].sum())
            row = canvas[r, :length].tolist()
            prefix, hole, suffix = row[:start], row[start : start + k], row[start + k :]
            if all(t == self.ids.mask for t in hole):
                hole = [self.ids.mask] * min(k, self.start_slots)
            out = self._fill_row(prefix, hole, suffix, k, cfg, poll, allowed_first,
                                 torch.Generator().manual_seed(cfg.seed + r), steps)
            if out is None:
                return LoopResult([], [], steps, committed, cancelled=True)
            hole, logp, row_steps, row_commits, row_hurried = out
            steps += row_steps
            committed += row_commits
            hurried = hurried or row_hurried
            ended = len(hole) < k
            rows.append(hole + ([self.ids.null] if ended else []))
            logprobs.append(logp)
            fitted = (hole + [self.ids.null] * k)[:k]
            canvas[r, start : start + k] = torch.tensor(fitted, dtype=canvas.dtype)
        return LoopResult(rows, logprobs, steps, committed, hurried=hurried)

    def _fill_row(
        self, prefix: list[int], hole: list[int], suffix: list[int], max_len: int, cfg: SamplerConfig,
        poll: Poll, allowed_first: torch.Tensor | None, gen: torch.Generator, steps_before: int,
    ) -> tuple[list[int], float, int, int, bool] | None:
        """(hole, log-probability, steps, commits, hurried) for one row; None when cancelled."""
        mask = self.ids.mask
        expand_budget = max_len  # DreamOn bounds expansions; the hole length is bounded too
        logp = 0.0
        steps = commits = 0
        hurried = False
        while mask in hole:
            status = poll()
            if status == "cancel" or (status == "expire" and steps + steps_before == 0):
                return None
            last = steps + 1 >= cfg.max_steps or status == "expire"
            hurried = hurried or status == "expire"
            open_at = [i for i, t in enumerate(hole) if t == mask]
            x = torch.tensor([prefix + hole + suffix])
            full = self.forward_logits(x, torch.ones_like(x))[0]  # (T, V)
            steps += 1
            lg = self.fit(full[[len(prefix) + i for i in open_at]])  # (O, V_tok)
            lg[:, [i for i in self.forbidden if i not in (self.expand, self.delete)]] = -math.inf
            if last or len(hole) >= max_len or expand_budget <= 0:
                lg[:, self.expand] = -math.inf
            if allowed_first is not None and open_at[0] == 0:
                lg[0, ~allowed_first.to(lg.device)] = -math.inf  # token healing: first slot
            temp = cfg.temperature if cfg.temperature > 0 else 1.0
            probs = torch.softmax(lg / temp, -1)
            choice = draw(probs, cfg.temperature, cfg.top_p, gen)  # (O,)
            score = commit_scores(probs, cfg.rule)
            commit = score >= cfg.threshold
            commit[int(score.argmax())] = True  # at least one per step
            if last:
                commit[:] = True
            for j in torch.nonzero(commit).flatten().tolist():
                hole[open_at[j]] = int(choice[j])
                logp += math.log(max(float(probs[j, choice[j]]), 1e-12))
                commits += 1
            # Right to left, so earlier indices stay valid.
            for i in range(len(hole) - 1, -1, -1):
                if hole[i] == self.delete:
                    del hole[i]
                elif hole[i] == self.expand and expand_budget > 0 and len(hole) < max_len:
                    hole[i : i + 1] = [mask, mask]
                    expand_budget -= 1
                elif hole[i] == self.expand:
                    hole[i] = mask
            if last and mask in hole:  # an expansion after the cap cannot happen; be safe
                hole = [t for t in hole if t != mask]
        return hole, logp, steps, commits, hurried
