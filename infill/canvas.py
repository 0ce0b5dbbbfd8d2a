"""Canvas construction: text and a hole range -> prefix tokens | hole slots | suffix tokens.

Context windows are cut by token budget, and the suffix gets a real share (the denoiser
sees it natively). Token healing: the cursor often sits inside a word, so the last prefix
token is taken back into the hole and the first slot is constrained to tokens that start
with its text; the filled text then reproduces the removed characters exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer

from diffill.model.denoiser import Bools, SpecialIds, Tokens

# Bytes of text encoded per context token budget: generous, so the token cut decides.
CHARS_PER_TOKEN_BOUND = 8


@dataclass(frozen=True)
class CanvasPlan:
    """How to lay out a canvas: token budgets for each part."""

    slots: int  # hole slots
    max_canvas: int  # total canvas length, fixed tokens and slots included
    suffix_share: float = 0.3  # share of the context budget reserved for the suffix


@dataclass
class Canvas:
    ids: list[int]  # (T,) prefix | slots (mask or draft ids) | suffix
    slot_start: int  # canvas index of the first hole slot
    slots: int  # number of hole slots
    healed: str  # prefix text taken back into the hole (the fill must start with it)
    prefix_start: int  # character offset where the kept prefix context starts
    suffix_end: int  # character offset where the kept suffix context ends

    @property
    def slot_positions(self) -> list[int]:
        return list(range(self.slot_start, self.slot_start + self.slots))


def encode(tok: Tokenizer, text: str) -> list[int]:
    return tok.encode(text).ids if text else []


def build_canvas(
    tok: Tokenizer,
    ids: SpecialIds,
    text: str,
    start: int,
    end: int,
    plan: CanvasPlan,
    heal: bool = True,
) -> Canvas:
    """Canvas for filling text[start:end] (end == start for a cursor)."""
    if not 0 <= start <= end <= len(text):
        raise ValueError(f"hole {start}..{end} outside text of length {len(text)}")
    context = plan.max_canvas - plan.slots - 2  # two for the bos/eos markers
    if context < 8:
        raise ValueError(f"{plan.slots} slots leave no room for context in {plan.max_canvas}")
    bound = context * CHARS_PER_TOKEN_BOUND
    prefix_from = max(0, start - bound)
    suffix_to = min(len(text), end + bound)
    prefix_ids = encode(tok, text[prefix_from:start])
    suffix_ids = encode(tok, text[end:suffix_to])

    healed = ""
    if heal and prefix_ids and start > 0 and text[start - 1] not in "\n":
        last = tok.decode([prefix_ids[-1]])
        if text[:start].endswith(last) and last.strip():
            healed = last
            prefix_ids = prefix_ids[:-1]

    n_suffix = min(len(suffix_ids), max(int(context * plan.suffix_share), context - len(prefix_ids)))
    n_prefix = min(len(prefix_ids), context - n_suffix)
    prefix = prefix_ids[len(prefix_ids) - n_prefix :]
    suffix = suffix_ids[:n_suffix]
    head = [ids.bos] if prefix_from == 0 and n_prefix == len(prefix_ids) else []
    tail = [ids.eos] if suffix_to == len(text) and n_suffix == len(suffix_ids) else []
    kept_prefix_chars = len(tok.decode(prefix)) + len(healed)
    kept_suffix_chars = len(tok.decode(suffix))
    canvas_ids = head + prefix + [ids.mask] * plan.slots + suffix + tail
    return Canvas(
        ids=canvas_ids,
        slot_start=len(head) + len(prefix),
        slots=plan.slots,
        healed=healed,
        prefix_start=start - kept_prefix_chars,
        suffix_end=end + kept_suffix_chars,
    )


class HealingIndex:
    """Which vocabulary tokens start with a given string (for the first slot's constraint)."""

    def __init__(self, tok: Tokenizer) -> None:
        self.size = tok.get_vocab_size()
        self.texts = [tok.decode([i]) for i in range(self.size)]
        self.cache: dict[str, Bools] = {}

    def allowed(self, healed: str) -> Bools:
        """Bool (V,) of tokens whose text starts with healed."""
        if healed not in self.cache:
            mask = np.array([t.startswith(healed) for t in self.texts], dtype=bool)
            if len(self.cache) > 4096:
                self.cache.clear()
            self.cache[healed] = mask
        return self.cache[healed]


def batch_canvases(canvases: list[list[int]], pad: int) -> tuple[Tokens, Tokens]:
    """(N, T) ids and attention mask for canvases of possibly different lengths."""
    width = max(len(c) for c in canvases)
    ids = np.full((len(canvases), width), pad, dtype=np.int64)
    attention = np.zeros((len(canvases), width), dtype=np.int64)
    for i, c in enumerate(canvases):
        ids[i, : len(c)] = c
        attention[i, : len(c)] = 1
    return ids, attention


def aligned_batch(canvases: list[Canvas], pad: int) -> tuple[Tokens, Tokens, list[int]]:
    """(N, T) ids, attention and the shared slot positions of canvases whose prefixes differ.

    The sampler addresses the hole slots of every row by one set of positions, so rows are
    padded on the left until their first slots line up (rotary positions are relative, so
    the shift changes nothing the model sees).
    """
    first = max(c.slot_start for c in canvases)
    shifted = [[pad] * (first - c.slot_start) + c.ids for c in canvases]
    ids, attention = batch_canvases(shifted, pad)
    for i, c in enumerate(canvases):
        attention[i, : first - c.slot_start] = 0
    slots = {c.slots for c in canvases}
    assert len(slots) == 1, "rows of one batch share the hole size"
    return ids, attention, list(range(first, first + slots.pop()))
