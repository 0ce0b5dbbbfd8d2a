"""A suffix array over token ids: which tokens followed a context, at every context length.

The infini-gram idea (Liu et al. 2024): instead of n-gram tables of a fixed order, sort all
suffixes of the token stream once; every context of any length then maps to one contiguous
range of the array, found by binary search, and the tokens right after that range's
occurrences are its next-token counts. The array is sorted by the first `MAX_ORDER` tokens
only (prefix doubling stops there): no query is longer, and it keeps building to seconds.

Token ids are stored big-endian as bytes, so comparing two byte slices compares the token
sequences lexicographically and the binary search stays in C-implemented bytes compares.
"""

from __future__ import annotations

import json
import mmap
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_ORDER = 24  # longest context (tokens) a query looks at; the sort depth
SAMPLE_CAP = 4096  # a range bigger than this is counted on an even subsample
VOCAB_BOUND = 1 << 16  # token ids are stored as uint16
TOP_NEXT = 48  # continuations a query returns at most (the rest only count in the totals)
BIG_SPAN_CACHE = 8192  # counts of frequent contexts kept (about 5 KB each)


def suffix_array(tokens: np.ndarray, depth: int = MAX_ORDER) -> np.ndarray:
    """Start positions sorted by their next `depth` tokens (ties in any stable order).

    Prefix doubling: ranks by the first k tokens give ranks by the first 2k in one sort.
    """
    n = len(tokens)
    if n == 0:
        return np.zeros(0, np.int32)
    rank = tokens.astype(np.int64) + 1  # 0 means "past the end of the stream"
    sa = np.argsort(rank, kind="stable")
    k = 1
    while k < depth:
        # The multiplier must exceed every rank: at first ranks are token ids + 1, which
        # can be larger than n in a short stream.
        key = rank * (int(rank.max()) + 1)  # + the rank k tokens on: < (max(V, n) + 1)^2
        key[:-k] += rank[k:]
        del rank  # temporaries go as soon as they are used: an index can be 60M tokens
        sa = np.argsort(key, kind="stable")
        sorted_key = key[sa]
        del key
        new_group = np.empty(n, bool)
        new_group[0] = True
        np.not_equal(sorted_key[1:], sorted_key[:-1], out=new_group[1:])
        del sorted_key
        rank = np.empty(n, np.int64)
        rank[sa] = np.cumsum(new_group)
        del new_group
        k *= 2
        if rank.max() == n:  # every suffix already distinct
            break
    return sa.astype(np.int32)


@dataclass(eq=False)  # identity: an index is a cache key
class TokenIndex:
    """Token stream and its suffix array; documents are joined by a separator id.

    `buf` holds the ids big-endian (2 bytes each): bytes in memory, or an mmap of a saved
    index, so loading a cached index reads nothing up front.
    """

    buf: bytes | mmap.mmap  # (2N,) big-endian uint16 ids
    sa: np.ndarray  # (N,) int32 positions, sorted by the next MAX_ORDER tokens
    separator: int  # id between documents; never counted as a continuation

    def __post_init__(self) -> None:
        assert len(self.buf) == 2 * len(self.sa), "one suffix per token"
        self.tokens = np.frombuffer(self.buf, ">u2")  # (N,) a view, no copy
        self._first: np.ndarray | None = None
        # Short, frequent contexts (a newline and indentation, `self`, `(`) recur in every
        # request and cost a sort of thousands of continuations each: their counts are kept.
        self._big: dict[tuple[int, ...], tuple[dict[int, float], float, int]] = {}

    def first_token_bounds(self) -> np.ndarray:
        """(V + 1,) start of each first token's block in the suffix array (built on first use).

        A query's binary search then starts inside its first token's block: about half the
        probes of a search over the whole array.
        """
        if self._first is None:
            heads = self.tokens[self.sa].astype(np.int64)  # sorted: the suffixes' first tokens
            self._first = np.searchsorted(heads, np.arange(VOCAB_BOUND + 1))
        return self._first

    @classmethod
    def build(cls, documents: Sequence[Sequence[int] | np.ndarray], separator: int) -> TokenIndex:
        parts: list[np.ndarray] = []
        for doc in documents:
            parts.append(np.asarray(doc, np.uint16))
            parts.append(np.asarray([separator], np.uint16))
        tokens = np.concatenate(parts) if parts else np.zeros(0, np.uint16)
        return cls(tokens.astype(">u2").tobytes(), suffix_array(tokens), separator)

    def save(self, folder: Path) -> None:
        """Write tokens.be16, sa.npy, first.npy and meta.json; the folder appears complete or not at all."""
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        (tmp / "tokens.be16").write_bytes(bytes(self.buf))
        np.save(tmp / "sa.npy", self.sa)
        np.save(tmp / "first.npy", self.first_token_bounds())  # else each process reads all of sa
        (tmp / "meta.json").write_text(json.dumps({"separator": self.separator, "tokens": len(self)}))
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)

    @classmethod
    def load(cls, folder: Path) -> TokenIndex:
        meta = json.loads((folder / "meta.json").read_text())
        sa = np.load(folder / "sa.npy", mmap_mode="r").view(np.ndarray)  # plain indexing is faster
        with open(folder / "tokens.be16", "rb") as fh:
            buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if meta["tokens"] else b""
        if sa.dtype != np.int32 or len(buf) != 2 * len(sa) or len(sa) != meta["tokens"]:
            raise ValueError(f"{folder} is not a complete token index")
        index = cls(buf, sa, int(meta["separator"]))
        if (folder / "first.npy").is_file():
            first = np.load(folder / "first.npy")
            if first.shape != (VOCAB_BOUND + 1,) or (len(sa) and first[-1] != len(sa)):
                raise ValueError(f"{folder} is not a complete token index")
            index._first = first
        return index

    def __len__(self) -> int:
        return len(self.tokens)

    def span(self, context: Sequence[int]) -> tuple[int, int]:
        """Range [lo, hi) of the suffix array whose suffixes start with context."""
        key = np.asarray(context, ">u2").tobytes()
        width = len(key)
        buf, sa = self.buf, self.sa
        if not context:
            return 0, len(sa)
        first = self.first_token_bounds()
        lo, hi = int(first[context[0]]), int(first[context[0] + 1])
        end = hi
        while lo < hi:  # first suffix >= key
            mid = (lo + hi) // 2
            p = 2 * int(sa[mid])
            if buf[p : p + width] < key:
                lo = mid + 1
            else:
                hi = mid
        start = lo
        hi = end
        while lo < hi:  # first suffix > key (on its first len(context) tokens)
            mid = (lo + hi) // 2
            p = 2 * int(sa[mid])
            if buf[p : p + width] <= key:
                lo = mid + 1
            else:
                hi = mid
        return start, lo

    def next_counts(self, context: Sequence[int], top: int = TOP_NEXT) -> tuple[dict[int, float], float, int]:
        """The `top` most frequent tokens after context with their counts; total and distinct.

        The separator (end of a document) is not a continuation. Totals and distinct counts
        cover every continuation, so smoothing stays right when only the top few are kept.
        """
        key = tuple(context)
        if top == TOP_NEXT and (hit := self._big.get(key)) is not None:
            return hit  # shared: callers never change it
        lo, hi = self.span(context)
        if hi <= lo:
            return {}, 0.0, 0
        if hi - lo <= TOP_NEXT:  # most queries: counting in Python beats numpy's call overhead
            n, width = len(self.tokens), len(context)
            nexts = [int(self.tokens[p + width]) for p in self.sa[lo:hi].tolist() if p + width < n]
            small = Counter(t for t in nexts if t != self.separator)
            return dict(sorted(small.items())), float(sum(small.values())), len(small)
        counted = self.count_span(lo, hi, len(context), top)
        if top == TOP_NEXT:
            if len(self._big) >= BIG_SPAN_CACHE:
                self._big.pop(next(iter(self._big)))  # oldest first
            self._big[key] = counted
        return counted

    def count_span(self, lo: int, hi: int, width: int, top: int) -> tuple[dict[int, float], float, int]:
        """next_counts for a range of more than TOP_NEXT suffixes: numpy, on an even subsample."""
        picks = self.sa[lo:hi]
        if len(picks) > SAMPLE_CAP:  # an even subsample keeps the proportions
            picks = picks[:: len(picks) // SAMPLE_CAP + 1]
        after = picks.astype(np.int64) + width
        after = after[after < len(self.tokens)]
        ids, counts = np.unique(self.tokens[after], return_counts=True)
        keep = ids != self.separator
        ids, counts = ids[keep], counts[keep] * ((hi - lo) / max(len(picks), 1))
        total, distinct = float(counts.sum()), len(ids)
        if distinct > top:
            best = np.argpartition(-counts, top)[:top]
            ids, counts = ids[best], counts[best]
        return dict(zip(ids.tolist(), counts.tolist(), strict=True)), total, distinct

    def occurs(self, context: Sequence[int]) -> bool:
        lo, hi = self.span(context)
        return hi > lo

    def longest_order(self, context: Sequence[int], most: int = MAX_ORDER) -> int:
        """Length of the longest tail of context that occurs in the index."""
        lo, hi = 0, min(len(context), most)  # occurrence is monotone in the tail length
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.occurs(context[len(context) - mid :]):
                lo = mid
            else:
                hi = mid - 1
        return lo
