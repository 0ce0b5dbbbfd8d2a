"""Candidates for a single-line hole: every source's proposals, cleaned, merged and described.

Sources: the buffer's drafts (what followed the same context elsewhere in the file), the
caller's drafts (workspace index, other documents), the n-gram proposer (the file as a cache
plus the corpus index) and the denoiser's own fill. The same text from several sources is
one candidate that knows all of them. Candidates that repeat the line before or after the
hole, or the code right after the cursor, are dropped: a suggestion that duplicates what is
already there is never what the user wants.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from diffill.model.denoiser import Bools, Denoiser, Floats, Tokens

from . import postprocess
from .class_scope import assigned_attribute, class_attributes, foreign_attributes, recent_attributes
from .following_lines import breaks_following_lines
from .idle_statements import idle_statement
from .module_members import BufferImports, ModuleMembers
from .needed_names import names_needed_below, needed_bound
from .py_scopes import Function, fresh_uses, names_in_scope, unbound_names, unused_bindings
from .ranking import IDENTIFIER, Features, known_identifiers, unknown_identifiers
from .redundant_lines import (
    assigns_itself,
    calls_itself,
    cuts_off,
    first_statement_of,
    function_mentions,
    next_code_indent,
    operates_on_itself,
    redefines,
    stores_unread,
)
from .sampler import WarmStart, context_cache, forward
from .scoring_process import prior_from_logits
from .signature_fit import BodyNames, body_names, signature_misfit
from .syntax import StatementChecker, brackets_balanced

NEARBY_LINES = 12  # non-blank lines on each side that a candidate should not merely repeat
ECHO_CHARS = 8  # a call at least this long standing in a neighbouring line is an echo of it
WORD_BEFORE_CURSOR = re.compile(IDENTIFIER.pattern + "$")  # the name the line head ends with
# A member dot right before the cursor: after a name, a call, a subscript or a string
# (`"".join`), not an ellipsis or a number's point.
MEMBER_DOT = re.compile(r"(?:(?<!\w)[A-Za-z_]\w*|[)\]}'\"])\.$")


@dataclass
class Hole:
    """The text around a single-line hole, as the candidate filters need it."""

    text: str
    start: int
    end: int
    language: str | None
    at_line_start: bool
    line_before: str  # the previous non-blank line, stripped
    line_after: str  # the next non-blank line, stripped
    rest: str  # the rest of the cursor line after the hole
    nearby: frozenset[str]  # the other lines within NEARBY_LINES of the hole, stripped
    members: ModuleMembers | None = None  # what imported modules define (None: not judged)

    @classmethod
    def of(cls, text: str, start: int, end: int, language: str | None,
           members: ModuleMembers | None = None) -> Hole:
        line_start = text.rfind("\n", 0, start) + 1
        before = [ln.strip() for ln in text[max(0, line_start - 4000) : line_start].split("\n") if ln.strip()]
        line_end = text.find("\n", end)
        tail = text[line_end + 1 : line_end + 4000].split("\n") if line_end >= 0 else []
        after = [ln.strip() for ln in tail if ln.strip()]
        nearby = frozenset(before[-NEARBY_LINES:] + after[:NEARBY_LINES])
        return cls(text, start, end, language, not text[line_start:start].strip(),
                   before[-1] if before else "", after[0] if after else "",
                   postprocess.rest_of_line(text, end), nearby, members if language == "python" else None)

    @property
    def code_after(self) -> bool:
        """Whether code follows the hole on its line (a bracket the editor closed, `f.write(|)`)."""
        return not self.at_line_start and bool(self.rest.strip())

    @cached_property
    def after_dot(self) -> bool:
        """Whether the cursor stands right after a member dot (`obj.|`): which member comes is a guess."""
        return bool(MEMBER_DOT.search(self.line_head))

    @cached_property
    def word(self) -> str:
        """The name the cursor stands right after: often one still being typed (`self.em|`)."""
        found = WORD_BEFORE_CURSOR.search(self.line_head)
        return found.group() if found else ""

    @cached_property
    def attributes(self) -> frozenset[str] | None:
        """The enclosing class's attributes; None outside a class.

        Read only when a candidate names a `self.` attribute, which most never do.
        """
        return class_attributes(self.text, self.start, self.end)

    @cached_property
    def recent_attributes(self) -> list[str]:
        """The class's attributes named last before the hole (empty outside a class)."""
        known = self.attributes
        return recent_attributes(self.text, self.start, known) if known is not None else []

    @cached_property
    def statements(self) -> StatementChecker:
        """Judges whether each fill leaves its statement parsing (one parse, then edits)."""
        return StatementChecker(self.text, self.start, self.end, self.language)

    @cached_property
    def names_in_scope(self) -> frozenset[str] | None:
        """Names bound where the hole stands (None: cannot tell, or not Python)."""
        return names_in_scope(self.text, self.start, self.end) if self.language == "python" else None

    @cached_property
    def needed(self) -> tuple[str, ...]:
        """Names the rest of its function reads that only the hole's line can bind (Python; else none)."""
        if self.language != "python":
            return ()
        return names_needed_below(self.text, self.start, self.end, self.names_in_scope)

    @cached_property
    def unused(self) -> frozenset[str]:
        """Names the enclosing function binds and never uses yet (Python; else empty)."""
        return unused_bindings(self.text, self.start, self.end) if self.language == "python" else frozenset()

    @cached_property
    def known(self) -> frozenset[str]:
        """Identifiers the text names outside the hole (read once per hole, not per describe).

        Not the name the cursor stands after: a fill completes it (`em` + `ail`), and what
        the completed name is, not the typed part, should be judged known or not.
        """
        return known_identifiers(self.text[: self.start - len(self.word)] + " " + self.text[self.end :])

    @cached_property
    def starts_function(self) -> Function | None:
        """The function whose body the hole's line begins (Python; else None)."""
        return first_statement_of(self.text, self.start, self.end) if self.language == "python" else None

    @cached_property
    def mentions(self) -> frozenset[str] | None:
        """The names the function around the hole mentions outside its line (Python; see redundant_lines)."""
        return function_mentions(self.text, self.start, self.end) if self.language == "python" else None

    @cached_property
    def next_indent(self) -> int | None:
        """The indentation of the first code line below the hole's line (see redundant_lines)."""
        return next_code_indent(self.text, self.start, self.end)

    @cached_property
    def body(self) -> BodyNames | None:
        """What the block under the hole's line reads (Python; None without one)."""
        if self.language != "python":
            return None
        return body_names(self.text, self.start, self.end, self.names_in_scope)

    @cached_property
    def imports(self) -> BufferImports | None:
        """The buffer's names bound to modules (None when modules are not judged)."""
        return BufferImports(self.text) if self.members is not None else None

    def module_attributes(self, line: str, fill: str) -> tuple[int, frozenset[str]]:
        """Module attributes the fill names in its line that the module lacks, and those it has."""
        if self.members is None or not self.imports:  # no module imported
            return 0, frozenset()
        head = len(self.line_head)
        return self.members.foreign(line, head, head + len(fill), self.imports)

    def prepare(self) -> None:
        """Read what describing any candidate needs (a scoring pass elsewhere has time for it)."""
        _ = self.known, self.statements, self.names_in_scope, self.unused, self.imports, self.starts_function
        _ = self.mentions, self.next_indent, self.needed

    @property
    def line_head(self) -> str:
        """The cursor line up to the hole."""
        return self.text[self.text.rfind("\n", 0, self.start) + 1 : self.start]

    def echoes_neighbour(self, fill: str) -> bool:
        """Whether the fill is a call the line before or after already makes.

        `args = parser.add_argument("name")` under `parser.add_argument("name")`: the line
        differs, but what it does was just done.
        """
        core = (self.word + fill).split("\n")[0].strip()
        if len(core) < ECHO_CHARS or "(" not in core:
            return False
        return core in self.line_before or core in self.line_after

    def repeats_neighbour(self, fill: str) -> bool:
        """Whether the filled line equals the line before or after, or the fill the code after it."""
        line = (self.line_head + fill.rstrip("\n") + ("" if fill.endswith("\n") else self.rest)).strip()
        if line and line in (self.line_before, self.line_after):
            return True
        if fill.endswith("\n"):  # a new line before code: that code is the line after
            return line == postprocess.rest_of_line(self.text, self.end).strip()
        following = self.text[self.end :].lstrip()
        return bool(fill.strip()) and following.startswith(fill.strip()) and not self.rest.strip()


@dataclass
class Pool:
    """Cleaned candidates and their features, in the order they were first proposed."""

    hole: Hole
    clean: Callable[[str], str | None]
    forbidden: str | None = None
    items: dict[str, Features] = field(default_factory=dict)

    def offer(self, raw: str) -> Features | None:
        """The candidate's features (new or merged), or None when it is dropped."""
        fill = self.clean(raw)
        if fill is not None and self.hole.at_line_start and self.hole.line_head:
            fill = fill.lstrip(" \t")  # the user typed the indentation already
        if fill is None or (self.forbidden and self.forbidden in fill) or self.hole.repeats_neighbour(fill):
            return None
        feats = self.items.setdefault(fill, Features())
        feats.sources += 1
        return feats

    def offer_model_lines(self, lines: list[str], denoiser: Denoiser, prior: Floats | None,
                          healed: str) -> None:
        """Offer the denoiser's own lines and describe those that are new to the pool."""
        described = set(self.items)
        for line in lines:
            if (f := self.offer(line)) is not None:
                f.sources -= f.model  # the same line sampled twice is still one source
                f.model = True
        # By the cleaned text the pool keys them with, which may differ from the decoded one.
        self.describe(denoiser, prior, healed, only=[fill for fill in self.items if fill not in described])

    def describe(self, denoiser: Denoiser, prior: Floats | None, healed: str,
                 only: list[str] | None = None) -> None:
        """Fill in the features every candidate gets: syntax, identifiers, denoiser score.

        prior: (K, V) log-probabilities of the hole slots with every slot masked (one
        forward: the denoiser's view of the hole given the prefix and the suffix). only: the
        candidates to describe, when the others are described already.
        """
        hole = self.hole
        known = hole.known
        for fill, feats in self.items.items():
            if only is not None and fill not in only:
                continue
            judged = hole.statements.judge(fill)
            feats.syntax_ok = judged is None or judged.ok
            line = hole.line_head + fill + ("" if fill.endswith("\n") else hole.rest)
            feats.balanced = brackets_balanced(line.split("\n")[0])
            # `json.load`: the module defines it, though the file never wrote it.
            lacking, defined = hole.module_attributes(line.split("\n")[0], fill)
            feats.foreign_module_attributes = lacking
            # The name being typed and the fill read as one: `pri` + `(item)` names `pri`.
            feats.unknown_ids = unknown_identifiers(hole.word + fill, known | defined)
            if "self." in fill:
                attributes = hole.attributes
                if feats.scope == "init" and attributes is not None:
                    # An `__init__` draft for an unused parameter defines its attribute; of the
                    # development holes' other `self.x = ...` lines naming a new x, 2 in 30 were right.
                    attributes = attributes | assigned_attribute(fill)
                feats.foreign_attributes = foreign_attributes(fill, attributes)
            feats.unbound_names = unbound_names(hole.line_head, fill, hole.names_in_scope)
            if hole.language == "python":
                feats.redefines = redefines(hole.text, hole.start, hole.end, fill)
                feats.assigns_itself = assigns_itself(hole.line_head, fill)
                feats.calls_itself = calls_itself(line.split("\n")[0], hole.starts_function)
                feats.operates_on_itself = operates_on_itself(hole.line_head, fill)
                feats.idle = judged is not None and idle_statement(judged)
                feats.breaks_below = judged is not None and judged.ok and breaks_following_lines(judged)
                feats.stores_unread = stores_unread(line.split("\n")[0], hole.mentions)
                feats.needed_met, feats.needed_unmet = needed_bound(line.split("\n")[0], hole.needed)
                ends_line = "\n" not in fill and not hole.rest.strip()
                feats.cuts_off = ends_line and cuts_off(line, hole.next_indent)
                if "def" in line and "\n" not in fill and hole.body is not None:
                    misfit = signature_misfit(line, hole.body)
                    feats.signature_missing, feats.signature_unread = misfit or (0, 0)
            # Code reads what it just bound: `return f.read()` under `with open(p) as f:`.
            feats.fresh_names = fresh_uses(hole.line_head, fill, hole.unused)
            feats.fresh_available = bool(hole.unused)
            # The same for every candidate of a hole: it moves confidence, not the order, so
            # whole-line holes (right less often) need more to be shown.
            feats.line_start = hole.at_line_start
            feats.line_rest = hole.code_after
            feats.after_dot = hole.after_dot
            # A line already standing a few lines away is rarely wanted again (a copied
            # `self.size = size` as a getter's body), but `else:` or `pass` may be: learned.
            feats.repeats_nearby = line.split("\n")[0].strip() in hole.nearby
            feats.echoes_neighbour = hole.echoes_neighbour(fill)
            ids = denoiser.tokenizer.encode(healed + fill.rstrip("\n")).ids
            feats.tokens = len(ids)
            if prior is not None:
                feats.denoiser = slot_score(prior, ids, denoiser.ids.null)


def slot_score(prior: Floats, ids: list[int], null: int) -> float:
    """Mean log-probability of ids in the first slots and of the end (null) after them."""
    k = prior.shape[0]
    if len(ids) > k:
        return -10.0
    seq = ids + ([null] if len(ids) < k else [])
    lp = prior[np.arange(len(seq)), np.array(seq, dtype=np.int64)]
    return max(float(lp.mean()), -10.0) if len(seq) else -10.0


def masked_prior(denoiser: Denoiser, ids: Tokens, attention: Tokens, positions: list[int],
                 allowed_first: Bools | None, refresh_every: int = 1) -> tuple[Floats, WarmStart]:
    """(K, V) log-probabilities of each hole slot with all slots masked (row 0 of ids).

    Also returns that pass as the denoising loop's first step (`WarmStart`): the loop would
    otherwise run the same forward over the same all-masked canvas again.
    """
    pos = np.array([positions], dtype=np.int64)
    cache = context_cache(denoiser, refresh_every)
    raw = forward(denoiser, ids[:1], attention[:1], pos, cache)
    return prior_from_logits(raw, denoiser.forbidden, allowed_first), WarmStart(raw, cache)
