"""Scope drafts: whole lines that the code around a hole implies, read from its names.

A 6M-parameter denoiser does not learn the obvious lines a programmer expects from scope:

- an import for a name the file uses but never binds (`import os` above `os.getcwd()`), in
  the import block at the top; the import line is the one Python code at large uses for
  that name (import_lines.json, mined from the corpus by docs/scripts/mine_imports.py);
- in `__init__`, `self.email = email` for the parameters not yet used, in signature order,
  in the attribute style the method already uses (`self._size = size`);
- at the end of a function body, `return NAME` for the local or parameter named last;
- `if __name__ == "__main__":` at module level above an indented block that ends the file;
- `else:` where a block must open (the next line is indented deeper) right after the body of
  an `if`/`elif` at the hole's level;
- `try:` where a block must open and the block under the hole is followed, at the hole's
  level, by `except` or `finally`.

They are proposals only: the ranker weighs them with every other candidate (a feature says
the scope proposed them). Read from indentation and patterns, not a parse, because the
buffer is usually mid-edit; strings and comments are blanked first so their words are not
names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

from ..py_scopes import (
    BUILTIN_WORDS,
    IDENTIFIER,
    NAME,
    STAR_IMPORT,
    Function,
    blank_strings,
    body_below,
    bound_names,
    enclosing_function,
    indentation,
    names_bound_by,
)

IMPORT_LINE = re.compile(r"[ \t]*(import|from)[ \t]")
IMPORT_STATEMENT = re.compile(r"^[ \t]*(?:from[ \t][^\n(]*\([^)]*\)|(?:import|from)[ \t][^\n]*)", re.M)
SELF_ASSIGNED = re.compile(rf"self\.(_*){NAME}[ \t]*(?::[^=\n]*)?=[ \t]*({NAME})[ \t]*$", re.M)
IMPORTS_PROPOSED = 3  # unbound names offered an import line, first used first
RETURNS_PROPOSED = 2  # names offered as `return NAME`, named last first


@cache
def import_table() -> dict[str, str]:
    raw = resources.files(__package__).joinpath("import_lines.json").read_text("utf-8")
    table: dict[str, str] = json.loads(raw)
    return table


@dataclass(frozen=True)
class HoleLine:
    """A whole-line hole: the text without the hole, split at it, and its indentation."""

    above: str  # text before the hole's line
    below: str  # text after the hole's line
    indent: int  # columns before the cursor on the hole's line

    @classmethod
    def of(cls, text: str, start: int, end: int) -> HoleLine | None:
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", end)
        line_end = len(text) if line_end < 0 else line_end
        head, rest = text[line_start:start], text[end:line_end]
        if head.strip() or rest.strip():
            return None  # not a whole-line hole
        return cls(text[:line_start], text[line_end + 1 :], len(head.expandtabs(4)))


def nonblank(lines: list[str]) -> list[str]:
    return [ln for ln in lines if ln.strip() and not ln.strip().startswith("#")]


def scope_drafts(text: str, start: int, end: int) -> dict[str, str]:
    """Lines the scope implies at a whole-line hole text[start:end], most specific first.

    Each with its kind: "import", "guard", "init" (an `__init__` assignment), "return", "else"
    or "try".
    """
    hole = HoleLine.of(text, start, end)
    if hole is None:
        return {}
    blanked_above, blanked_below = blank_strings(hole.above), blank_strings(hole.below)
    drafts = dict.fromkeys(missing_imports(hole, blanked_above, blanked_below), "import")
    drafts.update(dict.fromkeys(entry_guard(hole, text, blanked_below), "guard"))
    drafts.update(dict.fromkeys(else_branch(hole, blanked_above, blanked_below), "else"))
    drafts.update(dict.fromkeys(try_block(hole, blanked_below), "try"))
    func = enclosing_function(blanked_above, hole.indent)
    if func is not None:
        drafts.update(dict.fromkeys(init_assignments(func, hole, blanked_above, blanked_below), "init"))
        drafts.update(dict.fromkeys(returns(func, hole, blanked_above, blanked_below), "return"))
    return drafts


def missing_imports(hole: HoleLine, above: str, below: str) -> list[str]:
    """Import lines for names the file uses but never binds, when the hole is among imports."""
    lines_above = nonblank(above.split("\n"))
    lines_below = nonblank(below.split("\n"))
    near = [ln for ln in (lines_above[-1:] + lines_below[:1]) if indentation(ln) == hole.indent]
    in_block = any(IMPORT_LINE.match(ln) for ln in near)
    # At the top of a module: nothing above but imports (docstrings and comments are blank).
    at_top = hole.indent == 0 and all(IMPORT_LINE.match(ln) or ln[0] in " \t)" for ln in lines_above)
    if not (in_block or at_top):
        return []
    code = above + "\n" + below
    if STAR_IMPORT.search(code):
        return []  # names may come from the star import
    bound = bound_names(code)
    table = import_table()
    wanted: dict[str, str] = {}
    uses = IMPORT_STATEMENT.sub("", code)  # an import line's own names are not uses
    for match in IDENTIFIER.finditer(uses):
        name = match.group(1)
        if name in bound or name in BUILTIN_WORDS or name in wanted or name not in table:
            continue
        if uses[match.end() :].lstrip(" \t").startswith("="):
            continue  # a keyword argument's name (`f(x=1)`), not a use
        wanted[name] = table[name]
    return list(wanted.values())[:IMPORTS_PROPOSED]


def init_assignments(func: Function, hole: HoleLine, above: str, below: str) -> list[str]:
    """`self.p = p` for the parameters `__init__` has not used yet, in signature order."""
    if func.name != "__init__" or hole.indent <= func.indent:
        return []
    body = above[func.body_from :] + "\n" + body_below(below, func.indent)
    used = set(IDENTIFIER.findall(body))
    styles = [m.group(1) for m in SELF_ASSIGNED.finditer(body)]
    style = max(set(styles), key=styles.count) if styles else ""
    return [f"self.{style}{p} = {p}" for p in func.params if p not in used][:2]


def returns(func: Function, hole: HoleLine, above: str, below: str) -> list[str]:
    """`return NAME` at the end of a function's body for the names it mentioned last."""
    if func.name == "__init__" or hole.indent <= func.indent:
        return []
    after = nonblank(below.split("\n"))
    if after and indentation(after[0]) > func.indent:
        return []  # more of the body follows: not its end
    body = above[func.body_from :]
    body_lines = nonblank(body.split("\n"))
    if not body_lines or min(indentation(ln) for ln in body_lines) != hole.indent:
        return []  # the hole is nested in a block, not at the body's own level
    header = above[func.def_from : func.body_from]
    if re.search(r"\byield\b", body) or re.search(r"\)[ \t]*->[ \t]*None[ \t]*:", header):
        return []  # a generator, or declared to return nothing
    # Names assigned at the body's own level, and parameters: loop variables and names of
    # nested blocks are rarely what a function returns.
    level = "\n".join(ln for ln in body_lines
                      if indentation(ln) == hole.indent and not ln.lstrip().startswith("for "))
    local = names_bound_by(level) | set(func.params)  # a small stretch: not worth caching
    recent: list[str] = []
    for name in reversed(IDENTIFIER.findall(body)):
        if name in local and name not in recent and name not in BUILTIN_WORDS:
            recent.append(name)
        if len(recent) == RETURNS_PROPOSED:
            break
    return [f"return {name}" for name in recent]


def entry_guard(hole: HoleLine, text: str, below: str) -> list[str]:
    """The script guard, at module level above an indented block that ends the file."""
    lines = nonblank(below.split("\n"))
    if hole.indent != 0 or not lines or any(indentation(ln) == 0 for ln in lines):
        return []
    if "__main__" in text:
        return []  # the file has its guard already
    quote = "'" if text.count("'") > text.count('"') else '"'
    return [f"if __name__ == {quote}__main__{quote}:"]


def line_at_level(lines: Iterable[str], indent: int) -> str | None:
    """The first of lines not indented deeper than indent, if it stands exactly at indent."""
    for line in lines:
        depth = indentation(line)
        if depth <= indent:
            return line if depth == indent else None
    return None


def opens_block(hole: HoleLine, after: list[str]) -> bool:
    """Whether the first line after the hole is indented deeper: a block must open at the hole."""
    return bool(after) and indentation(after[0]) > hole.indent


def else_branch(hole: HoleLine, above: str, below: str) -> list[str]:
    """`else:` where a block must open and the body of an `if`/`elif` at the hole's level ends."""
    if not opens_block(hole, nonblank(below.split("\n"))):
        return []
    before = line_at_level(reversed(nonblank(above.split("\n"))), hole.indent)  # past the body above
    return ["else:"] if before is not None and re.match(r"[ \t]*(?:if|elif)\b", before) else []


def try_block(hole: HoleLine, below: str) -> list[str]:
    """`try:` where a block opens under the hole and an `except` or `finally` closes it."""
    after = nonblank(below.split("\n"))
    if not opens_block(hole, after):
        return []
    closer = line_at_level(after[1:], hole.indent)  # past the block under the hole
    return ["try:"] if closer is not None and re.match(r"[ \t]*(?:except\b|finally[ \t]*:)", closer) else []
