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

A hole that is a whole line is also matched from the other side: a line at its indentation
whose next lines have the shape of the lines after the hole is copied, renamed by what
differs before and after it. Every draft says how many tokens matched on each side.

Tokens are words, numbers, line breaks with their indentation, and single symbols; spaces
between them are not compared. Torch-free and language-agnostic apart from the keywords
(Python's), which are matched as they are, never renamed.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable
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
    after: int = 0  # tokens of matching shape after its line (the hole's suffix)


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


@dataclass(frozen=True)
class _Buffer:
    """The tokens around the hole, the hole itself one token of its own."""

    seq: list[str]
    starts: list[int]  # where each token starts in text
    text: str
    shapes: list[str]
    hole: int  # the hole's index in seq

    @classmethod
    def around(cls, prefix: str, suffix: str, window: int) -> _Buffer | None:
        head, tail = prefix[-window:], suffix[:window]
        before, before_at = _tokens(head)
        after, after_at = _tokens(tail)
        if not before:
            return None
        seq = [*before, HOLE, *after]
        return cls(seq, [*before_at, len(head), *(len(head) + s for s in after_at)], head + tail,
                   [_shape(t) for t in seq], len(before))

    def matched_before(self, j: int) -> int:
        """How many tokens before j have the shapes of those before the hole."""
        return _longest(lambda k: self.shapes[j - k : j] == self.shapes[self.hole - k : self.hole],
                        min(MAX_MATCH, j, self.hole))

    def matched_after(self, e: int) -> int:
        """How many tokens from e on have the shapes of those after the hole."""
        h = self.hole + 1
        return _longest(lambda k: self.shapes[e : e + k] == self.shapes[h : h + k],
                        min(MAX_MATCH, len(self.seq) - e, len(self.seq) - h))

    def line_end(self, j: int) -> int:
        """The index of the first line break (or the hole, or the end) from j on."""
        while j < len(self.seq) and "\n" not in self.seq[j] and self.seq[j] != HOLE:
            j += 1
        return j

    def renames(self, pairs: list[tuple[int, int]]) -> dict[str, str]:
        """Old name -> the hole's, over aligned (match, hole) token pairs; {} if one is renamed two ways."""
        renames: dict[str, str] = {}
        for at, hole_at in pairs:
            old, new = self.seq[at], self.seq[hole_at]
            if old != new and renames.setdefault(old, new) != new:
                return {}
        return renames


def _longest(holds: Callable[[int], bool], limit: int) -> int:
    """The largest k <= limit for which holds(k), given that holds(k) implies holds(k - 1)."""
    k = 0
    quick = min(limit, 8)
    while k < quick and holds(k + 1):
        k += 1  # most places differ within a few tokens
    if k < quick:
        return k
    # Compared by halving (files of near-identical lines would otherwise cost MAX_MATCH steps
    # at every line).
    low, high = k, limit
    while low < high:
        mid = (low + high + 1) // 2
        if holds(mid):
            low = mid
        else:
            high = mid - 1
    return low


def analogous_lines(prefix: str, suffix: str, max_matches: int = MAX_MATCHES,
                    min_match: int = MIN_MATCH, window: int = WINDOW) -> list[Analogy]:
    """Renamed lines from the longest same-shaped contexts, before the hole then after it."""
    buf = _Buffer.around(prefix, suffix, window)
    if buf is None:
        return []
    found: dict[str, Analogy] = {}
    for analogy in (*_continuations(buf, prefix, max_matches, min_match),
                    *_lines_between(buf, max_matches, min_match)):
        known = found.get(analogy.text)
        found[analogy.text] = analogy if known is None else Analogy(
            analogy.text, max(known.matched, analogy.matched), max(known.renames, analogy.renames),
            max(known.after, analogy.after))
    return list(found.values())


def _continuations(buf: _Buffer, prefix: str, max_matches: int, min_match: int) -> list[Analogy]:
    """The rest of the line after each longest match of the shape before the hole."""
    hole, seq = buf.hole, buf.seq
    last = buf.shapes[hole - 1]
    found: list[tuple[int, int]] = []
    for j in range(1, len(seq)):
        if j == hole or buf.shapes[j - 1] != last:
            continue
        k = buf.matched_before(j)
        if k >= min_match:
            found.append((k, j))
    found.sort(key=lambda m: (-m[0], -m[1]))  # longest first; nearer the hole's end on ties
    out: list[Analogy] = []
    for k, j in found[:max_matches]:
        renames = buf.renames([(j - 1 - o, hole - 1 - o) for o in range(k)])
        stop = buf.line_end(j)
        if not renames or stop == j:
            continue
        end = buf.starts[stop] if stop < len(seq) else len(buf.text)
        line = buf.text[buf.starts[j - 1] + len(seq[j - 1]) : end]
        line = _after_cursor(line, prefix)
        renamed = rename(line, renames).rstrip()
        if renamed.strip() and renamed != line.rstrip() and renamed not in (a.text for a in out):
            after = buf.matched_after(stop) if stop < len(seq) else 0
            out.append(Analogy(renamed, k, len(renames), after))
    return out


def _lines_between(buf: _Buffer, max_matches: int, min_match: int) -> list[Analogy]:
    """For a hole that is a whole line: lines whose next lines have the shape of the hole's.

    Anchored after the hole: a line at the same indentation is a candidate when at least
    min_match tokens after it match those after the hole; the longest matches, before and
    after together, are renamed by both.
    """
    hole, seq = buf.hole, buf.seq
    if "\n" not in seq[hole - 1] or hole + 1 >= len(seq) or "\n" not in seq[hole + 1]:
        return []
    found: list[tuple[int, int, int, int]] = []
    for start in range(1, len(seq)):
        if start == hole or seq[start - 1] != seq[hole - 1]:
            continue  # not a line at the hole's indentation
        stop = buf.line_end(start)
        if stop == start or stop >= len(seq) or seq[stop] == HOLE:
            continue
        after = buf.matched_after(stop)
        if after >= min_match:
            before = buf.matched_before(start)
            found.append((before + after, start, before, after))
    found.sort(key=lambda m: (-m[0], -m[1]))
    out: list[Analogy] = []
    for _, start, before, after in found[:max_matches]:
        stop = buf.line_end(start)
        renames = buf.renames([(start - 1 - o, hole - 1 - o) for o in range(before)]
                              + [(stop + o, hole + 1 + o) for o in range(after)])
        if not renames:
            continue
        line = buf.text[buf.starts[start] : buf.starts[stop]].rstrip()
        renamed = rename(line, renames).rstrip()
        if renamed.strip() and renamed != line and renamed not in (a.text for a in out):
            out.append(Analogy(renamed, before, len(renames), after))
    return out


def _after_cursor(line: str, prefix: str) -> str:
    """The line without the spaces the prefix already ends with."""
    spaces = prefix[len(prefix.rstrip(" \t")):]
    if not spaces:
        return line
    return line[len(spaces):] if line.startswith(spaces) else line.lstrip(" \t")
