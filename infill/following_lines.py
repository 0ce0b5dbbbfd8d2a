"""Whether a Python fill breaks the code after it, though its own lines parse.

The statement check (syntax.filled_lines_ok) judges the lines holding the fill. A fill can
parse there and still break what follows:

- `else:` over `[f(h) for h in headers]` and then `)`: the hole had to open the bracket the
  code below closes, and the parse error lands on that `)`, not on the fill's line;
- `try:` over an indented body that is followed by neither `except` nor `finally`:
  tree-sitter accepts a bare `try:`, Python does not.

So the lines after the fill are read too, through the first code line back at the fill's
line's depth (the end of the block it opens, or the next statement beside it). Of the
candidates whose own lines parse, none of 2,502 right development answers and 158 right
held-out ones breaks them; 1,143 of 28,492 wrong development candidates do (31 of those a
`try:`), and 48 of 2,233 held-out ones. Only those lines: errors further down belong to a
buffer being edited, not to the fill.
"""

from __future__ import annotations

import re

from .syntax import FilledStatement, errors_in

REACH_LINES = 60  # code lines read after the fill at most: a longer block says no more
TRY_LINE = re.compile(rb"[ \t]*try[ \t]*:[ \t]*(?:#.*)?")
TRY_PARTNER = re.compile(rb"[ \t]*(?:except\b|finally[ \t]*:)")


def breaks_following_lines(filled: FilledStatement) -> bool:
    """Whether the fill leaves parse errors after it, or a `try:` without a partner.

    filled: a fill whose own lines parse (FilledStatement.ok), in a Python window.
    """
    source = filled.source
    line_lo = source.rfind(b"\n", 0, filled.fill_lo) + 1
    line_end = source.find(b"\n", filled.fill_hi)
    line = source[line_lo : len(source) if line_end < 0 else line_end]
    depth = indent_of(line)
    reach, back = line_back_at_depth(source, filled.fill_hi, depth)
    if errors_in(filled.tree.root_node, filled.fill_hi, reach):
        return True
    if TRY_LINE.fullmatch(line) is None or (reach < len(source) and back is None):
        return False  # not a `try:`, or its body is too long to read
    # After its body, the next line at the `try:`'s depth has to be `except` or `finally`.
    return back is None or indent_of(back) < depth or TRY_PARTNER.match(back) is None


def line_back_at_depth(source: bytes, offset: int, depth: int) -> tuple[int, bytes | None]:
    """Where the reading stopped, and the first code line after offset's line at most depth deep.

    Blank and comment lines are skipped. The line is None when the source ends first (the
    reading stops at its end) or when REACH_LINES code lines go by (it stops after the last).
    """
    end = source.find(b"\n", offset)
    seen = 0
    while end >= 0 and seen < REACH_LINES:
        start = end + 1
        end = source.find(b"\n", start)
        line = source[start : len(source) if end < 0 else end]
        code = line.strip()
        if not code or code.startswith(b"#"):
            continue
        seen += 1
        if indent_of(line) <= depth:
            return (len(source) if end < 0 else end), line
    return (len(source) if end < 0 else end), None


def indent_of(line: bytes) -> int:
    return len(line) - len(line.lstrip(b" \t"))
