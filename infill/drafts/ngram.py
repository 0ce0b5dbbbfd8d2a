"""Line proposals from token statistics: a cache model of the file mixed with the corpus index.

Code is local and repetitive (Tu et al. 2014; Hellendoorn and Devanbu 2017: a nested cache
n-gram model beat an LSTM on code). Each next token is predicted by two suffix-array
n-gram models, one over the file being edited (the cache) and one over the corpus index
(see corpus_index), each smoothed across context lengths with Witten-Bell interpolation and
mixed by how long a context each could match. A small beam search writes the rest of the
line; the denoiser, which sees the code after the hole, then scores the proposals.

The same mixture also scores every candidate from any source by how well it leads into the
code after the hole (`lead_in`): the log-probability of the suffix's first tokens after it.
The denoiser sees the suffix too, but a 6M-parameter model misses much that counts say.

Token healing: the last prefix token is taken back (the cursor usually splits what the
tokenizer would join, e.g. the indentation and the keyword after it), or every token of a
name being typed, and the first tokens must reproduce their text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tokenizers import Tokenizer

from .token_index import MAX_ORDER, TokenIndex

CONTEXT_CHARS = 6000  # text on each side of the cursor the cache model indexes
MAX_HEALED = 4  # prefix tokens at most taken back (a long name being typed)
WORD_AT_END = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
BEAM = 6  # hypotheses kept per step
BRANCH = 6  # next tokens tried per hypothesis
MAX_TOKENS = 24  # a line longer than this is not proposed
CORPUS_CACHE = 20_000  # corpus distributions kept across requests
FILE_WEIGHT = 2.0  # a context matched in the file counts this much more than the corpus
SPLIT_BACK = 400  # characters before the cursor the prefix window's cached head ends, at least
ENCODED_CACHE = 8  # context windows whose ids are kept
LEAD_IN_TOKENS = 4  # suffix tokens lead_in scores (4 did as well as 8 or 16 on development holes)
LEAD_IN_SKIP_LINES = 3  # suffix lines the file model of lead_in leaves out: the hole's and two more
HEAD_CHARS = 200  # prefix characters, at least, that lead_in's texts repeat before a candidate
SUFFIX_CHARS = 300  # suffix characters lead_in's texts add after a candidate
FLOOR_PROB = 1e-7  # a token the mixture never predicts


@dataclass
class Proposal:
    text: str  # the rest of the line (no newline)
    logprob: float  # sum of the mixed model's token log-probabilities
    tokens: int
    min_order: int  # shortest context (tokens) any of its tokens was predicted from


@dataclass
class _Hyp:
    ids: list[int]
    pending: str  # healed text the next tokens must still reproduce
    out: str
    logprob: float = 0.0
    min_order: int = MAX_ORDER
    done: bool = False


def witten_bell(index: TokenIndex, context: Sequence[int]) -> tuple[dict[int, float], int]:
    """Next-token distribution smoothed across context lengths; and the longest length used."""
    top = index.longest_order(context)
    orders = sorted({top, top * 3 // 4, top // 2, top // 4, 1} - {0})
    dist: dict[int, float] = {}
    for m in orders:  # shortest first: each longer context refines the shorter one's estimate
        counts, total, unique = index.next_counts(context[len(context) - m :])
        if not counts:
            continue
        new = {t: (c + unique * dist.get(t, 0.0)) / (total + unique) for t, c in counts.items()}
        scale = unique / (total + unique)
        for t, p in dist.items():
            if t not in new:
                new[t] = scale * p
        dist = new
    return dist, top if dist else 0


class NgramProposer:
    """Proposes rest-of-line texts at a cursor; cheap enough to run on every request."""

    def __init__(self, tokenizer: Tokenizer, separator: int, corpus: TokenIndex | None = None) -> None:
        self.tok = tokenizer
        self.separator = separator
        self.corpus = corpus
        self.texts: dict[int, str] = {}
        # Typing asks for the same contexts again and again; the corpus index never changes.
        self.remembered: dict[tuple[TokenIndex, tuple[int, ...]], tuple[dict[int, float], int]] = {}
        self.encoded: dict[str, list[int]] = {}  # the context windows' ids, by text (encode_cached)

    def text_of(self, token: int) -> str:
        if token not in self.texts:
            self.texts[token] = self.tok.decode([token])
        return self.texts[token]

    def propose(self, prefix: str, suffix: str, n: int = 4,
                stop: Callable[[], bool] | None = None) -> list[Proposal]:
        """Up to n rest-of-line proposals for a cursor between prefix and suffix, best first.

        stop: checked between beam steps; when it returns True the lines finished so far
        are returned (a superseded request wastes no more time here).
        """
        ids = self.encode_prefix(prefix)
        taken = self.tokens_to_heal(prefix, ids)
        healed = "".join(self.text_of(t) for t in ids[len(ids) - taken :]) if taken else ""
        context = ids[: len(ids) - taken]
        after = self.encode_cached(suffix[:CONTEXT_CHARS])
        local = TokenIndex.build([context, after], self.separator)
        cache: dict[tuple[int, ...], tuple[dict[int, float], int]] = {}
        self.healed = healed
        beam = [_Hyp(ids=[], pending=healed, out="")]
        finished: list[_Hyp] = []
        for _ in range(MAX_TOKENS):
            if stop is not None and stop():
                break
            grown: list[_Hyp] = []
            for hyp in beam:
                key = tuple((context + hyp.ids)[-MAX_ORDER:])
                if key not in cache:
                    cache[key] = self.mix(local, list(key))
                grown.extend(self.extend(hyp, *cache[key]))
            finished.extend(h for h in grown if h.done and h.out.strip())
            finished = sorted(finished, key=lambda h: h.logprob, reverse=True)[: 2 * n]
            # Log-probabilities only fall: a hypothesis below the n-th finished one is done for.
            floor = finished[n - 1].logprob if len(finished) >= n else -math.inf
            beam = sorted((h for h in grown if not h.done and h.logprob > floor),
                          key=lambda h: h.logprob, reverse=True)[:BEAM]
            if not beam:
                break
        best = sorted(finished, key=lambda h: h.logprob, reverse=True)
        seen: set[str] = set()
        proposals = []
        for h in best:
            if h.out.strip() and h.out not in seen:
                seen.add(h.out)
                proposals.append(Proposal(h.out, h.logprob, len(h.ids), h.min_order))
        return proposals[:n]

    def lead_in(self, prefix: str, fills: Sequence[str], suffix: str,
                stop: Callable[[], bool] | None = None) -> list[float | None]:
        """For each fill, the log-probability of the suffix's first tokens after prefix + fill.

        A fill that the code after it follows naturally scores well: `for item in items:`
        before an indented `total += item`, not `return total`. The file model leaves out
        the hole's line and the next lines: they hold the very tokens scored, which would
        otherwise match for every fill alike. None: stopped before that fill was scored.
        """
        rest = suffix.split("\n", LEAD_IN_SKIP_LINES)
        far = rest[LEAD_IN_SKIP_LINES][:CONTEXT_CHARS] if len(rest) > LEAD_IN_SKIP_LINES else ""
        local = TokenIndex.build([self.encode_prefix(prefix), self.encode_cached(far)], self.separator)
        head = prefix[prefix.rfind("\n", 0, max(0, len(prefix) - HEAD_CHARS)) + 1 :]
        out: list[float | None] = []
        encodings = self.tok.encode_batch([head + fill + suffix[:SUFFIX_CHARS] for fill in fills])
        for fill, enc in zip(fills, encodings, strict=True):
            if stop is not None and stop():
                out += [None] * (len(fills) - len(out))
                break
            end = len(head) + len(fill)
            first = next((i for i, (_, stop_at) in enumerate(enc.offsets) if stop_at > end), len(enc.ids))
            total = 0.0
            for i in range(first, min(len(enc.ids), first + LEAD_IN_TOKENS)):
                dist, _ = self.mix(local, enc.ids[max(0, i - MAX_ORDER) : i])
                total += math.log(max(dist.get(enc.ids[i], 0.0), FLOOR_PROB))
            out.append(total)
        return out

    def encode_prefix(self, prefix: str) -> list[int]:
        """Token ids of the last CONTEXT_CHARS of prefix (from a line start), mostly from cache.

        Typing changes only the last lines, so the window is encoded in two parts split at a
        line end a few lines up: the head, unchanged from one keystroke to the next, comes
        from the cache. The split is exact: the byte-level pre-tokenizer never joins a
        character that is not whitespace with the newline after it, so the two parts encode
        to the ids of the whole (tests/unit/test_ngram.py checks).
        """
        start = max(0, len(prefix) - CONTEXT_CHARS)
        if start:
            start = prefix.find("\n", start) + 1 or len(prefix)
        split = prefix.rfind("\n", start, max(start, len(prefix) - SPLIT_BACK))
        while split > start and prefix[split - 1].isspace():
            split = prefix.rfind("\n", start, split - 1)
        if split <= start:
            return self.encode_cached(prefix[start:])
        return self.encode_cached(prefix[start:split]) + self.tok.encode(prefix[split:]).ids

    def encode_cached(self, text: str) -> list[int]:
        if not text:
            return []
        ids = self.encoded.pop(text, None)
        if ids is None:
            ids = self.tok.encode(text).ids
            if len(self.encoded) >= ENCODED_CACHE:
                self.encoded.pop(next(iter(self.encoded)))  # oldest first
        self.encoded[text] = ids  # newest last
        return ids

    def mix(self, local: TokenIndex, context: list[int]) -> tuple[dict[int, float], int]:
        """The cache and corpus distributions mixed by the context length each matched.

        Returns the mixture and the longest context length either matched.
        """
        p_local, m_local = witten_bell(local, context)
        p_corpus, m_corpus = self.corpus_dist(tuple(context)) if self.corpus else ({}, 0)
        w_local, w_corpus = FILE_WEIGHT * m_local, float(m_corpus)
        if w_local + w_corpus == 0:
            return {}, 0
        lam = w_local / (w_local + w_corpus)
        mixed = {t: lam * p for t, p in p_local.items()}
        for t, p in p_corpus.items():
            mixed[t] = mixed.get(t, 0.0) + (1 - lam) * p
        return mixed, max(m_local, m_corpus)

    def corpus_dist(self, context: tuple[int, ...]) -> tuple[dict[int, float], int]:
        """witten_bell over the corpus index, remembered across requests (the index is fixed)."""
        assert self.corpus is not None
        if (self.corpus, context) not in self.remembered:
            if len(self.remembered) >= CORPUS_CACHE:
                self.remembered.pop(next(iter(self.remembered)))  # oldest first
            self.remembered[(self.corpus, context)] = witten_bell(self.corpus, context)
        return self.remembered[(self.corpus, context)]

    def tokens_to_heal(self, prefix: str, ids: list[int]) -> int:
        """How many of the prefix's last tokens to take back: the last, or all of a name being typed.

        A name cut mid-way is often spelled with other tokens than the whole name (`spl` as
        `sp` + `l`, where `split` is one token): its pieces are rare contexts, so the text of
        every token the name touches is to be reproduced instead.
        """
        word = WORD_AT_END.search(prefix)
        need = len(word.group()) if word else 1
        taken, chars = 0, 0
        while taken < min(len(ids), MAX_HEALED) and (taken == 0 or chars < need):
            chars += len(self.text_of(ids[len(ids) - 1 - taken]))
            taken += 1
        healed = "".join(self.text_of(t) for t in ids[len(ids) - taken :])
        if not prefix.endswith(healed):
            return 0  # a token that does not decode to its own text: no healing
        return taken

    def canonical(self, ids: list[int], out: str) -> bool:
        """Whether ids are how the tokenizer spells the healed text plus out.

        Checked once, at the first token past the healed text: a path such as "\\n        "
        + "self" spells the same text as the tokenizer's "\\n       " + " self", but its
        context never occurs in any index, so it would be predicted from nothing.
        """
        return self.tok.encode(self.healed + out).ids == ids

    def extend(self, hyp: _Hyp, dist: dict[int, float], order: int) -> list[_Hyp]:
        options = sorted(((p, t) for t, p in dist.items()), reverse=True)
        grown: list[_Hyp] = []
        for p, token in options:
            if len(grown) >= BRANCH or p <= 0:
                break
            piece = self.text_of(token)
            pending = hyp.pending
            if pending:
                if piece.startswith(pending):
                    piece, pending = piece[len(pending) :], ""
                    if hyp.pending.isspace() and piece[:1] in (" ", "\t"):
                        continue  # indentation the user did not type
                elif pending.startswith(piece):
                    piece, pending = "", pending[len(piece) :]
                else:
                    continue  # does not reproduce the healed text
            if not pending and not hyp.out and piece and not self.canonical(hyp.ids + [token], piece):
                continue  # the same text spelled with other tokens: its context never occurs
            line, newline, _ = piece.partition("\n")
            new = _Hyp(ids=hyp.ids + [token], pending=pending, out=hyp.out + line,
                       logprob=hyp.logprob + math.log(p), min_order=min(hyp.min_order, order))
            new.done = bool(newline) or token == self.separator
            grown.append(new)
        return grown
