"""Syntax with tree-sitter: language detection, hole kind and budget, fill validation.

Grammars come from the per-language `tree-sitter-<lang>` wheels (they ship compiled
parsers; nothing is downloaded at run time). Unknown languages still work as plain text:
every function here degrades to a text heuristic when no parser is available.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import PurePath

from tree_sitter import Language, Node, Parser, Tree

from .py_scopes import indentation

# language id -> (module, attribute returning the grammar)
GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "typescriptreact": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
    "java": ("tree_sitter_java", "language"),
    "lua": ("tree_sitter_lua", "language"),
}
EXTENSIONS: dict[str, str] = {
    ".py": "python", ".pyi": "python", ".js": "javascript", ".mjs": "javascript",
    ".cjs": "javascript", ".jsx": "javascript", ".ts": "typescript", ".mts": "typescript",
    ".tsx": "typescriptreact", ".go": "go", ".rs": "rust", ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp", ".java": "java",
    ".lua": "lua",
}
# LSP languageId aliases
ALIASES = {"javascriptreact": "javascript", "py": "python", "c++": "cpp", "ts": "typescript"}
BLOCK_OPENERS = (":", "{", "then", "do", "=>", "(")


class HoleKind(StrEnum):
    REST_OF_LINE = "rest_of_line"  # cursor inside a line with text before it
    LINE = "line"  # cursor on an empty (or whitespace-only) line
    BLOCK = "block"  # cursor right after a block header: a multi-line body is due
    RANGE = "range"  # an explicit range to rewrite


@dataclass(frozen=True)
class HolePlan:
    kind: HoleKind
    multiline: bool  # whether the fill may span lines


def language_for(path: str | None = None, language_id: str | None = None) -> str | None:
    """Language from an LSP languageId or a file extension; None for plain text."""
    if language_id:
        lang = ALIASES.get(language_id, language_id)
        if lang in GRAMMARS:
            return lang
    if path:
        return EXTENSIONS.get(PurePath(path).suffix.lower())
    return None


@cache
def parser_for(language: str | None) -> Parser | None:
    if language is None or language not in GRAMMARS:
        return None
    module_name, attr = GRAMMARS[language]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return Parser(Language(getattr(module, attr)()))


def parse(text: str, language: str | None, old: Tree | None = None) -> Tree | None:
    parser = parser_for(language)
    if parser is None:
        return None
    return parser.parse(text.encode("utf-8"), old) if old else parser.parse(text.encode("utf-8"))


def count_errors(node: Node) -> int:
    """ERROR and MISSING nodes below node (skips subtrees without errors quickly)."""
    if not node.has_error and not node.is_missing:
        return 0
    own = 1 if (node.is_error or node.is_missing) else 0
    return own + sum(count_errors(child) for child in node.children)


def error_count(text: str, language: str | None) -> int | None:
    tree = parse(text, language)
    return None if tree is None else count_errors(tree.root_node)


SYNTAX_REACH = 3000  # characters around a hole that candidate validation parses, at least


def syntax_window(text: str, start: int, end: int, reach: int = SYNTAX_REACH) -> tuple[int, int]:
    """Offsets (lo, hi) of the text validation parses for a fill of text[start:end].

    Parsing a large file once per candidate costs tens of milliseconds; the region around
    the hole decides whether a fill breaks the code. The window starts and ends where a
    top-level statement starts (see starts_statement), so it rarely cuts a construct, and the
    file with and without the fill is cut the same way.
    """
    lo = 0 if start <= reach else text.rfind("\n", 0, start - reach) + 1
    while 0 < lo < start and not starts_statement(text, lo):
        lo = text.rfind("\n", 0, lo - 1) + 1
    hi = len(text)
    if end + reach < len(text):
        hi = end + reach
        while hi < len(text):
            nl = text.find("\n", hi)
            if nl < 0:
                hi = len(text)
                break
            hi = nl + 1
            if starts_statement(text, hi):
                break
    return lo, hi


MEMBER_STARTS = ("def ", "async def ", "class ", "@")  # lines that start a class member or nested def
BLOCK_WRAP = "if 1:\n"  # parsed before an indented window: its lines become a block's body


def statement_window(text: str, start: int, end: int, language: str | None,
                     reach: int = SYNTAX_REACH) -> tuple[int, int, str]:
    """(lo, hi, wrap): the text statement validation parses is wrap + text[lo:hi].

    syntax_window's cut at top-level statements takes a whole class when the hole is in one of
    its methods: a 2,000-line class costs ~30 ms to parse per hole. In Python the window may
    instead start and end at member definitions (`def`, `class`, decorators) of the block
    holding the hole; the indented text is parsed as the body of `if 1:`.
    """
    lo, hi = syntax_window(text, start, end, reach)
    if language != "python" or hi - lo <= 4 * reach:
        return lo, hi, ""
    member = member_window(text, start, end, reach)
    return (lo, hi, "") if member is None else (*member, BLOCK_WRAP)


def member_window(text: str, start: int, end: int, reach: int) -> tuple[int, int] | None:
    """An indented window around the hole, cut at member definitions; None if there is none.

    It starts at least `reach` before the hole at a member line no deeper than every line
    between it and the hole, and ends at least `reach` after the hole at a member line no
    deeper than its start, at a top-level statement, or where the code dedents below its start.
    """
    line_start = text.rfind("\n", 0, start) + 1
    shallowest = indentation(text[line_start:start])
    lo, pos = -1, line_start
    while pos > 0:
        prev = text.rfind("\n", 0, pos - 1) + 1
        line, pos = text[prev : pos - 1], prev
        if not line.strip():
            continue
        depth = indentation(line)
        if depth == 0:
            return None  # the top level is near enough: syntax_window's cut is as small
        if (depth <= shallowest and prev <= start - reach and line.lstrip().startswith(MEMBER_STARTS)
                and not in_triple_quotes(text, prev)):
            lo = prev
            break
        shallowest = min(shallowest, depth)
    if lo < 0:
        return None
    base = indentation(text[lo : text.find("\n", lo)])
    nl = text.find("\n", end)
    pos = len(text) if nl < 0 else nl + 1
    while pos < len(text):
        nl = text.find("\n", pos)
        line = text[pos : len(text) if nl < 0 else nl]
        if line.strip():
            depth = indentation(line)
            member = depth <= base and line.lstrip().startswith(MEMBER_STARTS)
            ends = (pos >= end + reach and (member or starts_statement(text, pos))) or 0 < depth < base
            if ends and not in_triple_quotes(text, pos):
                return lo, pos
        if nl < 0:
            break
        pos = nl + 1
    return lo, len(text)


def in_triple_quotes(text: str, offset: int) -> bool:
    """Whether offset is inside a triple-quoted string, by counting quotes before it.

    A triple quote that is itself a one-character-quoted string (`"'''"`, as in a table
    format's markup) does not count: one such line flipped the parity of the rest of a
    2,600-line file, and every window there grew to the whole file.
    """
    doubles = text.count('"""', 0, offset) - text.count("'\"\"\"'", 0, offset)
    singles = text.count("'''", 0, offset) - text.count('"\'\'\'"', 0, offset)
    return doubles % 2 == 1 or singles % 2 == 1


def starts_statement(text: str, offset: int) -> bool:
    """Whether the line at offset starts a top-level statement (a window may start there).

    A name, keyword or decorator in column 0, outside any triple-quoted string. Not an
    indented line, a blank one, nor `):` closing a signature or `}` a body (a window starting
    there was one parse error from end to end, and every candidate failed).
    """
    head = text[offset : offset + 1]
    if not (head.isalpha() or head in ("_", "@")):
        return False
    return not in_triple_quotes(text, offset)


def plan_hole(text: str, offset: int, language: str | None) -> HolePlan:
    """Hole kind for a cursor at character offset: rest of line, a line, or a block body.

    Text only: the kind depends on the cursor line and the line before it, so no parse.
    """
    line_start = text.rfind("\n", 0, offset) + 1
    before = text[line_start:offset]
    if before.strip():
        return HolePlan(HoleKind.REST_OF_LINE, multiline=False)
    # Cursor on a blank line: a block body is due if the previous line opens a block
    # and nothing at this indentation follows yet.
    prev_end = line_start - 1
    prev_start = text.rfind("\n", 0, max(prev_end, 0)) + 1
    previous = text[prev_start:max(prev_end, 0)].rstrip()
    if previous.endswith(BLOCK_OPENERS) and not body_follows(text, offset, before):
        return HolePlan(HoleKind.BLOCK, multiline=True)
    return HolePlan(HoleKind.LINE, multiline=False)


def suggestion_plan(plan: HolePlan) -> HolePlan:
    """The plan a suggestion is filled with: an empty body gets its first line.

    Line candidates are ranked and calibrated; a block is not (and the default denoiser's
    blocks matched nothing on the held-out repositories), so a cursor in an empty body is
    offered the body's first line. An explicit block request (FillRequest.kind) still gets one.
    """
    return HolePlan(HoleKind.LINE, multiline=False) if plan.kind is HoleKind.BLOCK else plan


def body_follows(text: str, offset: int, indent: str) -> bool:
    """True when the next non-blank line is indented at least as deep as the cursor."""
    line_end = text.find("\n", offset)
    for line in text[line_end + 1 :].split("\n") if line_end >= 0 else []:
        if line.strip():
            return len(line) - len(line.lstrip()) >= len(indent) and len(indent) > 0
    return False


def introduces_errors(original: str, filled: str, language: str | None) -> bool:
    """True when filled has more ERROR/MISSING nodes than original (False if no parser)."""
    before = error_count(original, language)
    if before is None:
        return False
    after = error_count(filled, language)
    return after is not None and after > before


def errors_in(node: Node, lo: int, hi: int) -> int:
    """ERROR and MISSING nodes that overlap the byte range [lo, hi)."""
    if node.end_byte < lo or node.start_byte > hi or not (node.has_error or node.is_missing):
        return 0
    own = 1 if (node.is_error or node.is_missing) and node.start_byte <= hi and node.end_byte >= lo else 0
    if node.is_error and own:
        return own  # one broken region, however many pieces it holds
    return own + sum(errors_in(child, lo, hi) for child in node.children)


def statement_ok(text: str, start: int, end: int, language: str | None) -> bool | None:
    """Whether the lines holding text[start:end] (a filled hole) parse without errors.

    One fill; StatementChecker judges many fills of one hole for a fraction of the cost.

    Judges the statement around the fill, not the whole buffer: a buffer being typed already
    has errors elsewhere, and an error-count comparison lets a fill that breaks its own line
    pass. In Python the line must also open a block exactly when the next line is indented
    deeper (python_block_fits). None when there is no parser for the language.
    """
    lo, hi, wrap = statement_window(text, start, end, language)
    tree = parse(wrap + text[lo:hi], language)
    if tree is None:
        return None
    return filled_lines_ok(tree, text, (lo, hi), start, end, language, len(wrap.encode("utf-8")))


def filled_lines_ok(tree: Tree, text: str, window: tuple[int, int], start: int, end: int,
                    language: str | None, wrap_bytes: int = 0) -> bool:
    """The verdict on the lines holding the fill text[start:end], from the window's parse.

    wrap_bytes: the length of text parsed before the window (statement_window's wrap).
    """
    lo, hi = window
    line_lo = text.rfind("\n", lo, start) + 1
    line_hi = text.find("\n", end, hi)
    line_hi = hi if line_hi < 0 else line_hi
    b_lo = wrap_bytes + len(text[lo:line_lo].encode("utf-8"))
    b_hi = b_lo + len(text[line_lo:line_hi].encode("utf-8"))
    if errors_in(tree.root_node, b_lo, b_hi):
        return False
    # Indentation errors tree-sitter lets pass: of 375 right answers on the development and
    # held-out repositories none failed this, and 106 of the engine's wrong top picks did.
    return language != "python" or python_block_fits(text, start, end) is not False


class StatementChecker:
    """statement_ok for many fills of one hole text[start:end], by incremental reparsing.

    The window around the hole is cut and parsed once; each fill is an edit of that tree,
    which tree-sitter reparses reusing every subtree the edit leaves alone (a candidate
    costs a fraction of a fresh parse of the window). The window is cut where
    statement_ok would cut the filled text (its bounds only shift by the fill's length), so
    the verdicts are the same.
    """

    def __init__(self, text: str, start: int, end: int, language: str | None) -> None:
        self.text, self.start, self.end, self.language = text, start, end, language
        self.lo, self.hi, wrap = statement_window(text, start, end, language)
        self.wrap_bytes = len(wrap.encode("utf-8"))
        self.parser = parser_for(language)
        self.head = (wrap + text[self.lo : start]).encode("utf-8")
        self.tail = text[end : self.hi].encode("utf-8")
        self.base: Tree | None = None
        if self.parser is not None:
            self.base = self.parser.parse(self.head + text[start:end].encode("utf-8") + self.tail)
        # The edit's start point: (row, byte column) of the hole in the window.
        self.row = self.head.count(b"\n")
        self.column = len(self.head) - (self.head.rfind(b"\n") + 1)
        self.old_end = point_after(self.row, self.column, text[start:end].encode("utf-8"))

    def ok(self, fill: str) -> bool | None:
        filled = self.judge(fill)
        return None if filled is None else filled.ok

    def judge(self, fill: str) -> FilledStatement | None:
        """The fill's parse and verdict (None when there is no parser)."""
        if self.parser is None or self.base is None:
            return None
        fill_bytes = fill.encode("utf-8")
        tree = self.base.copy()
        at = len(self.head)
        tree.edit(start_byte=at, old_end_byte=at + len(self.text[self.start : self.end].encode("utf-8")),
                  new_end_byte=at + len(fill_bytes), start_point=(self.row, self.column),
                  old_end_point=self.old_end, new_end_point=point_after(self.row, self.column, fill_bytes))
        source = self.head + fill_bytes + self.tail
        tree = self.parser.parse(source, tree)
        filled = self.text[: self.start] + fill + self.text[self.end :]
        window = (self.lo, self.hi + len(fill) - (self.end - self.start))
        ok = filled_lines_ok(tree, filled, window, self.start, self.start + len(fill), self.language,
                             self.wrap_bytes)
        return FilledStatement(ok, tree, source, at, at + len(fill_bytes))


@dataclass(frozen=True)
class FilledStatement:
    """A fill parsed in its window: the verdict, and the tree for closer readings."""

    ok: bool
    tree: Tree
    source: bytes  # what the tree was parsed from
    fill_lo: int  # the fill's byte range in the tree
    fill_hi: int


def point_after(row: int, column: int, inserted: bytes) -> tuple[int, int]:
    """The (row, byte column) reached by inserting bytes at (row, column)."""
    lines = inserted.count(b"\n")
    if not lines:
        return row, column + len(inserted)
    return row + lines, len(inserted) - (inserted.rfind(b"\n") + 1)


def brackets_balanced(line: str) -> bool:
    """Whether a line opens no bracket it does not close and closes none it did not open.

    Strings and comments are skipped roughly (quotes toggle); a line that continues a
    bracket from the lines before fails, which is what a line-sized fill should rarely do.
    """
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    quote = ""
    for ch in line:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#":
            break
        elif ch in "([{":
            stack.append(ch)
        elif ch in pairs:
            if not stack or stack.pop() != pairs[ch]:
                return False
    return not stack


def code_part(line: str) -> str:
    """The line without its comment (quotes toggle, roughly as brackets_balanced reads them)."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#":
            return line[:i]
    return line


def python_block_fits(text: str, start: int, end: int) -> bool | None:
    """Whether the Python line holding text[start:end] opens a block iff the next line is deeper.

    `if x:` over a line at its own depth is an "expected an indented block" error, `x = 1`
    over a deeper one an "unexpected indent"; tree-sitter parses both without complaint.

    None when indentation says nothing: the line continues a bracket or a backslash, sits in
    one opened above, or nothing follows it.
    """
    line_lo = text.rfind("\n", 0, start) + 1
    line_hi = text.find("\n", start)
    if line_hi < 0:
        return None
    code = code_part(text[line_lo:line_hi]).rstrip()
    if not code.strip() or not brackets_balanced(code) or code.endswith(("\\", ",")):
        return None
    above = [ln for ln in text[max(0, line_lo - 2000) : line_lo].split("\n") if code_part(ln).strip()]
    if above and code_part(above[-1]).rstrip().endswith(("(", "[", "{", ",", "\\")):
        return None  # inside brackets (or a continuation) opened above: indentation is free
    for line in text[line_hi + 1 : line_hi + 4000].split("\n"):
        if not code_part(line).strip():
            continue
        if line.lstrip().startswith((")", "]", "}")):
            return None
        deeper = indentation(line) > indentation(code)
        return code.endswith(":") == deeper
    return None
