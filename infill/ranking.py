"""Ranking and abstention: a calibrated probability that a candidate is the wanted text.

Candidates come from several sources (the buffer's drafts, the workspace index, the n-gram
proposer, the denoiser's own fill); none of their native scores compare with the others'.
A score over features of each candidate (the denoiser's score with the suffix
in view, the n-gram score, how well the n-gram says it leads into the code after the hole,
how long a context the drafts matched, agreement between sources,
syntax of the filled statement, identifiers the file never mentions) enters a softmax over
the hole's candidates and one more option, "none of them is right", whose score is fitted
too (a conditional logit with an outside option). Each candidate's probability is therefore
its share against its rivals and against being wrong: a candidate with a close rival is less
sure than the same candidate alone. Candidates are ranked by it, and the engine shows the
best only when it clears a threshold: showing nothing beats showing something wrong.

The score is linear in the features plus a small hidden layer (tanh units over the
standardized features): the linear part alone cannot say that a feature matters more for one
kind of candidate than another (a long draft match is worth more from the copy than from the
workspace; the denoiser's score means less on a long line). The weights are fitted on holes
cut from repositories outside both the training corpus and the held-out benchmark
(docs/scripts/fit_ranker.py) and stored in ranker.json.
"""

from __future__ import annotations

import builtins
import json
import keyword
import math
import re
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources

import numpy as np

# A name, not the letters of a number (`0x5EED`, `1e3`, `10j`).
IDENTIFIER = re.compile(r"(?<![0-9A-Za-z_])[A-Za-z_][A-Za-z0-9_]*")
BUILTIN_WORDS = frozenset(dir(builtins))


@dataclass
class Features:
    """What the ranker knows about one cleaned candidate (a line or block of text)."""

    denoiser: float = -10.0  # mean log-prob per slot under the denoiser (content + end)
    ngram: float = -30.0  # n-gram log-prob of the line (floor when the n-gram did not propose it)
    ngram_rank: int = 9  # 0 = the n-gram's best; 9 = not proposed
    ngram_order: int = 0  # shortest context length behind any of its n-gram tokens
    draft_chars: int = 0  # characters of context before the cursor its buffer draft matched
    draft_rank: int = 9  # 0 = the buffer's longest-match draft; 9 = not a buffer draft
    copy: bool = False  # the copy floor's answer (the longest earlier match's continuation)
    workspace: bool = False  # proposed by the workspace index (other files)
    workspace_top: bool = False  # the workspace index's best (longest context match) draft
    model: bool = False  # the denoiser's own fill
    sources: int = 0  # how many sources proposed it
    syntax_ok: bool = True  # the filled statement parses
    balanced: bool = True  # its line's brackets balance
    unknown_ids: int = 0  # identifiers neither in the file, builtins nor keywords
    repeats_nearby: bool = False  # its whole line already stands within a few lines of the hole
    foreign_attributes: int = 0  # `self.x` names the enclosing class never mentions (class_scope)
    # `json.read`: attributes an imported module does not define (module_members)
    foreign_module_attributes: int = 0
    renamed: bool = False  # a candidate's foreign `self.` attribute renamed to this class's (class_scope)
    attribute_rank: int = 9  # 0 = the class attribute named last, after `self.` (drafts/names.py)
    echoes_neighbour: bool = False  # a call the line before or after already makes (line_candidates)
    tokens: int = 0  # length in denoiser tokens
    scope: str = ""  # the kind of line the names in scope imply (drafts/scope.py, drafts/bindings.py), if one
    scope_rank: int = 9  # 0 = the first line its scope kind proposed; 9 = not a scope draft
    unbound_names: int = 0  # names it uses that nothing in its scope binds (py_scopes.py)
    fresh_names: int = 0  # names it reads that its function binds but nothing uses yet
    fresh_available: bool = False  # the function has such names (whether or not it reads them)
    line_start: bool = False  # the hole starts its line (whole lines are right less often)
    redefines: bool = False  # a def/class of a name its block defines already (redundant_lines)
    assigns_itself: bool = False  # `x = x`
    calls_itself: bool = False  # `return add(a, b)` in `def add(a, b)` (redundant_lines)
    operates_on_itself: bool = False  # `self.w == self.w`, `a - a` (redundant_lines)
    idle: bool = False  # a statement computing a value it throws away (idle_statements)
    stores_unread: bool = False  # assigns a local its function never reads (redundant_lines)
    cuts_off: bool = False  # `return` with code after it in its block (redundant_lines)
    breaks_below: bool = False  # parse errors in the lines after it, a bare `try:` (following_lines)
    # A `def` line over a body: names the body reads that its parameters lack, and
    # parameters the body never reads (signature_fit)
    signature_missing: int = 0
    signature_unread: int = 0
    parameters: bool = False  # the parameter list the body below reads (drafts/names.py)
    # Names the rest of its function reads that nothing else binds: how many its line binds,
    # and how many it leaves unbound (needed_names)
    needed_met: int = 0
    needed_unmet: int = 0
    analogy: bool = False  # proposed by the analogy drafts (drafts/analogy.py)
    analogy_matched: int = 0  # tokens of same-shaped context before it that its analogy matched
    analogy_after: int = 0  # and tokens after it, against the hole's suffix
    name_rank: int = 9  # 0 = the name in scope mentioned last (drafts/names.py); 9 = not a name draft
    line_rest: bool = False  # code follows the hole on its line (a bracket the editor closed)
    after_dot: bool = False  # the hole starts right after a member dot (`obj.|`; line_candidates)
    # n-gram log-prob of the first tokens after it (NgramProposer.lead_in); None: not scored
    lead_in: float | None = None

    def vector(self, best_lead_in: float | None = None) -> list[float]:
        """The ranker's inputs; best_lead_in: the best lead_in among the hole's candidates."""
        # How much worse than its best rival it leads into the code after the hole: the
        # suffix's first tokens are the same for every candidate, so only the gap means something.
        gap = self.lead_in - best_lead_in if self.lead_in is not None and best_lead_in is not None else 0.0
        return [
            self.denoiser,
            max(self.ngram, -30.0) / 10,
            float(self.ngram_rank == 0),
            float(self.ngram_rank < 9),
            min(self.ngram_order, 12) / 12,
            math.log1p(self.draft_chars) / 5,
            float(self.draft_rank == 0),
            float(self.draft_rank < 9),
            float(self.copy),
            float(self.workspace),
            float(self.workspace_top),
            float(self.model),
            min(self.sources, 4) / 4,
            float(self.syntax_ok),
            float(self.balanced),
            min(self.unknown_ids, 4) / 4,
            float(self.repeats_nearby),
            min(self.foreign_attributes, 2) / 2,
            min(self.tokens, 32) / 32,
            float(self.scope == "import"),
            float(self.scope == "init"),
            float(self.scope in ("return", "guard")),
            min(self.unbound_names, 2) / 2,
            float(self.scope == "else"),
            float(self.scope_rank == 0),
            min(self.fresh_names, 2) / 2,
            float(self.fresh_available and not self.fresh_names),
            float(self.line_start),
            float(self.scope == "try"),
            max(gap, -30.0) / 10,
            float(self.analogy),
            math.log1p(self.analogy_matched) / 5,
            math.log1p(self.analogy_after) / 5,
            float(self.name_rank < 9),
            min(self.name_rank, 6) / 6 if self.name_rank < 9 else 0.0,
            float(self.line_rest),
            float(self.renamed),
            float(self.attribute_rank < 9),
            min(self.attribute_rank, 3) / 3 if self.attribute_rank < 9 else 0.0,
            float(self.echoes_neighbour),
            min(self.signature_missing, 2) / 2,
            min(self.signature_unread, 2) / 2,
            float(self.parameters),
            min(self.needed_met, 2) / 2,
            min(self.needed_unmet, 2) / 2,
            float(self.scope == "binds"),
            float(self.after_dot),
        ]

    def admissible(self) -> bool:
        """Whether the candidate may be shown at all; the rest rank after every admissible one.

        Its statement parses; it names no `self.` attribute its class never mentions (right
        in 1 of 178 such candidates on the development and held-out repositories); it uses
        no name its scope never binds (right in none of 380 right answers there, against
        one candidate in five flagged); it adds something (infill.redundant_lines: none of
        398 redefinitions and self-assignments there was right); it names no attribute its
        module lacks (`json.read`; infill.module_members: none of 61 such development
        candidates was right); it is no endless recursion (a function's first statement
        calling it with its own parameters) and no constant (`x == x`, `a - a`: none of 11
        development and held-out candidates was right); it does something (`self._store[key]`
        as a line: none of 595 development and 55 held-out such candidates was right); what it
        stores is read (a local its function never mentions elsewhere, where the function goes
        on: none of 986 development and 81 held-out such candidates was right); no code
        after it in its block is cut off (`return x` over more statements: none of 874
        development and 54 held-out such candidates was right); the code after it still
        parses (infill.following_lines: none of 2,502 development and 158 held-out right
        answers breaks it, against 1,143 of 28,492 development candidates that parse).
        """
        return self.syntax_ok and not any(getattr(self, flag) for flag in NEVER_SHOWN_FLAGS)


# The features that keep a candidate whose statement parses from being shown (admissible).
NEVER_SHOWN_FLAGS = ("foreign_attributes", "unbound_names", "redefines", "assigns_itself",
                     "foreign_module_attributes", "calls_itself", "operates_on_itself", "idle",
                     "stores_unread", "cuts_off", "breaks_below")


FEATURE_NAMES = (
    "denoiser", "ngram", "ngram_top", "ngram_any", "ngram_order", "draft_chars", "draft_top",
    "draft_any", "copy", "workspace", "workspace_top", "model", "sources", "syntax_ok",
    "balanced", "unknown_ids", "repeats_nearby", "foreign_attributes", "tokens", "scope_import",
    "scope_init", "scope_return", "unbound_names", "scope_else", "scope_first", "fresh_names",
    "fresh_missed", "line_start", "scope_try", "lead_in_gap", "analogy", "analogy_match",
    "analogy_after", "name", "name_rank", "line_rest", "renamed", "attribute", "attribute_rank",
    "echoes_neighbour", "signature_missing", "signature_unread", "parameters",
    "needed_met", "needed_unmet", "scope_binds", "after_dot",
)


def unknown_identifiers(candidate: str, known: frozenset[str]) -> int:
    """Identifiers in the candidate that the file, the builtins and the keywords never name."""
    return sum(
        1 for name in set(IDENTIFIER.findall(candidate))
        if name not in known and name not in BUILTIN_WORDS and not keyword.iskeyword(name)
    )


def known_identifiers(text: str) -> frozenset[str]:
    return frozenset(IDENTIFIER.findall(text))


@dataclass(frozen=True)
class HiddenLayer:
    """Tanh units over the standardized features; their weighted sum adds to the linear score."""

    mean: tuple[float, ...]  # (F,) the features' means and spreads on the fitting pools
    scale: tuple[float, ...]
    weights: tuple[tuple[float, ...], ...]  # (H, F)
    bias: tuple[float, ...]  # (H,)
    out: tuple[float, ...]  # (H,)

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Each row's contribution, x being (C, F) raw feature vectors."""
        mean, scale, weights, bias, out = self.arrays
        return np.tanh(((x - mean) / scale) @ weights.T + bias) @ out

    @cached_property
    def arrays(self) -> tuple[np.ndarray, ...]:
        # Converted once: the ranker scores every request's pool.
        return tuple(np.asarray(v, dtype=np.float64)
                     for v in (self.mean, self.scale, self.weights, self.bias, self.out))

    @classmethod
    def of(cls, data: dict) -> HiddenLayer:
        return cls(tuple(data["mean"]), tuple(data["scale"]), tuple(tuple(row) for row in data["weights"]),
                   tuple(data["bias"]), tuple(data["out"]))


@dataclass(frozen=True)
class Ranker:
    weights: tuple[float, ...]
    bias: float  # minus the score of "none of the candidates is right"
    show_at: float  # probability a candidate needs to be shown
    # ... where code follows the hole on its line (a bracket the editor closed): such holes
    # are right less often at the same probability, so they get their own threshold.
    show_at_in_line: float = 1.0
    hidden: HiddenLayer | None = None  # none: a linear score

    def score(self, features: Features, best_lead_in: float | None = None) -> float:
        """The candidate's score against "none is right" (a log-odds when it stands alone)."""
        return float(self.scores(np.array([features.vector(best_lead_in)]))[0])

    def scores(self, x: np.ndarray) -> np.ndarray:
        """The scores of (C, F) feature vectors, unclipped."""
        s = self.bias + x @ np.asarray(self.weights)
        return s + self.hidden.scores(x) if self.hidden is not None else s

    def probability(self, features: Features) -> float:
        """The probability of a candidate with no rival."""
        return self.probabilities([features])[0]

    def probabilities(self, pool: list[Features]) -> list[float]:
        """Each candidate's probability of being the wanted text, its rivals in view.

        A softmax over the candidates' scores and "none is right" (score 0): the
        probabilities sum to less than one, the rest being the chance that none is right.
        """
        if not pool:
            return []
        best = best_lead_in(pool)
        x = np.array([f.vector(best) for f in pool], dtype=np.float64)
        scores = np.clip(self.scores(x), -30.0, 30.0)
        top = max(0.0, float(scores.max()))
        exps = np.exp(scores - top)
        return (exps / (math.exp(-top) + exps.sum())).tolist()


def best_lead_in(pool: list[Features]) -> float | None:
    """The best lead_in among a hole's candidates (None when none was scored)."""
    scored = [f.lead_in for f in pool if f.lead_in is not None]
    return max(scored) if scored else None


@cache
def default_ranker() -> Ranker:
    data = json.loads(resources.files(__package__).joinpath("ranker.json").read_text("utf-8"))
    if tuple(data["features"]) != FEATURE_NAMES:
        raise ValueError("ranker.json was fitted for other features; refit it")
    hidden = HiddenLayer.of(data["hidden"]) if data.get("hidden") else None
    return Ranker(tuple(data["weights"]), data["bias"], data["show_at"], data["show_at_in_line"], hidden)

