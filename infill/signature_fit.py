"""Whether a `def` line's parameters fit the body written below it.

When the body stands already (the signature is being written or rewritten, or a whole `def`
line is proposed above it), the names the body reads say what the parameters are: a name the
body reads that nothing binds must be a parameter (`def value_projection(left):` over a body
that reads `right`), and a parameter the body never reads is rarely meant. Of the `def`
lines proposed over a body for the development holes, 222 of 1,750 that fit were right
(12.7%), 6 of 1,439 that lack a name the body reads, and 10 of 1,035 that only leave a
parameter unread. The ranker weighs both counts.

Read from patterns on blanked text (py_scopes), like the other scope readers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .class_scope import CLASS_LINE
from .py_scopes import (
    BUILTIN_WORDS,
    DEF_LINE,
    IDENTIFIER,
    MODULE_DUNDERS,
    NAME,
    blank_literals,
    body_below,
    closing_paren,
    indentation,
    names_bound_by,
    split_top_level,
    surroundings,
)

SCAN_CHARS = 100_000  # text above a def line searched for its class line
# Bodies that leave parameters unread on purpose: stubs, abstract methods, overrides that refuse.
STUB_BODY = re.compile(r"(?:pass|\.\.\.|raise[ \t]+NotImplementedError\b.*|return[ \t]+NotImplemented)")
IMPLICIT = frozenset({"self", "cls"})


@dataclass(frozen=True)
class BodyNames:
    """What the block below a line reads."""

    reads: frozenset[str]  # names it reads
    free: tuple[str, ...]  # names it reads that nothing in it or around the line binds, first read first
    stub: bool  # a stub body (`pass`, `...`, `raise NotImplementedError`)


def body_names(text: str, start: int, end: int, scope: frozenset[str] | None) -> BodyNames | None:
    """What the block indented under the hole's line reads; None without one or where scope is unknown.

    scope: the names bound at the hole (py_scopes.names_in_scope).
    """
    if scope is None:
        return None
    _, below, _ = surroundings(text, start, end)
    line_start = text.rfind("\n", 0, start) + 1
    code = (body := body_below(below, indentation(text[line_start:start]))).strip()
    if not code:
        return None
    names = IDENTIFIER.findall(body)
    unbound = set(names) - names_bound_by(body) - scope - BUILTIN_WORDS - MODULE_DUNDERS - IMPLICIT
    free = tuple(dict.fromkeys(name for name in names if name in unbound))
    return BodyNames(frozenset(names), free, STUB_BODY.fullmatch(" ".join(code.split())) is not None)


def signature_misfit(line: str, body: BodyNames) -> tuple[int, int] | None:
    """(names the body reads that the parameters lack, parameters the body never reads).

    line: the whole filled line. None when it is no complete one-line `def` signature.
    """
    blanked = blank_literals(line)
    match = DEF_LINE.match(blanked)
    close = closing_paren(blanked, match.end()) if match else None
    if match is None or close is None:
        return None
    params: set[str] = set()
    for part in split_top_level(blanked[match.end() : close]):
        name = part.split(":")[0].split("=")[0].strip().lstrip("*").strip()
        if re.fullmatch(NAME, name):
            params.add(name)
    missing = len(set(body.free) - params)
    unread = 0 if body.stub else sum(
        1 for name in params - body.reads if name not in IMPLICIT and not name.startswith("_"))
    return missing, unread



def implicit_parameter(text: str, line_start: int) -> str | None:
    """`self` or `cls` for a def line at line_start that is a method; None for a function or static method."""
    line_end = text.find("\n", line_start)
    indent = indentation(text[line_start : len(text) if line_end < 0 else line_end])
    if indent == 0:
        return None
    decorators: list[str] = []  # those right above the def line
    above = text[max(0, line_start - SCAN_CHARS) : line_start].split("\n")[:-1]
    right_above = True
    for line in reversed(above):
        if not line.strip():
            continue
        if right_above and indentation(line) == indent and line.lstrip().startswith("@"):
            decorators.append(line.strip())
            continue
        right_above = False
        if indentation(line) >= indent or line.lstrip().startswith(("#", ")", "]", "}")):
            continue
        if not CLASS_LINE.match(line):
            return None  # a nested function
        if any(d.startswith("@staticmethod") for d in decorators):
            return None
        return "cls" if any(d.startswith("@classmethod") for d in decorators) else "self"
    return None
