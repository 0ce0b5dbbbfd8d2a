"""Training canvases from windows of a pre-tokenized token stream (see `packed.py`).

The text path (`noise.ExampleMaker.make`) tokenizes a whole file's context for every
example, which caps data loading at a few hundred canvases per second per core: too slow to
feed a GPU. Here the context comes straight from the stored ids and only short pieces are
encoded: the middle, and the two or three tokens on each side of the hole, re-encoded from the
cut point so that token boundaries at the hole edges look as they do when the engine encodes
prefix, middle and suffix separately. Hole shapes, slot padding and noise are the text path's
(same `NoiseConfig`, same code after the cut).

Holes are cut in the window's bytes, viewed as Latin-1 text (one character per byte, so
character offsets are byte offsets and every line break is found). Block holes follow
indentation (a line and the more indented lines after it), since a window rarely parses as
Python. Known gaps: a hole edge inside a multi-byte character is encoded with a replacement
character; a pre-token longer than the re-encoded edge may split differently than in the
engine.
"""

from __future__ import annotations

import bisect
import itertools
import re

from tokenizers import Tokenizer

from .noise import Example, ExampleMaker, HoleSampler, NoiseConfig

EDGE_TOKENS = 2  # stored tokens re-encoded on each side of a cut


def byte_level_table(tok: Tokenizer) -> list[bytes]:
    """The bytes each id stands for (GPT-2 byte-level alphabet decoded); specials are empty."""
    # GPT-2's reversible byte <-> printable-character map.
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(
        range(ord("®"), ord("ÿ") + 1)
    )
    chars = printable[:]
    n = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + n)
            n += 1
    char_to_byte = {chr(c): b for b, c in zip(printable, chars, strict=True)}
    table = [b""] * tok.get_vocab_size()
    for piece, idx in tok.get_vocab().items():
        if piece.startswith("<|") and piece.endswith("|>"):
            continue
        table[idx] = bytes(char_to_byte[ch] for ch in piece)
    return table


class IndentHoleSampler(HoleSampler):
    """Block holes by indentation: a line plus the more indented lines that follow it."""

    lines: list[int] = []  # starts of every line of the window (`starts` may be a subset)

    def block(self, text: str, starts: list[int]) -> tuple[int, int] | None:
        first = bisect.bisect_left(self.lines, self.rng.choice(starts))
        starts = self.lines
        indent = indent_of(text, starts[first])
        if indent is None:
            return None
        last = first
        for i in range(first + 1, min(len(starts), first + 40)):
            inner = indent_of(text, starts[i])
            if inner is not None and inner <= indent:
                break
            last = i
        if last == first:  # no body: a few lines instead
            last = min(len(starts) - 1, first + self.rng.randint(1, 6))
        begin = starts[first]
        end = starts[last + 1] if last + 1 < len(starts) else len(text)
        if self.rng.random() < 0.5:
            begin += indent
        return (begin, end) if end > begin else None


def inside_word(text: str, at: int) -> bool:
    """Offset `at` splits a word (letters, digits, underscores on both sides)."""
    return 0 < at < len(text) and is_word(text[at - 1]) and is_word(text[at])


def is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def indent_of(text: str, start: int) -> int | None:
    """Indentation width of the line at `start`, or None for a blank line."""
    end = text.find("\n", start)
    line = text[start : end if end >= 0 else len(text)]
    stripped = line.lstrip(" \t")
    return len(line) - len(stripped) if stripped.strip() else None


class StreamExampleMaker(ExampleMaker):
    """ExampleMaker over id windows; `make_window` is its entry point."""

    def __init__(self, tok: Tokenizer, cfg: NoiseConfig, seed: int, table: list[bytes] | None = None) -> None:
        super().__init__(tok, cfg, seed)
        self.holes: IndentHoleSampler = IndentHoleSampler(cfg, self.rng)
        self.table = table if table is not None else byte_level_table(tok)

    def encode(self, text: str) -> list[int]:
        # Windows are Latin-1 views of UTF-8 bytes: turn a piece back into real text first.
        return super().encode(text.encode("latin-1").decode("utf-8", errors="replace"))

    def line_starts(self, text: str) -> list[int]:
        # Not the cached function: every window is a new string.
        return [0] + [m.end() for m in re.finditer("\n", text)]

    def make_window(self, ids: list[int], at_start: bool, at_end: bool) -> Example | None:
        """A canvas from a window of one file's ids.

        at_start / at_end: the window reaches the file's start / end (the canvas may hold
        bos / eos then).
        """
        if self.rng.random() < self.cfg.p_mdlm:
            first = self.rng.randrange(max(1, len(ids) - self.cfg.canvas + 1))
            return self.mask_window(ids[first : first + self.cfg.canvas])
        text, offsets = self.view(ids)
        starts = self.line_starts(text)
        self.holes.lines = starts
        # Holes in the middle half of the window, so both sides have context to draw from.
        middle = [s for s in starts if len(text) // 4 <= s < 3 * len(text) // 4] or starts
        span, budget = self.pick_hole(text, middle)
        if span is None or not 0 <= span[0] < span[1] <= len(text):
            return None
        prefix_all, mid, suffix_all = self.cut(ids, text, offsets, span)
        if not mid or len(mid) > budget:
            return None
        slots = self.hole_slots(len(mid), budget)
        return self.assemble(
            prefix_all, mid, suffix_all, slots, budget, text, prefix_whole=at_start, suffix_whole=at_end
        )

    def view(self, ids: list[int]) -> tuple[str, list[int]]:
        """The window as Latin-1 text (one char per byte) and each id's byte offset (n + 1,)."""
        pieces = [self.table[i] for i in ids]
        return b"".join(pieces).decode("latin-1"), [0, *itertools.accumulate(len(p) for p in pieces)]

    def cut(
        self, ids: list[int], text: str, offsets: list[int], span: tuple[int, int]
    ) -> tuple[list[int], list[int], list[int]]:
        """(prefix ids, middle ids, suffix ids) of a hole at byte span, as the engine encodes them.

        Stored ids away from the cut; the last EDGE_TOKENS - 1 tokens before it and the
        first EDGE_TOKENS after it are encoded again from the cut point.
        """
        begin, end = span
        first = max(bisect.bisect_right(offsets, begin) - EDGE_TOKENS, 0)
        # A run of whitespace splits differently at the end of a string ("\n\n" is one token
        # there, two before "#"): re-encode whole runs.
        while first > 0 and not text[offsets[first - 1] : offsets[first]].strip():
            first -= 1
        while first > 0 and inside_word(text, offsets[first]):  # BPE pieces of one word
            first -= 1
        prefix = ids[:first] + self.encode(text[offsets[first] : begin])
        last = min(bisect.bisect_left(offsets, end) + EDGE_TOKENS, len(ids))
        while last < len(ids) and (
            not text[offsets[last - 1] : offsets[last]].strip() or inside_word(text, offsets[last])
        ):
            last += 1
        suffix = self.encode(text[end : offsets[last]]) + ids[last:]
        return prefix, self.encode(text[begin:end]), suffix
