"""Name drafts: an argument is most often a name the code in scope just used.

At `f.write(|)` (the editor closed the bracket) or after `, ` in an argument list, the text
wanted is often one name: a parameter, a local, the `with` target. No draft source copies
it when the buffer never wrote this call before; the denoiser, which sees the code around,
is better at choosing among names than at spelling one. So the names in scope, most recently
mentioned first, are offered at such a cursor; the ranker weighs them (their rank is a feature).

Where the rest of the line is empty (no bracket closed by the editor), the name comes with the
brackets the line left open closed (`print(|` -> `name)`), as a rest-of-line hole wants.

Right after `self.`, the same holds for the class's attributes: those named last come first
(`return self.width * self.|` -> `height`).

Inside a signature whose body stands below (`def pair(|):` over `return [left, right]`), the
parameters are the names the body reads that nothing binds, first read first, after `self`
or `cls` in a method (signature_fit). On the development holes 60 of 126 such drafts were
right, 17 of them where no other source had the right text.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..py_scopes import DEF_LINE, IDENTIFIER, UNUSABLE, blank_literals
from ..signature_fit import BodyNames, implicit_parameter

RECENT_CHARS = 1_500  # text before the cursor read for recent names
MAX_NAMES = 6  # drafts offered at one cursor
CLOSERS = {"(": ")", "[": "]", "{": "}"}


def _closing(blanked_head: str) -> str | None:
    """The brackets a line's head leaves open, closed in order; None if it closes one it did not open."""
    stack: list[str] = []
    for ch in blanked_head:
        if ch in CLOSERS:
            stack.append(CLOSERS[ch])
        elif ch in ")]}":
            if not stack:
                return None  # brackets opened on an earlier line: their closing is not known
            stack.pop()
    return "".join(reversed(stack))


def closers_due(text: str, end: int, blanked_head: str, need_open: bool) -> str | None:
    """What a draft ending at text[end] must close: the brackets its line's head left open.

    Nothing where code follows on the line (the editor closed them). None where the head
    closes brackets opened above (their closing is not known), or, with need_open, where the
    line ends and nothing is open (no argument is being written).
    """
    line_end = text.find("\n", end)
    if text[end : line_end if line_end >= 0 else len(text)].strip():
        return ""
    found = _closing(blanked_head)
    return None if found is None or (need_open and not found) else found


def name_drafts(text: str, start: int, end: int, scope: frozenset[str] | None) -> list[str]:
    """Names for an argument at text[start:end], most recent first (each with its closers where due).

    scope: the names bound there (py_scopes.names_in_scope; None: cannot tell, so no drafts).
    """
    line_start = text.rfind("\n", 0, start) + 1
    line_head = text[line_start:start]
    blanked_head = blank_literals(line_head)
    if not re.search(r"[(\[][ \t]*$|,[ \t]*$", blanked_head):
        return []
    closers = closers_due(text, end, blanked_head, need_open=True)
    if closers is None or not scope:
        return []
    callee = re.search(r"([A-Za-z_]\w*)[ \t]*\($", blanked_head)
    skip = set(UNUSABLE) - {"self", "cls"}
    if callee is not None:
        skip.add(callee.group(1))  # `f(f)` is rarely meant
    already = set(IDENTIFIER.findall(blanked_head[blanked_head.rfind("(") + 1 :]))  # `f(a, a)` neither
    recent: list[str] = []
    before = blank_literals(text[max(0, start - RECENT_CHARS) : line_start])
    for match in reversed(list(IDENTIFIER.finditer(before + blanked_head))):
        name = match.group(1)
        if name in scope and name not in skip and name not in already and name not in recent:
            recent.append(name)
            if len(recent) == MAX_NAMES:
                break
    return [name + closers for name in recent]


def attribute_drafts(text: str, start: int, end: int, recent: list[str]) -> list[str]:
    """The class's attributes named last, at a cursor right after `self.` (each with its closers).

    recent: the enclosing class's attributes, latest first (class_scope.recent_attributes).
    """
    line_start = text.rfind("\n", 0, start) + 1
    blanked_head = blank_literals(text[line_start:start])
    if not re.search(r"(?<![\w.])self\.$", blanked_head):
        return []
    closers = closers_due(text, end, blanked_head, need_open=False)
    if closers is None:
        return []
    # Not one its line named already: `self.width * self.width` is rarely meant.
    already = set(re.findall(r"(?<![\w.])self\.([A-Za-z_]\w*)", blanked_head))
    return [name + closers for name in recent if name not in already]


def parameter_drafts(text: str, start: int, end: int, body_of: Callable[[], BodyNames | None]) -> list[str]:
    """The parameter list the body below reads, at a cursor right after `def name(` whose `)` follows.

    body_of: what the block under the cursor's line reads (signature_fit.body_names), read
    only at such a cursor.
    """
    line_start = text.rfind("\n", 0, start) + 1
    if DEF_LINE.fullmatch(text[line_start:start]) is None or not text[end:].lstrip(" \t").startswith(")"):
        return []
    if (body := body_of()) is None:
        return []
    first = implicit_parameter(text, line_start)
    names = ([first] if first else []) + list(body.free)
    return [", ".join(names)] if names else []
