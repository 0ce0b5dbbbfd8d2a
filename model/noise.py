"""Training examples: canvases with infill-shaped holes and masked-diffusion noise.

A canvas is `[bos]? prefix | hole slots | suffix [eos]?`, the same layout the infill engine
builds at inference time. Prefix, middle and suffix are tokenized separately, as the engine
does, so token boundaries at the hole edges look the same in training and in use.

Hole shapes follow what editors ask for (rest of a line, a whole line, a block of lines
aligned to Python statements, a random span). Each hole is padded with `null` to a random
budget so the model learns where the middle ends (DreamOn, LLaDA's EOS padding). Hole slots
are masked with probability t ~ U(eps, 1) so partially committed holes are seen too; the
loss on masked slots is weighted 1/t (MDLM). A share of visible hole slots is replaced by
random tokens, with a loss on them, so the model can flag wrong visible tokens (drafts,
re-masking). A share of examples is plain MDLM over a whole window.
"""

from __future__ import annotations

import ast
import random
import re
from dataclasses import dataclass, fields, replace
from functools import cache

import torch
from tokenizers import Tokenizer

from .tokenizer import BOS, EOS, MASK, NULL, PAD


@dataclass(frozen=True)
class NoiseConfig:
    canvas: int = 256  # tokens per training canvas, hole and context included
    line_budget: int = 32  # max hole slots for line-shaped holes (the engine's default)
    block_budget: int = 96  # max hole slots for block holes
    p_rest_of_line: float = 0.30  # shares of hole shapes; the rest is random spans
    p_line: float = 0.30
    p_block: float = 0.25
    p_mdlm: float = 0.15  # share of plain masked-diffusion windows (no hole)
    p_replace_example: float = 0.3  # share of examples with uniform noise in visible slots
    replace_rate: float = 0.15  # share of visible slots replaced in those examples
    keep_weight: float = 0.5  # loss weight of the unreplaced visible slots in those examples
    p_draft_example: float = 0.15  # share of line holes seeded with a right or wrong draft
    t_min: float = 0.05  # lower bound of the mask rate t
    null_weight: float = 0.25  # loss weight of null (empty-slot) targets: easy, and plentiful
    # MDLM's 1/t weighting is the ELBO, but at this scale it let a few low-t tokens dominate
    # every batch and the model sat at unigram accuracy; False weights masked tokens equally.
    time_weighting: bool = False
    p_tight_budget: float = 0.5  # share of holes padded with only a few nulls (0..4)
    min_suffix_share: float = 0.15  # of the context budget, when the file has that much suffix
    max_suffix_share: float = 0.5
    # Context masking with a loss (BERT-style) in infill examples. Hole tokens alone give a
    # sparse, hard signal: measured, a hole-only mixture sat at unigram accuracy for hours,
    # while masking 15% of the context lets the model learn to read its neighbours.
    p_context_mask: float = 0.8  # share of infill examples whose context is also masked
    context_mask_rate: float = 0.15
    context_weight: float = 1.0  # total loss weight of the masked context, per example


def for_canvas(canvas: int) -> NoiseConfig:
    """The default noise for a canvas length: block holes keep at least 5/8 of it for context."""
    return NoiseConfig(canvas=canvas, block_budget=min(NoiseConfig.block_budget, canvas * 3 // 8))


def with_overrides(cfg: NoiseConfig, overrides: list[str]) -> NoiseConfig:
    """The config with FIELD=VALUE overrides applied (short comparison runs from the CLI)."""
    types = {f.name: f.type for f in fields(NoiseConfig)}
    changes: dict[str, object] = {}
    for item in overrides:
        name, sep, value = item.partition("=")
        if not sep or name not in types:
            raise ValueError(f"--noise expects FIELD=VALUE with a field of {sorted(types)}; got {item!r}")
        kind = types[name]
        if kind in ("bool", bool):
            changes[name] = value.lower() in ("1", "true", "yes")
        elif kind in ("int", int):
            changes[name] = int(value)
        else:
            changes[name] = float(value)
    return replace(cfg, **changes)  # type: ignore[arg-type]


@dataclass
class Example:
    input_ids: list[int]  # (T,) canvas with masks and noise
    targets: list[int]  # (T,) true token ids, -100 where there is no loss
    weights: list[float]  # (T,) loss weight per position


@cache
def line_starts(text: str) -> list[int]:
    """Offsets where lines begin; cached per file (texts are sampled many times)."""
    return [0] + [m.end() for m in re.finditer("\n", text)]


@cache
def statement_spans(text: str) -> list[tuple[int, int]]:
    """(first line, last line) of multi-line Python statements, 0-based, for block holes.

    Cached: parsing a large file for every block hole would dominate data loading.
    """
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    spans = []
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and node.end_lineno is not None:
            if node.end_lineno > node.lineno:
                spans.append((node.lineno - 1, node.end_lineno - 1))
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                first, last = body[0], body[-1]
                if last.end_lineno is not None:
                    spans.append((first.lineno - 1, last.end_lineno - 1))
    return spans


class HoleSampler:
    """Chooses hole character ranges in a source text."""

    def __init__(self, cfg: NoiseConfig, rng: random.Random) -> None:
        self.cfg = cfg
        self.rng = rng

    def rest_of_line(self, text: str, starts: list[int]) -> tuple[int, int] | None:
        line = self.rng.randrange(len(starts))
        begin = starts[line]
        end = text.find("\n", begin)
        end = len(text) if end < 0 else end
        content = text[begin:end]
        indent = len(content) - len(content.lstrip())
        if end - begin - indent < 2:
            return None
        # Cursor anywhere after the indentation; the middle is the rest of the line.
        cursor = self.rng.randrange(begin + indent, end - 1)
        return cursor, end

    def whole_line(self, text: str, starts: list[int]) -> tuple[int, int] | None:
        line = self.rng.randrange(len(starts))
        begin = starts[line]
        end = text.find("\n", begin)
        end = len(text) if end < 0 else end
        content = text[begin:end]
        if not content.strip():
            return None
        indent = len(content) - len(content.lstrip())
        if self.rng.random() < 0.5:
            # Editor after auto-indent: the cursor sits after the indentation.
            return begin + indent, end
        # Benchmark style: the middle is the whole line with its newline.
        return begin, min(end + 1, len(text))

    def block(self, text: str, starts: list[int]) -> tuple[int, int] | None:
        spans = statement_spans(text)
        if spans and self.rng.random() < 0.8:
            first, last = self.rng.choice(spans)
        else:
            first = self.rng.randrange(len(starts))
            last = min(len(starts) - 1, first + self.rng.randint(1, 6))
        begin = starts[first]
        end = starts[last + 1] if last + 1 < len(starts) else len(text)
        if self.rng.random() < 0.5:
            content = text[begin:end]
            begin += len(content) - len(content.lstrip(" \t"))
        return (begin, end) if end > begin else None

    def random_span(self, text: str) -> tuple[int, int] | None:
        length = self.rng.randint(1, 120)
        if len(text) <= length:
            return None
        begin = self.rng.randrange(len(text) - length)
        return begin, begin + length


class ExampleMaker:
    """Turns source files into training canvases."""

    def __init__(self, tok: Tokenizer, cfg: NoiseConfig, seed: int) -> None:
        self.tok = tok
        self.cfg = cfg
        self.rng = random.Random(seed)
        self.holes = HoleSampler(cfg, self.rng)
        self.vocab = tok.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        return self.tok.encode(text).ids if text else []

    def make(self, text: str) -> Example | None:
        r = self.rng.random()
        c = self.cfg
        if r < c.p_mdlm:
            return self.mdlm_window(text)
        span, budget = self.pick_hole(text, self.line_starts(text))
        if span is None:
            return None
        return self.infill(text, span, budget)

    def pick_hole(self, text: str, starts: list[int]) -> tuple[tuple[int, int] | None, int]:
        """A hole shape drawn from the configured shares: (char span or None, slot budget)."""
        c = self.cfg
        r = self.rng.random() * (1 - c.p_mdlm)
        if r < c.p_rest_of_line:
            return self.holes.rest_of_line(text, starts), c.line_budget
        if r < c.p_rest_of_line + c.p_line:
            return self.holes.whole_line(text, starts), c.line_budget
        if r < c.p_rest_of_line + c.p_line + c.p_block:
            return self.holes.block(text, starts), c.block_budget
        return self.holes.random_span(text), c.block_budget

    def line_starts(self, text: str) -> list[int]:
        return line_starts(text)  # cached per file: texts are whole files, sampled many times

    def infill(self, text: str, span: tuple[int, int], budget: int) -> Example | None:
        begin, end = span
        middle = self.encode(text[begin:end])
        if not middle or len(middle) > budget:
            return None
        slots = self.hole_slots(len(middle), budget)
        context = self.cfg.canvas - slots - 2
        prefix_text, suffix_text = text[:begin], text[end:]
        # Encode only a window of context (about 6 bytes/token is generous) for speed.
        prefix_all = self.encode(prefix_text[-context * 6 :])
        suffix_all = self.encode(suffix_text[: context * 6])
        return self.assemble(
            prefix_all, middle, suffix_all, slots, budget, text,
            prefix_whole=len(prefix_text) <= context * 6,
            suffix_whole=len(suffix_text) <= context * 6,
        )

    def hole_slots(self, n_middle: int, budget: int) -> int:
        """Slots: the middle plus null padding, either a few nulls or up to the full budget.

        So the model learns both where a middle ends and how a long empty tail looks.
        """
        if self.rng.random() < self.cfg.p_tight_budget:
            return min(budget, n_middle + self.rng.randint(0, 4))
        return self.rng.randint(n_middle, budget)

    def assemble(
        self, prefix_all: list[int], middle: list[int], suffix_all: list[int], slots: int,
        budget: int, text: str, prefix_whole: bool, suffix_whole: bool,
    ) -> Example:
        """The canvas from token ids of the context around the hole and of the middle.

        `prefix_whole` / `suffix_whole`: the ids reach the start / end of the file, so a
        canvas that holds all of them starts with bos / ends with eos. `text` is the source the
        hole was cut from (wrong drafts are other lines of it).
        """
        context = self.cfg.canvas - slots - 2
        share = self.rng.uniform(self.cfg.min_suffix_share, self.cfg.max_suffix_share)
        n_suffix = min(len(suffix_all), int(context * share))
        n_prefix = min(len(prefix_all), context - n_suffix)
        n_suffix = min(len(suffix_all), context - n_prefix)
        prefix = prefix_all[len(prefix_all) - n_prefix :]
        suffix = suffix_all[:n_suffix]
        head = [BOS] if prefix_whole and n_prefix == len(prefix_all) else []
        tail = [EOS] if suffix_whole and n_suffix == len(suffix_all) else []

        truth = middle + [NULL] * (slots - len(middle))
        if budget == self.cfg.line_budget and self.rng.random() < self.cfg.p_draft_example:
            noisy, weights = self.draft_slots(text, truth)
        else:
            noisy, weights = self.corrupt_slots(truth)
        input_ids = head + prefix + noisy + suffix + tail
        n_before = len(head) + len(prefix)
        targets = [-100] * len(input_ids)
        loss_w = [0.0] * len(input_ids)
        if self.rng.random() < self.cfg.p_context_mask:
            after_hole = n_before + slots
            context_at = [*range(len(head), n_before), *range(after_hole, after_hole + len(suffix))]
            self.mask_context(input_ids, targets, loss_w, context_at)
        for i, (tgt, w) in enumerate(zip(truth, weights, strict=True)):
            if w > 0:
                targets[n_before + i] = tgt
                scale = self.cfg.null_weight if tgt == NULL else 1.0
                loss_w[n_before + i] = scale * w / slots
        return Example(input_ids, targets, loss_w)

    def mask_context(
        self, input_ids: list[int], targets: list[int], loss_w: list[float], positions: list[int]
    ) -> None:
        """Mask a share of context tokens in place, with a loss on them."""
        chosen = [i for i in positions if self.rng.random() < self.cfg.context_mask_rate]
        for i in chosen:
            targets[i] = input_ids[i]
            input_ids[i] = MASK
            loss_w[i] = self.cfg.context_weight / len(chosen)

    def draft_slots(self, text: str, truth: list[int]) -> tuple[list[int], list[float]]:
        """Slots seeded with a draft, as the engine's `verify` policy does, some masked.

        Half the drafts are right (the true middle), half are another line of the same file:
        what a wrong draft from the workspace looks like. Every slot carries a loss, so the
        model learns both to keep a right draft and to reject a plausible wrong one.
        """
        draft = truth
        if self.rng.random() < 0.5:
            starts = self.line_starts(text)
            line = self.rng.randrange(len(starts))
            end = text.find("\n", starts[line])
            other = self.encode(text[starts[line] : end if end >= 0 else len(text)].lstrip())
            draft = (other + [NULL] * len(truth))[: len(truth)]
        t = self.rng.uniform(0.0, 0.5)
        noisy = [MASK if self.rng.random() < t else tok for tok in draft]
        return noisy, [1.0] * len(truth)

    def corrupt_slots(self, truth: list[int]) -> tuple[list[int], list[float]]:
        """Mask each slot with prob t; maybe replace some visible ones (loss on all visible then)."""
        t = self.rng.uniform(self.cfg.t_min, 1.0)
        replace = self.rng.random() < self.cfg.p_replace_example
        noisy, weights = [], []
        for tok_id in truth:
            if self.rng.random() < t:
                noisy.append(MASK)
                weights.append(1.0 / t if self.cfg.time_weighting else 1.0)
            elif replace and self.rng.random() < self.cfg.replace_rate:
                noisy.append(self.rng.randrange(len(SPECIAL_IDS), self.vocab))
                weights.append(1.0)
            else:
                noisy.append(tok_id)
                # Where visible slots may be wrong, a loss on the right ones too: otherwise the
                # model only ever learns "a visible slot is noise" and verifying a draft (keep
                # the tokens it agrees with) cannot work.
                weights.append(self.cfg.keep_weight if replace else 0.0)
        return noisy, weights

    def mdlm_window(self, text: str) -> Example | None:
        ids = self.encode(text[: self.cfg.canvas * 8]) if len(text) < 4096 else None
        if ids is None:
            start = self.rng.randrange(max(1, len(text) - self.cfg.canvas * 6))
            ids = self.encode(text[start : start + self.cfg.canvas * 6])
        return self.mask_window(ids[: self.cfg.canvas])

    def mask_window(self, ids: list[int]) -> Example | None:
        """Plain MDLM on a window of ids: mask each with probability t, loss on the masked."""
        if len(ids) < 16:
            return None
        t = self.rng.uniform(self.cfg.t_min, 1.0)
        input_ids, targets, weights = [], [], []
        for tok_id in ids:
            if self.rng.random() < t:
                input_ids.append(MASK)
                targets.append(tok_id)
                weights.append(1.0 / (t * len(ids)) if self.cfg.time_weighting else 1.0 / len(ids))
            else:
                input_ids.append(tok_id)
                targets.append(-100)
                weights.append(0.0)
        return Example(input_ids, targets, weights)


SPECIAL_IDS = (PAD, MASK, NULL, BOS, EOS)


def collate(examples: list[Example], canvas: int) -> dict[str, torch.Tensor]:
    """Pad examples to one (B, T) batch."""
    n = len(examples)
    input_ids = torch.full((n, canvas), PAD, dtype=torch.long)
    targets = torch.full((n, canvas), -100, dtype=torch.long)
    weights = torch.zeros((n, canvas), dtype=torch.float32)
    attention = torch.zeros((n, canvas), dtype=torch.long)
    for i, ex in enumerate(examples):
        k = len(ex.input_ids)
        assert k <= canvas, (k, canvas)
        input_ids[i, :k] = torch.tensor(ex.input_ids)
        targets[i, :k] = torch.tensor(ex.targets)
        weights[i, :k] = torch.tensor(ex.weights)
        attention[i, :k] = 1
    return {"input_ids": input_ids, "targets": targets, "weights": weights, "attention_mask": attention}
