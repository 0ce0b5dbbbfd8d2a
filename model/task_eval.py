"""The denoiser alone on infill tasks (prompt, suffix, canonical_solution, kind): a quick eval.

For a machine without the engine (a GPU image without tree-sitter, see `gpu_run.py`): no
drafts, no syntax checks, no ranking, just the model. Per task, the canvas is the engine's
layout (`[bos] prefix | hole slots | suffix [eos]`, slots = the checkpoint's line or block
budget). Figures:
- `hole_loss`, `hole_token_acc`: cross-entropy and argmax accuracy on the middle's tokens with
  every slot masked (one forward);
- `single_line_exact`: a greedy denoising loop (each step commits every open slot whose top
  probability is at least 0.9, and at least the most confident one; Fast-dLLM's threshold
  rule), then the fill up to its first line break must equal the middle (trailing whitespace
  ignored), on tasks whose middle is one line.
The full engine evaluation (`diffill eval`) runs on the CPU, where the engine is installed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from tokenizers import Tokenizer
from transformers import ModernBertForMaskedLM

from .checkpoint import DenoiserMeta
from .tokenizer import BOS, EOS, MASK, NULL, PAD

FORBIDDEN = (PAD, MASK, BOS, EOS)
COMMIT_THRESHOLD = 0.9
CONTEXT_CHARS = 4000  # of prompt and suffix encoded: more than a canvas holds


@dataclass
class Canvas:
    ids: list[int]  # (T,) with the slots masked
    slot_start: int  # first slot position
    middle: list[int]  # the middle's ids (may be longer than the slots)


def task_canvas(tok: Tokenizer, task: dict[str, Any], canvas: int, slots: int) -> Canvas:
    prompt, suffix = str(task["prompt"]), str(task["suffix"])
    prefix_ids = tok.encode(prompt[-CONTEXT_CHARS:]).ids
    suffix_ids = tok.encode(suffix[:CONTEXT_CHARS]).ids
    prompt_whole = bool(task.get("prompt_whole", True)) and len(prompt) <= CONTEXT_CHARS
    suffix_whole = bool(task.get("suffix_whole", True)) and len(suffix) <= CONTEXT_CHARS
    context = canvas - slots - 2
    n_suffix = min(len(suffix_ids), context // 3)
    n_prefix = min(len(prefix_ids), context - n_suffix)
    n_suffix = min(len(suffix_ids), context - n_prefix)
    head = [BOS] if prompt_whole and n_prefix == len(prefix_ids) else []
    tail = [EOS] if suffix_whole and n_suffix == len(suffix_ids) else []
    prefix = prefix_ids[len(prefix_ids) - n_prefix :]
    ids = head + prefix + [MASK] * slots + suffix_ids[:n_suffix] + tail
    middle = tok.encode(str(task["canonical_solution"])).ids
    return Canvas(ids, len(head) + len(prefix), middle)


def is_single_line(task: dict[str, Any]) -> bool:
    return "\n" not in str(task["canonical_solution"]).rstrip("\n")


class SlotModel:
    """Logits at slot positions, on the model's device, under bf16 autocast when asked."""

    def __init__(self, model: ModernBertForMaskedLM, bf16: bool) -> None:
        self.model = model.eval()
        self.device = next(model.parameters()).device
        self.bf16 = bf16

    @torch.no_grad()
    def logits(self, canvas: torch.Tensor, attention: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """(B, K, V) float logits at positions (B, K) of canvas (B, T); forbidden ids -inf."""
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            hidden = self.model.model(input_ids=canvas, attention_mask=attention).last_hidden_state
            index = positions.unsqueeze(-1).expand(-1, -1, hidden.shape[-1])  # (B, K, D)
            out = self.model.decoder(self.model.head(torch.gather(hidden, 1, index)))
        out = out.float()
        out[..., list(FORBIDDEN)] = -math.inf
        return out


def pad_batch(canvases: Sequence[Canvas], slots: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    width = max(len(c.ids) for c in canvases)
    ids = torch.full((len(canvases), width), PAD, dtype=torch.long)
    attention = torch.zeros((len(canvases), width), dtype=torch.long)
    for i, c in enumerate(canvases):
        ids[i, : len(c.ids)] = torch.tensor(c.ids)
        attention[i, : len(c.ids)] = 1
    starts = torch.tensor([c.slot_start for c in canvases])
    positions = starts[:, None] + torch.arange(slots)[None, :]  # (B, K)
    return ids.to(device), attention.to(device), positions.to(device)


def greedy_fill(
    sm: SlotModel, ids: torch.Tensor, attention: torch.Tensor, positions: torch.Tensor
) -> torch.Tensor:
    """Denoise all-mask slots: (B, K) ids; at most K forwards."""
    ids = ids.clone()
    rows = torch.arange(ids.shape[0], device=ids.device)
    open_ = torch.ones(positions.shape, dtype=torch.bool, device=ids.device)  # (B, K)
    for _ in range(positions.shape[1]):
        probs = sm.logits(ids, attention, positions).softmax(-1)
        conf, best = probs.max(-1)  # (B, K)
        conf = torch.where(open_, conf, torch.full_like(conf, -1.0))
        commit = open_ & (conf >= COMMIT_THRESHOLD)
        top = conf.argmax(-1)  # (B,)
        commit[rows, top] |= open_[rows, top]
        current = torch.gather(ids, 1, positions)
        ids.scatter_(1, positions, torch.where(commit, best, current))
        open_ &= ~commit
        if not open_.any():
            break
    return torch.gather(ids, 1, positions)


def evaluate_tasks(
    model: ModernBertForMaskedLM, tok: Tokenizer, meta: DenoiserMeta, tasks: list[dict[str, Any]],
    bf16: bool = False, batch: int = 64,
) -> dict[str, Any]:
    """Figures over all tasks and per kind (see the module docstring)."""
    sm = SlotModel(model, bf16)
    per_kind: dict[str, dict[str, float]] = {}

    def bump(kind: str, key: str, value: float) -> None:
        for name in (kind, "all"):
            per_kind.setdefault(name, {})
            per_kind[name][key] = per_kind[name].get(key, 0.0) + value

    groups: dict[int, list[dict[str, Any]]] = {}
    for task in tasks:
        slots = meta.line_budget if is_single_line(task) else meta.block_budget
        groups.setdefault(slots, []).append(task)
    for slots, group in groups.items():
        for i in range(0, len(group), batch):
            chunk = group[i : i + batch]
            canvases = [task_canvas(tok, t, meta.canvas, slots) for t in chunk]
            ids, attention, positions = pad_batch(canvases, slots, sm.device)
            logits = sm.logits(ids, attention, positions)  # (B, K, V)
            for b, (task, c) in enumerate(zip(chunk, canvases, strict=True)):
                kind = str(task.get("kind") or "task")
                bump(kind, "tasks", 1)
                if not c.middle or len(c.middle) > slots:
                    bump(kind, "too_long", 1)
                    continue
                target = torch.tensor(c.middle, device=logits.device)
                row = logits[b, : len(c.middle)]
                bump(kind, "ce_sum", float(F.cross_entropy(row, target, reduction="sum")))
                bump(kind, "hits", float((row.argmax(-1) == target).sum()))
                bump(kind, "tokens", len(c.middle))
            single = [b for b, t in enumerate(chunk) if is_single_line(t)]
            if not single:
                continue
            fills = greedy_fill(sm, ids[single], attention[single], positions[single]).tolist()
            for b, fill in zip(single, fills, strict=True):
                task = chunk[b]
                text = tok.decode([t for t in fill if t != NULL], skip_special_tokens=False)
                first_line = text.split("\n", 1)[0]
                exact = first_line.rstrip() == str(task["canonical_solution"]).rstrip()
                kind = str(task.get("kind") or "task")
                bump(kind, "single_line", 1)
                bump(kind, "exact", float(exact))
    out: dict[str, Any] = {}
    for kind, v in sorted(per_kind.items()):
        out[kind] = {
            "tasks": int(v.get("tasks", 0)),
            "middle_longer_than_slots": int(v.get("too_long", 0)),
            "hole_loss": round(v["ce_sum"] / v["tokens"], 4) if v.get("tokens") else None,
            "hole_token_acc": round(v["hits"] / v["tokens"], 4) if v.get("tokens") else None,
            "single_line_tasks": int(v.get("single_line", 0)),
            "single_line_exact": round(v["exact"] / v["single_line"], 4) if v.get("single_line") else None,
        }
    return out
