"""Python names and scopes, read from text.

What a stretch of code binds, the function a line sits in, and the names a candidate line
uses that nothing in its scope binds.

Read from indentation and patterns, not a parse: the buffer is usually mid-edit. Strings
and comments are blanked first so their words are not names. Binding is over-approximated
(any name in a binding position anywhere in the scope counts as bound), so a name called
unbound is one the code around it really never defines: a local of another function
(`self.name = name` copied into `__str__`), or a name from a file the candidate came from.
"""

from __future__ import annotations

import builtins
import keyword
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

NAME = r"[A-Za-z_]\w*"
IDENTIFIER = re.compile(rf"(?<![\w.])({NAME})")
# Comments and string bodies; a string's prefix letters (`f`, `rb`) are found by hand, which
# keeps the scan several times faster than trying a prefix at every letter.
STRING_OR_COMMENT = re.compile(
    r"""#[^\n]*|\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?'''|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'"""
)
STRING_PREFIX = frozenset("rbuRBUfF")
DEF_LINE = re.compile(rf"[ \t]*(?:async[ \t]+)?def[ \t]+({NAME})[ \t]*\(")
STAR_IMPORT = re.compile(r"^[ \t]*from[ \t]+\S+[ \t]+import[ \t]+\*", re.M)
BUILTIN_WORDS = frozenset(dir(builtins)) | frozenset(keyword.kwlist) | frozenset(keyword.softkwlist)
MODULE_DUNDERS = frozenset({"__name__", "__file__", "__doc__", "__all__", "__spec__", "__path__",
                            "__package__", "__loader__", "__builtins__", "__annotations__", "__class__"})
# Names that bind without being meant for use: the throwaway name, a method's receiver.
UNUSABLE = frozenset({"_", "self", "cls"}) | frozenset(keyword.kwlist)
SCAN_LINES = 400  # lines above a hole searched for the enclosing def
# A name in a binding pattern, possessive (`*+`): backtracking into a name that is not
# followed by `=` made one pass over a large module quadratic in its name lengths.
_BOUND = r"(?<![\w.])([A-Za-z_]\w*+)"
BINDINGS = tuple(re.compile(p, re.M) for p in (
    _BOUND + r"[ \t]*(?:\[[^\]\n]*\])?[ \t]*(?::[^=\n]+)?=(?!=)",  # NAME = / NAME: T = / NAME[i] =
    _BOUND + r"[ \t]*(?:[-+*/%&|^@]|//|\*\*|<<|>>)=",  # augmented assignment
    _BOUND + r"[ \t]*:=",  # walrus
    r"\bas[ \t]+([A-Za-z_]\w*+)",  # with/except/import ... as NAME
    r"^[ \t]*([A-Za-z_]\w*+)[ \t]*:",  # annotated name or dataclass field
))
BINDING_LISTS = tuple(re.compile(p, re.M) for p in (
    r"\bfor[ \t]+([^\n]*?)[ \t]+in\b",
    r"^[ \t]*((?:[A-Za-z_]\w*+[ \t]*,[ \t]*)+[A-Za-z_]\w*+)[ \t]*=(?!=)",
    r"\bimport[ \t]*\(([^)]*)\)",
    r"\bdef[ \t]+\w+[ \t]*\(([^)]*)\)",
))


# Cached for the large stretches: a request reads the text above and below its hole several
# times (names in scope, scope drafts), and typing inside a function leaves the module's own
# lines unchanged from one keystroke to the next. Candidates' lines use the uncached forms.
@lru_cache(maxsize=16)
def blank_strings(code: str) -> str:
    """blank_literals, cached."""
    return blank_literals(code)


@lru_cache(maxsize=16)
def bound_names(code: str) -> frozenset[str]:
    """names_bound_by, cached."""
    return names_bound_by(code)


def blank_literals(code: str) -> str:
    """The code with string literals (prefix included) and comments replaced by spaces; offsets kept."""
    out, last = [], 0
    for match in STRING_OR_COMMENT.finditer(code):
        lo, hi = match.start(), match.end()
        if code[lo] != "#":
            k = lo
            while k > lo - 2 and k > 0 and code[k - 1] in STRING_PREFIX:
                k -= 1
            if k == 0 or not (code[k - 1].isalnum() or code[k - 1] == "_"):
                lo = k  # `f"..."`, not the end of a name such as `buf"`
        out.append(code[last:lo])
        literal = code[lo:hi]
        out.append("\n".join(" " * len(part) for part in literal.split("\n")))
        last = hi
    out.append(code[last:])
    return "".join(out)


def names_bound_by(code: str) -> frozenset[str]:
    """Names the code binds anywhere (over-approximated: any name in a binding position)."""
    bound: set[str] = set()
    for line in code.split("\n"):
        stripped = line.strip()
        if stripped.startswith(("import ", "from ")):
            # `import a.b as c`, `from x import (a, b as c)`: every name after `import`
            # (and the head of a dotted `import a.b`) is bound; over-approximating is safe.
            tail = stripped.partition(" import ")[2] if stripped.startswith("from ") else stripped[7:]
            bound.update(IDENTIFIER.findall(tail.replace(".", " . ")))
        elif stripped.startswith(("def ", "async def ", "class ", "lambda", "global ", "nonlocal ")):
            bound.update(IDENTIFIER.findall(stripped))
    for pattern in BINDINGS:
        bound.update(pattern.findall(code))
    # Names in a stretch that binds all of them: tuple targets, loop and comprehension
    # variables, parenthesized imports, parameters of signatures spanning lines.
    for pattern in BINDING_LISTS:
        for names in pattern.findall(code):
            bound.update(IDENTIFIER.findall(names))
    return frozenset(bound)


def indentation(line: str) -> int:
    return len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip())



@dataclass(frozen=True)
class Function:
    name: str
    params: list[str]  # in signature order, without self/cls and the star forms
    indent: int  # the def line's indentation
    def_from: int  # offset in the text above where the def line starts
    body_from: int  # offset in the text above where the body starts


def enclosing_function(above: str, hole_indent: int) -> Function | None:
    """The def whose body holds a hole indented hole_indent (from the blanked text above)."""
    lines = above.split("\n")[:-1]
    offset = len(above)
    ceiling = hole_indent
    for line in reversed(lines[-SCAN_LINES:]):
        offset -= len(line) + 1
        if not line.strip():
            continue
        indent = indentation(line)
        if indent >= ceiling or line.lstrip().startswith((")", "]", "}")):
            continue
        match = DEF_LINE.match(line)
        if match:
            close = closing_paren(above, offset + match.end())
            if close is None:
                return None  # the hole is inside the signature
            params = [p.split(":")[0].split("=")[0].strip()
                      for p in split_top_level(above[offset + match.end() : close])]
            kept = [p for p in params if re.fullmatch(NAME, p) and p not in ("self", "cls")]
            body = above.find("\n", close)
            return Function(match.group(1), kept, indent, offset + 1, len(above) if body < 0 else body + 1)
        if indent == 0:
            return None
        ceiling = indent
    return None


def closing_paren(code: str, after_open: int) -> int | None:
    """Offset of the `)` closing the bracket opened just before after_open; None if unclosed."""
    depth = 1
    for i in range(after_open, len(code)):
        depth += code[i] in "([{"
        depth -= code[i] in ")]}"
        if depth == 0:
            return i
    return None


def split_top_level(params: str) -> list[str]:
    """Split a parameter list at commas outside brackets."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in params:
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p for p in parts if p.strip()]


def body_below(below: str, func_indent: int) -> str:
    """The rest of the function after the hole: lines up to the first one indented no deeper than the def.

    Read line by line up to that one, not split whole: the text below may be most of a large
    file, and several readers of every hole ask for its body.
    """
    at = 0
    while True:
        newline = below.find("\n", at)
        line = below[at : len(below) if newline < 0 else newline]
        if line.strip() and indentation(line) <= func_indent:
            return below[: max(at - 1, 0)]
        if newline < 0:
            return below
        at = newline + 1


def module_text(code: str) -> str:
    """The module-level statements of code: def and class bodies left out, their headers kept."""
    kept, in_body = [], False
    for line in code.split("\n"):
        if line.strip() and not line[0].isspace():
            in_body = re.match(r"(?:async[ \t]+def|def|class)\b|@", line) is not None
            if in_body:
                kept.append(line)  # the header binds its name
                continue
        if not in_body:
            kept.append(line)
    return "\n".join(kept)


@lru_cache(maxsize=4)  # several readers of one hole ask for it (a str caches its hash)
def surroundings(text: str, start: int, end: int) -> tuple[str, str, int]:
    """The blanked lines above and below the hole's line, and the hole's indentation."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    above = blank_strings(text[:line_start])
    below = blank_strings(text[line_end + 1 :]) if line_end >= 0 else ""
    head = text[line_start:start]
    return above, below, indentation(head) if head.strip() else len(head.expandtabs(4))


def names_in_scope(text: str, start: int, end: int) -> frozenset[str] | None:
    """Names bound where text[start:end] stands; None where that cannot be told.

    The module's names and those of each enclosing function (parameters and locals, before
    and after the hole); class bodies are not scopes their methods see. None when a star
    import may bind anything, or the line continues brackets opened above (a parameter or
    an argument list, where names are new or the count would mislead).
    """
    above, below, indent = surroundings(text, start, end)
    if STAR_IMPORT.search(above) or STAR_IMPORT.search(below):
        return None
    previous = next((ln.rstrip() for ln in reversed(above[-2000:].split("\n")) if ln.strip()), "")
    if previous.endswith(("(", "[", "{", ",", "\\")):
        return None
    bound = bound_names(module_text(above + "\n" + below))
    while (func := enclosing_function(above, indent)) is not None:
        # Its parameters and locals; not its own name, which a method's body cannot see.
        header = above[func.def_from : func.body_from]
        bound |= frozenset(IDENTIFIER.findall(header[header.find("(") :]))
        bound |= bound_names(above[func.body_from :] + "\n" + body_below(below, func.indent))
        if func.indent == 0:
            break
        above, indent = above[: func.def_from], func.indent
    return frozenset(bound)


def unbound_names(line_head: str, candidate: str, in_scope: frozenset[str] | None) -> int:
    """Names the candidate uses (after the text before it on its line) that nothing binds.

    0 where the count would mislead: a line in brackets opened above or that leaves one open,
    a def/class/import line (their names are new), or a scope a star import may fill.
    """
    line = blank_literals(line_head + candidate)
    if in_scope is None or re.match(r"[ \t]*(?:def|async|class|import|from|lambda|@)\b|[ \t]*@", line):
        return 0
    depth = 0
    for ch in line:
        depth += ch in "([{"
        depth -= ch in ")]}"
        if depth < 0:
            return 0
    if depth:
        return 0
    own = names_bound_by(line)
    names = set()
    for match in IDENTIFIER.finditer(line, len(line_head)):
        name = match.group(1)
        if match.start() > 0 and (line[match.start() - 1].isalnum() or line[match.start() - 1] == "_"):
            continue  # the candidate continues a name typed before it
        if name in in_scope or name in own or name in BUILTIN_WORDS or name in MODULE_DUNDERS:
            continue
        after = line[match.end() :].lstrip(" \t")
        if after.startswith("=") and not after.startswith("=="):
            continue  # a keyword argument's name
        names.add(name)
    return len(names)


def unused_bindings(text: str, start: int, end: int) -> frozenset[str]:
    """Names the function around text[start:end] binds that nothing in it uses yet.

    A parameter, loop variable, `with ... as` target or local named exactly once in the
    function (its binding): the names a programmer is about to use (`f` under `with open(p)
    as f:`, `price` in `for price in prices:`). Empty at module level.
    """
    above, below, indent = surroundings(text, start, end)
    func = enclosing_function(above, indent)
    if func is None:
        return frozenset()
    body_above = above[func.body_from :]
    bound = set(func.params) | names_bound_by(body_above)
    counts = Counter(IDENTIFIER.findall(
        above[func.def_from : func.body_from] + "\n" + body_above + "\n" + body_below(below, func.indent)))
    return frozenset(name for name in bound if counts[name] == 1 and name not in UNUSABLE)


def fresh_uses(line_head: str, candidate: str, unused: frozenset[str]) -> int:
    """How many of the unused names the candidate (after the text before it on its line) reads."""
    if not unused:
        return 0
    line = blank_literals(line_head + candidate)
    return len({m.group(1) for m in IDENTIFIER.finditer(line, len(line_head))} & unused)
