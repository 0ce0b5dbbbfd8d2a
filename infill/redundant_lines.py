"""Candidate lines that cannot be what the programmer is writing: they add nothing.

- A `def` or `class` of a name its block already defines (a copied `def __repr__(self):`
  in a class that has one): on the development and held-out repositories none of 330 such
  candidates was right. Decorated definitions are left alone: `@overload` stubs, a
  property's `@x.setter`, `@f.register` define one name several times on purpose.
- An annotated name its block already declares (`x: int` under `x: float` in a dataclass, a
  parameter a multi-line signature has): none of 63 such candidates was right.
- An assignment of a name to itself (`index = index`).
- A function's first statement calling that function with its own parameters unchanged
  (`return add(a, b)` as the body of `def add(a, b)`): a recursion that never ends. Later in
  a body the same call can be right (the state changed); there it is not flagged. None of 9
  such development candidates was right.
- An operand compared with itself, or taken from itself (`self.width == self.width`, `a -
  a`): a constant. None of 10 development and 1 held-out such candidates was right.
- A `return`, `raise`, `continue` or `break` with code after it in its block: that code could
  never run. None of 874 development and 54 held-out such candidates was right.
- An assignment to a name nothing else in its function mentions, where the function goes on
  after the line (`result = 0` in a loop whose body then returns `total`): nothing reads what
  it stores. None of 986 development and 81 held-out such candidates was right. At a
  function's last line it is left alone: code written top down reads its new names later.

Read from indentation, strings and comments blanked (py_scopes.surroundings), like the other
scope readers: the buffer is usually mid-edit.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable

from .py_scopes import (
    IDENTIFIER,
    Function,
    blank_strings,
    body_below,
    enclosing_function,
    indentation,
    surroundings,
)
from .syntax import brackets_balanced

DEFINITION = re.compile(r"[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+([A-Za-z_]\w*)")
DECLARATION = re.compile(r"[ \t]*([A-Za-z_]\w*)[ \t]*:[ \t]*(?!=)\S")  # `name: type`, not `name:=`
BLOCK_WORDS = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist)  # `else: x`, `case y: ...`
SELF_ASSIGNMENT = re.compile(r"[ \t]*([A-Za-z_][\w.]*)[ \t]*=[ \t]*\1[ \t]*(?:#.*)?")
# `x OP x` ending a line (closers aside), for an operator that makes it a constant.
NEXT_CODE = re.compile(r"^[ \t]*\S", re.M)  # the start of the first line that is not blank
JUMP = re.compile(r"[ \t]*(?:return|raise|continue|break)\b")
ASSIGNED_NAME = re.compile(r"[ \t]*([A-Za-z_]\w*)[ \t]*(?::[^=\n]*)?=(?!=)")  # `x = `, `x: int = `
TRIVIAL_OPERATION = re.compile(
    r"(?<![\w.)\]])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)[ \t]*"
    r"(?:==|!=|<=|>=|<|>|-|//|/|%|\band\b|\bor\b|\bis(?:[ \t]+not)?\b)[ \t]*\1[ \t:,;)\]}]*$")


def redefines(text: str, start: int, end: int, candidate: str) -> bool:
    """Whether the candidate's line defines (undecorated) or declares a name its block already has."""
    line_start = text.rfind("\n", 0, start) + 1
    line = (text[line_start:start] + candidate).split("\n")[0]
    match = DEFINITION.match(line)
    declared = None if match is not None else DECLARATION.match(line)
    if match is None and (declared is None or declared.group(1) in BLOCK_WORDS):
        return False
    found = match or declared
    assert found is not None
    name = found.group(1)
    above, below, _ = surroundings(text, start, end)
    if name not in above and name not in below:
        return False  # most names: no walk through the block's lines
    above_lines = above.split("\n")[:-1]  # `above` ends with the newline before the hole's line
    level = indentation(line)
    if declared is not None:
        return (declared_in_block(reversed(above_lines), name, level)
                or declared_in_block(below.split("\n"), name, level))
    if decorated(above_lines):
        return False
    return (defined_in_block(reversed(above_lines), name, level, above_lines)
            or defined_in_block(below.split("\n"), name, level, None))


def decorated(lines_above: list[str]) -> bool:
    """Whether the last non-blank line of lines_above is a decorator."""
    for line in reversed(lines_above):
        if line.strip():
            return line.lstrip().startswith("@")
    return False


def defined_in_block(lines: Iterable[str], name: str, level: int, above: list[str] | None) -> bool:
    """Whether an undecorated definition of name stands at `level` before the block ends.

    lines run away from the hole (upwards when above is the list they come from, which the
    decorator check reads; downwards otherwise, where a definition's decorators come first).
    """
    decorator_seen = False
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        indent = indentation(line)
        if indent < level:
            return False  # out of the block the hole is in
        if indent > level:
            continue
        if line.lstrip().startswith("@"):
            decorator_seen = True
            continue
        match = DEFINITION.match(line)
        if match is not None and match.group(1) == name:
            if above is not None:
                return not decorated(above[: len(above) - 1 - i])
            return not decorator_seen
        decorator_seen = False
    return False


def declared_in_block(lines: Iterable[str], name: str, level: int) -> bool:
    """Whether `name: ...` stands at `level` before the block ends (lines run away from the hole)."""
    for line in lines:
        if not line.strip():
            continue
        indent = indentation(line)
        if indent < level:
            return False
        if indent == level and (match := DECLARATION.match(line)) is not None and match.group(1) == name:
            return True
    return False


def assigns_itself(line_head: str, candidate: str) -> bool:
    """Whether the candidate's line assigns a name to itself (`x = x`)."""
    return SELF_ASSIGNMENT.fullmatch((line_head + candidate).split("\n")[0].rstrip()) is not None


def first_statement_of(text: str, start: int, end: int) -> Function | None:
    """The function whose body the hole's line begins: nothing of its body stands above it."""
    above, _, indent = surroundings(text, start, end)
    func = enclosing_function(above, indent)
    # Strings and comments are blanked: a docstring above the hole leaves only spaces.
    return func if func is not None and not above[func.body_from :].strip() else None


def calls_itself(line: str, func: Function | None) -> bool:
    """Whether a line calls func with func's own parameters, unchanged.

    func: the function whose first statement the line is (first_statement_of). `return
    add(a, b)` as the body of `def add(a, b)` is a recursion that never ends; later in a
    body the state may have changed (`self._reallocate()` before `return self.set(key,
    val)`), and the same call is right there.
    """
    if func is None or func.name not in line:
        return False
    args = r"[ \t]*,[ \t]*".join(re.escape(p) for p in func.params)
    receiver = r"(?:(?:self|cls)[ \t]*\.[ \t]*)?"
    call = rf"(?<![\w.]){receiver}{re.escape(func.name)}[ \t]*\([ \t]*{args}[ \t]*,?[ \t]*\)"
    return re.search(call, line) is not None



def operates_on_itself(line_head: str, candidate: str) -> bool:
    """Whether the candidate ends its line with an operand compared with itself.

    `self.width == self.` + `width`, `a - a`, `x / x`: constants, never what is meant.
    `x * x` and `x + x` are left alone (a square, a double).
    """
    line = blank_strings(line_head + candidate.split("\n")[0]).rstrip()
    found = TRIVIAL_OPERATION.search(line)
    if found is None or found.end() <= len(line_head.rstrip()):
        return False
    # `a + b == b`, `lo - hi - hi`: an operator before takes the left operand further.
    return not line[: found.start()].rstrip().endswith(tuple("-+*/%<>=!&|^~@"))


def function_mentions(text: str, start: int, end: int) -> frozenset[str] | None:
    """Every name the function around the hole's line mentions outside that line.

    None where a new local's reader need not be written yet, or there is no function: at
    module or class level, inside brackets opened above, and at the function's last line.
    Names in strings and comments count (an f-string reads its names).
    """
    above, below, indent = surroundings(text, start, end)
    func = enclosing_function(above, indent)
    if func is None or open_brackets(above[func.body_from :]):
        return None
    rest = body_below(below, func.indent)
    if not rest.strip():
        return None
    line_start = text.rfind("\n", 0, start) + 1
    below_from = text.find("\n", end) + 1  # the blanked text below starts there, offsets kept
    mentioned = text[func.def_from : line_start] + "\n" + text[below_from : below_from + len(rest)]
    return frozenset(IDENTIFIER.findall(mentioned))


def open_brackets(code: str) -> bool:
    """Whether the (blanked) code leaves a bracket open."""
    return sum(code.count(ch) for ch in "([{") != sum(code.count(ch) for ch in ")]}")


def stores_unread(line: str, mentions: frozenset[str] | None) -> bool:
    """Whether the line assigns a name its function never mentions elsewhere (function_mentions)."""
    if mentions is None:
        return False
    assigned = ASSIGNED_NAME.match(blank_strings(line))
    return assigned is not None and assigned.group(1) != "_" and assigned.group(1) not in mentions


def next_code_indent(text: str, start: int, end: int) -> int | None:
    """The indentation of the first code line below the hole's line (None: none, or a closing bracket)."""
    _, below, _ = surroundings(text, start, end)
    # Searched, not split: the text below may be most of a large file.
    following = NEXT_CODE.search(below)
    if following is None or following.group(0).lstrip().startswith((")", "]", "}")):
        return None
    return indentation(following.group(0))


def cuts_off(line: str, next_indent: int | None) -> bool:
    """Whether a complete line jumps away (`return`, `raise` ...) with code after it in its block.

    next_indent: next_code_indent of the hole.
    """
    if next_indent is None or JUMP.match(line) is None:
        return False
    code = blank_strings(line).rstrip()
    if not brackets_balanced(code) or code.endswith(("\\", ",")):
        return False  # the statement goes on below
    return next_indent >= indentation(line)
