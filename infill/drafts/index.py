"""Drafts from other documents: a bounded index of the text that follows each token context.

The engine proposes buffer drafts (drafts.py: the rest of a line whose left context matches
the tail of the prefix); this index finds the same kind of draft in other documents (open
files, the workspace, accepted suggestions) for `FillRequest.extra_drafts`.

Documents are lexed into tokens: identifiers and numbers, single punctuation characters, and
one newline token for any whitespace run with a line break (other whitespace is dropped), so
indentation, blank lines and spacing do not prevent a match. At every token boundary the
last k tokens (k in WINDOWS) are hashed and mapped to where the text after them starts. A
query lexes the prefix tail, looks the longest windows up first, checks each hit token by
token (hashes may collide, and the check measures how long the match really is), and returns
the rest of each hit's line, longest match first.

The suffix: when the cursor line has text after the cursor, a draft must end with that text
(stripped), as it would when the line is copied whole; other drafts are dropped. The overlap
is kept in the draft, exactly like a buffer draft: the engine cuts it
(postprocess.drop_suffix_overlap), and cutting it here as well would cut it twice.

Torch-free: the CLI and the language server build the index before (or without) the model.
"""

from __future__ import annotations

import re
import sys
import threading
import zlib
from array import array
from bisect import bisect_left
from collections import OrderedDict, deque
from collections.abc import Collection
from dataclasses import dataclass

WINDOWS = (12, 8, 6, 4)  # context lengths (tokens) that are hashed, longest first
MAX_MATCH = 32  # tokens compared when measuring how long a match really is
MAX_DOC_CHARS = 1_000_000  # larger documents (generated, minified, data) are not indexed
MAX_LINE = 240  # a longer line is data or minified code, not a line worth proposing
MAX_ENTRIES = 4_000_000  # windows kept over all documents (8 bytes each)
MAX_BYTES = 96 * 2**20  # texts plus windows, approximately
ACCEPTED = 32  # accepted suggestions kept (a ring: the oldest goes first)
ACCEPTED_CONTEXT = 1000  # characters of text before an accepted suggestion kept with it
HITS_PER_DOC = 4  # occurrences of one window checked per document (the last ones)
MAX_CHECKS = 256  # hits checked per query over all documents (bounds the query time)

TOKEN = re.compile(r"\w+|[^\w\s]|\s+")
WORD_AT_END = re.compile(r"\w+\Z")
NL = "\n"  # the newline token (never a real token: those hold no whitespace)
MASK64 = (1 << 64) - 1
BASE = 0x100000001B3  # multiplier of the polynomial window hash (odd, so invertible mod 2**64)
LOW32 = 0xFFFFFFFF


def lex(text: str, start: int = 0, end: int | None = None) -> list[tuple[str, int, int]]:
    """(token, start, end) over text[start:end]; a whitespace run with a line break is NL."""
    tokens = []
    for m in TOKEN.finditer(text, start, len(text) if end is None else end):
        tok = m.group()
        if tok[0].isspace():
            if "\n" in tok:
                tokens.append((NL, m.start(), m.end()))
        else:
            tokens.append((tok, m.start(), m.end()))
    return tokens


def tail_tokens(text: str, end: int, n: int) -> list[str]:
    """The last (up to) n tokens of text[:end], without copying more than needed."""
    span = 8 * n + 64  # a token and its spacing take a few characters
    while True:
        start = max(0, end - span)
        toks = [t for t, _, _ in lex(text, start, end)]
        if start > 0:
            toks = toks[1:]  # the first token may be cut; the ones after it are whole
        if start == 0 or len(toks) >= n:
            return toks[-n:] if n else []
        span *= 4


def token_code(tok: str, cache: dict[str, int]) -> int:
    # crc32, not hash(): str hashes change from process to process, results must not.
    code = cache.get(tok)
    if code is None:
        code = cache[tok] = zlib.crc32(tok.encode("utf-8", "surrogatepass"))
    return code


def window_hash(codes: list[int]) -> int:
    """32-bit hash of a token window (its length is mixed in)."""
    h = len(codes)
    for c in codes:
        h = (h * BASE + c) & MASK64
    return h >> 32


def indexable(text: str, max_chars: int = MAX_DOC_CHARS) -> bool:
    """Not too large and not binary (a NUL character)."""
    return len(text) <= max_chars and "\x00" not in text


def line_after(text: str, start: int) -> str:
    end = text.find("\n", start)
    return text[start : len(text) if end < 0 else end]


@dataclass
class IndexedText:
    """One document's text and its windows: sorted (hash << 32 | continuation offset)."""

    text: str
    windows: array[int]

    @classmethod
    def build(cls, text: str, first: int = 0) -> IndexedText:
        """Index text; only continuations starting at or after `first` are kept."""
        toks = lex(text)
        cache: dict[str, int] = {}
        codes = [token_code(t, cache) for t, _, _ in toks]
        # Prefix hashes: the hash of any window is then two multiplications away.
        prefix = [0] * (len(codes) + 1)
        for i, c in enumerate(codes):
            prefix[i + 1] = (prefix[i] * BASE + c) & MASK64
        powers = {k: pow(BASE, k, 1 << 64) for k in WINDOWS}
        seeds = {k: k * powers[k] & MASK64 for k in WINDOWS}  # window_hash starts from h = k
        packed: list[int] = []
        for i, (tok, _, end) in enumerate(toks):
            # The continuation starts after the token, or for a newline at the next line's code.
            at = toks[i + 1][1] if tok == NL and i + 1 < len(toks) else end
            if tok == NL and i + 1 == len(toks) or at < first:
                continue
            rest = line_after(text, at)
            if len(rest) > MAX_LINE or not rest.strip():
                continue
            for k in WINDOWS:
                if i + 1 >= k:
                    h = (seeds[k] + prefix[i + 1] - prefix[i + 1 - k] * powers[k]) & MASK64
                    packed.append((h >> 32) << 32 | at)
        packed.sort()
        return cls(text, array("Q", packed))

    @property
    def nbytes(self) -> int:
        return sys.getsizeof(self.text) + self.windows.itemsize * len(self.windows)

    def offsets(self, h: int, most: int) -> list[int]:
        """Continuation offsets of window hash h, the last occurrences first."""
        lo = bisect_left(self.windows, h << 32)
        hi = bisect_left(self.windows, (h + 1) << 32, lo)
        return [self.windows[j] & LOW32 for j in range(hi - 1, max(lo, hi - most) - 1, -1)]


@dataclass(frozen=True)
class IndexStats:
    docs: int  # documents indexed
    accepted: int  # accepted suggestions kept
    entries: int  # windows over documents and accepted suggestions
    bytes: int  # approximate memory of texts and windows


@dataclass(frozen=True)
class Query:
    """A prefix and suffix, prepared once for every hit."""

    tokens: list[str]  # context tokens before the cursor (without a partly typed word)
    partial: str  # the word the cursor is in, typed so far ("" after a space or punctuation)
    spaced: bool  # whitespace (no line break) between the last token and the cursor or word
    empty_line: bool  # the cursor is at column 0: a draft keeps its line's indentation
    suffix: str  # text after the cursor on its line, stripped

    @classmethod
    def of(cls, prefix: str, suffix: str) -> Query:
        m = WORD_AT_END.search(prefix, max(0, len(prefix) - 200))
        partial = m.group() if m else ""
        context_end = len(prefix) - len(partial)
        tokens = tail_tokens(prefix, context_end, MAX_MATCH)
        spacing = re.search(r"\s*\Z", prefix[max(0, context_end - 200) : context_end])
        gap = spacing.group() if spacing else ""
        return cls(tokens, partial, bool(gap) and "\n" not in gap,
                   not partial and (prefix == "" or prefix.endswith("\n")),
                   line_after(suffix, 0).strip())

    def draft(self, text: str, at: int) -> str | None:
        """The draft a hit gives (the rest of its line), or None when it does not fit."""
        if self.empty_line and self.tokens and self.tokens[-1] == NL:
            at = text.rfind("\n", 0, at) + 1  # keep the line's own indentation
        line = line_after(text, at).rstrip()
        if self.spaced or self.partial:
            line = line.lstrip()  # the user typed the space already
        if self.partial:
            if not line.startswith(self.partial):
                return None
            line = line[len(self.partial) :]
        if not line.strip():
            return None
        if self.suffix and (not line.endswith(self.suffix) or not line[: -len(self.suffix)].strip()):
            return None  # it would not end where the line already ends (or adds nothing)
        return line

    def match_length(self, text: str, at: int) -> int:
        """How many tokens before `at` equal the query's last tokens."""
        theirs = tail_tokens(text, at, len(self.tokens))
        n = 0
        for a, b in zip(reversed(self.tokens), reversed(theirs), strict=False):
            if a != b:
                break
            n += 1
        return n


class DraftIndex:
    """Drafts from many documents keyed by id (a URI or path); bounded and thread-safe.

    Memory: at most max_entries windows and about max_bytes of texts and windows; past
    either, whole documents are evicted, least recently updated first. Results depend only
    on the calls made (not on hash seeds or timing).
    """

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES,
                 max_doc_chars: int = MAX_DOC_CHARS, accepted: int = ACCEPTED) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_doc_chars = max_doc_chars
        self._docs: OrderedDict[str, IndexedText] = OrderedDict()  # least recently updated first
        self._accepted: deque[IndexedText] = deque(maxlen=accepted)
        self._entries = 0  # windows of self._docs
        self._bytes = 0
        self._lock = threading.Lock()

    def __contains__(self, doc_id: object) -> bool:
        with self._lock:
            return doc_id in self._docs

    def update(self, doc_id: str, text: str, replace: bool = True) -> bool:
        """Index (or re-index) a document; False when it is not kept.

        A huge or binary text is not indexed (and an older version is removed). replace=False
        leaves a document that is already indexed alone (a file read from disk must not
        overwrite what the editor sent).
        """
        if not indexable(text, self.max_doc_chars):
            self.remove(doc_id)
            return False
        with self._lock:
            old = self._docs.get(doc_id)
            if old is not None and (old.text == text or not replace):
                self._docs.move_to_end(doc_id)
                return True
        doc = IndexedText.build(text)  # outside the lock: queries go on meanwhile
        with self._lock:
            if not replace and doc_id in self._docs:
                return True
            self._drop(doc_id)
            self._docs[doc_id] = doc
            self._entries += len(doc.windows)
            self._bytes += doc.nbytes
            self._evict()
            return doc_id in self._docs

    def remove(self, doc_id: str) -> bool:
        with self._lock:
            return self._drop(doc_id)

    def add_accepted(self, text_before: str, accepted: str) -> None:
        """Keep an accepted suggestion (with the text before it) as a draft for later."""
        before = text_before[-ACCEPTED_CONTEXT:]
        if not accepted.strip() or not indexable(before + accepted, self.max_doc_chars):
            return
        if len(before) < len(text_before) and "\n" in before:
            before = before[before.index("\n") + 1 :]  # start on a line: no token cut in two
        line_start = before.rfind("\n") + 1
        doc = IndexedText.build(before + accepted, first=line_start)
        if len(doc.windows):
            with self._lock:
                self._accepted.append(doc)

    def drafts(self, prefix: str, suffix: str, exclude: str | Collection[str] | None = None,
               limit: int = 3) -> list[str]:
        """Continuations (to line end) of the longest context matches, best first.

        exclude: the id(s) of documents to leave out, e.g. the one being edited (its own
        drafts come from the buffer).
        Ties in match length go to accepted suggestions, then to recently updated documents.
        """
        if limit <= 0:
            return []
        skip = {exclude} if isinstance(exclude, str) else set(exclude or ())
        query = Query.of(prefix, suffix)
        cache: dict[str, int] = {}
        codes = [token_code(t, cache) for t in query.tokens]
        found: dict[str, tuple[int, int]] = {}  # draft -> (match length, rank in discovery)
        checks = 0
        with self._lock:
            sources = list(reversed(self._accepted)) + [
                d for i, d in reversed(self._docs.items()) if i not in skip]
            for k in WINDOWS:
                if len(codes) < k:
                    continue
                h = window_hash(codes[-k:])
                for doc in sources:
                    for at in doc.offsets(h, HITS_PER_DOC):
                        checks += 1
                        n = query.match_length(doc.text, at)
                        draft = query.draft(doc.text, at) if n >= k else None
                        if draft is not None and (draft not in found or found[draft][0] < n):
                            found[draft] = (n, found[draft][1] if draft in found else len(found))
                    if checks >= MAX_CHECKS:
                        break
                # A shorter window cannot find a longer match: stop once there are enough.
                if len(found) >= limit or checks >= MAX_CHECKS:
                    break
        ranked = sorted(found.items(), key=lambda item: (-item[1][0], item[1][1]))
        return [draft for draft, _ in ranked[:limit]]

    def stats(self) -> IndexStats:
        with self._lock:
            accepted = sum(len(d.windows) for d in self._accepted)
            accepted_bytes = sum(d.nbytes for d in self._accepted)
            return IndexStats(len(self._docs), len(self._accepted), self._entries + accepted,
                              self._bytes + accepted_bytes)

    def _drop(self, doc_id: str) -> bool:
        doc = self._docs.pop(doc_id, None)
        if doc is None:
            return False
        self._entries -= len(doc.windows)
        self._bytes -= doc.nbytes
        return True

    def _evict(self) -> None:
        # The newest document goes last, and only if it alone is over the limits.
        while self._docs and (self._entries > self.max_entries or self._bytes > self.max_bytes):
            self._drop(next(iter(self._docs)))
