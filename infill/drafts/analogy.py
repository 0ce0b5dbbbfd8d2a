"""Analogy drafts: a line copied from a place shaped like the hole's, its names renamed.

Code repeats itself with other names: `self.their_role = CLIENT` after a block that set
`SERVER`, a `def site_state_dir` after `def user_state_dir` with the same body, a dict of
levels where only the key changes. The buffer drafts copy what followed the same *text*;
this copies what followed the same *shape*: the tokens before the hole, with every name
abstracted, matched against the rest of the buffer (before and after the hole). Where the
match's names differ from the hole's (`user` where the hole's context has `site`), the
continuation's line is copied with those names renamed, and with the same change inside
longer names (`user_state_dir` -> `site_state_dir`). A match whose names all agree adds
nothing the buffer drafts lack, so it is skipped.

Tokens are words, numbers, line breaks with their indentation, and single symbols; spaces
between them are not compared. Torch-free and language-agnostic apart from the keywords
(Python's), which are matched as they are, never renamed.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

TOKEN = re.compile(r"[^\W\d]\w*|\d+|\n[ \t]*|\S")
NAME = re.compile(r"[^\W\d]\w*")
# Names that carry the structure, matched as they are: keywords and `self`.
FIXED = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | {"self", "cls"}
MIN_MATCH = 4  # tokens of matching shape before the hole (3 found no more on the dev holes)
MAX_MATCH = 200
MAX_MATCHES = 5  # longest matches tried; each gives at most one draft
WINDOW = 6_000  # characters searched on each side of the hole (bounds the cost on huge files)
HOLE = ""  # the hole's own token: no text yields an empty one
MIN_INFIX = 2  # shortest changed part of a name applied inside other names


@dataclass(frozen=True)
class Analogy:
    text: str  # the renamed rest of the matched line
    matched: int  # tokens of matching shape before it
    renames: int  # names of the match's context renamed to the hole's


def _tokens(text: str) -> tuple[list[str], list[int]]:
    """The tokens and where each starts (each ends where its text does)."""
    found = TOKEN.finditer(text)
    spans = [(m.group(), m.start()) for m in found]
    return [t for t, _ in spans], [s for _, s in spans]


def _shape(token: str) -> str:
    # One shape for every name but the fixed ones; anything else (the hole's "" too) is its own.
    return "\x01" if NAME.fullmatch(token) and token not in FIXED else token


def _changed_part(old: str, new: str) -> tuple[str, str]:
    """The part of old that new replaces, the common start and end stripped."""
    head = 0
    while head < min(len(old), len(new)) and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < min(len(old), len(new)) - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    return old[head : len(old) - tail], new[head : len(new) - tail]


def rename(line: str, renames: dict[str, str]) -> str:
    """The line with each renamed name replaced, and the same change inside longer names."""
    infixes = [(old, new) for old, new in (_changed_part(a, b) for a, b in renames.items())
               if len(old) >= MIN_INFIX]

    def one(m: re.Match[str]) -> str:
        name = m.group()
        if name in renames:
            return renames[name]
        for old, new in infixes:
            if old in name:
                return name.replace(old, new)
        return name

    return NAME.sub(one, line)


def _matched(shapes: list[str], j: int, hole: int, limit: int) -> int:
    """How many tokens before j have the shapes of those before the hole (at most limit).

    The hole's token has a shape of its own, so no match runs across it.
    """
    k = 0
    quick = min(limit, 8)
    while k < quick and shapes[j - 1 - k] == shapes[hole - 1 - k]:
        k += 1  # most places differ within a few tokens
    if k < quick:
        return k
    # A match of n tokens holds every shorter one: the longest by halving, compared in C
    # (files of near-identical lines would otherwise cost MAX_MATCH steps at every line).
    low, high = k, limit
    while low < high:
        mid = (low + high + 1) // 2
        if shapes[j - mid : j] == shapes[hole - mid : hole]:
            low = mid
        else:
            high = mid - 1
    return low


def analogous_lines(prefix: str, suffix: str, max_matches: int = MAX_MATCHES,
                    min_match: int = MIN_MATCH, window: int = WINDOW) -> list[Analogy]:
    """Renamed continuations of the longest matches of the prefix tail's shape, best first."""
    head, tail = prefix[-window:], suffix[:window]
    before, before_at = _tokens(head)
    after, after_at = _tokens(tail)
    if not before:
        return []
    hole = len(before)
    seq = [*before, HOLE, *after]
    starts = [*before_at, len(head), *(len(head) + s for s in after_at)]
    text = head + tail
    shapes = [_shape(t) for t in seq]
    last = shapes[hole - 1]
    found: list[tuple[int, int]] = []
    for j in range(1, len(seq)):
        if j == hole or shapes[j - 1] != last:
            continue
        k = _matched(shapes, j, hole, min(MAX_MATCH, j, hole))
        if k >= min_match:
            found.append((k, j))
    found.sort(key=lambda m: (-m[0], -m[1]))  # longest first; nearer the hole's end on ties
    out: list[Analogy] = []
    for k, j in found[:max_matches]:
        renames: dict[str, str] = {}
        for o in range(k):
            old, new = seq[j - 1 - o], seq[hole - 1 - o]
            if old != new:
                if renames.setdefault(old, new) != new:
                    renames = {}  # one name renamed two ways: no consistent analogy
                    break
        if not renames:
            continue
        stop = j
        while stop < len(seq) and "\n" not in seq[stop] and seq[stop] != HOLE:
            stop += 1
        if stop == j:
            continue
        line = text[starts[j - 1] + len(seq[j - 1]) : starts[stop] if stop < len(seq) else len(text)]
        line = _after_cursor(line, prefix)
        renamed = rename(line, renames).rstrip()
        if renamed.strip() and renamed != line.rstrip() and renamed not in (a.text for a in out):
            out.append(Analogy(renamed, k, len(renames)))
    return out


def _after_cursor(line: str, prefix: str) -> str:
    """The line without the spaces the prefix already ends with."""
    spaces = prefix[len(prefix.rstrip(" \t")):]
    if not spaces:
        return line
    return line[len(spaces):] if line.startswith(spaces) else line.lstrip(" \t")
