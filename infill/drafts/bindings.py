"""Binding drafts: the obvious line that binds what the code under a whole-line hole needs.

When the rest of the function reads names nothing else binds (infill.needed_names), the
hole's line must bind them, and for three shapes the line is plain from how they are read:

- a block opens under the hole: a loop over the collection its variable is one of,
  `for item in items:` (or `self.items`), `for i, item in enumerate(items):` when the first
  name is an index, `for line in f:` over a file the function opened;
- the name is filled by `.append(...)`, `[key] = ...`, `.add(...)` or `+= 1` below: it starts
  empty, `result = []`, `counts = {}`, `seen = set()`, `total = 0`;
- the class has an attribute of that name: `_lists = self._lists` (a local alias of it).

Of the development repositories' 164 whole-line holes inside a function whose code below
needs a name, 10 were such loops, 12 such empty starts and 3 such aliases. They are proposals
only: the ranker weighs them (scope kind "binds") with every other candidate.
"""

from __future__ import annotations

import re

from ..py_scopes import NAME, blank_strings, body_below, enclosing_function
from .scope import HoleLine, nonblank, opens_block

INDEX_NAMES = frozenset({"i", "j", "k", "n", "idx", "index", "pos", "position", "num", "count", "lineno"})
FILE_HANDLE = re.compile(rf"\bopen\([^\n]*\)[ \t]+as[ \t]+({NAME})[ \t]*:")
PROPOSED = 2  # binding lines offered per hole


def binding_drafts(text: str, start: int, end: int, needed: tuple[str, ...],
                   scope: frozenset[str] | None) -> list[str]:
    """Lines binding the names needed below a whole-line hole text[start:end], likeliest first."""
    hole = HoleLine.of(text, start, end)
    if hole is None or not needed or scope is None:
        return []
    above, below = blank_strings(hole.above), blank_strings(hole.below)
    func = enclosing_function(above, hole.indent)
    if func is None:
        return []
    if opens_block(hole, nonblank(below.split("\n"))):
        body = above[func.body_from :]
        return loop_headers(needed, scope, attributes(text), FILE_HANDLE.findall(body))[:PROPOSED]
    rest = body_below(below, func.indent)
    drafts = [line for name in needed[:PROPOSED] if (line := empty_start(name, rest))]
    drafts += [f"{name} = self.{name}" for name in needed[:1] if name in attributes(text)]
    return drafts[:PROPOSED]


def attributes(text: str) -> frozenset[str]:
    """The `self.` attributes the text names."""
    return frozenset(re.findall(rf"\bself\.({NAME})", text))


def plurals(name: str) -> tuple[str, ...]:
    """The collection names a loop variable is one of: `item` -> `items`; `entry` -> `entries`."""
    forms = [name + "s", name + "es"]
    if name.endswith("y"):
        forms.append(name[:-1] + "ies")
    return tuple(forms)


def collection_of(name: str, scope: frozenset[str], attrs: frozenset[str]) -> str | None:
    """The name in scope (or else the `self.` attribute) holding the values `name` stands for."""
    for form in plurals(name):
        if form in scope:
            return form
    for form in plurals(name):
        if form in attrs:
            return f"self.{form}"
    return None


def loop_headers(needed: tuple[str, ...], scope: frozenset[str], attrs: frozenset[str],
                 handles: list[str]) -> list[str]:
    """Loop headers binding the first needed names, over a collection their names imply."""
    first = needed[0]
    headers = []
    if first in INDEX_NAMES and len(needed) > 1:
        if (over := collection_of(needed[1], scope, attrs)) is not None:
            headers.append(f"for {first}, {needed[1]} in enumerate({over}):")
    elif len(needed) > 1 and needed[1] in INDEX_NAMES:
        if (over := collection_of(first, scope, attrs)) is not None:
            headers.append(f"for {needed[1]}, {first} in enumerate({over}):")
    if (over := collection_of(first, scope, attrs)) is not None:
        headers.append(f"for {first} in {over}:")
    # A function reading an opened file line by line: `for line in f:`.
    headers += [f"for {first} in {handle}:" for handle in handles[-1:] if handle in scope]
    return headers


def empty_start(name: str, rest: str) -> str | None:
    """`name = []` (or `{}`, `set()`, `0`) when the code below fills name and reads nothing before."""
    escaped = re.escape(name)
    first_use = re.search(rf"(?<![\w.]){escaped}\b(.{{0,12}})", rest)
    if first_use is None:
        return None
    after = first_use.group(1).lstrip()
    if after.startswith((".append(", ".extend(", ".insert(")):
        return f"{name} = []"
    keyed = re.match(rf"{escaped}\[[^\]\n]*\][ \t]*=[^=]", rest[first_use.start() :])
    if keyed is not None or after.startswith(".setdefault("):
        return f"{name} = {{}}"
    if after.startswith(".add("):
        return f"{name} = set()"
    if re.match(r"\+=[ \t]*\d", after):
        return f"{name} = 0"
    return None

