"""Cut infill tasks from a project's Python files the way an editor sees a cursor.

Kinds (`KINDS`):
- `whole_line`: the cursor after the indentation of a line; the middle is the rest of that
  line (no newline), as after pressing Enter in an auto-indenting editor.
- `rest_of_line`: the cursor inside a line at the start of a token (found with `tokenize`,
  so never inside a string or a name); the middle is the rest of that line.
- `in_brackets`: the cursor right after an opening bracket whose closing one stands later on
  the same line; the middle is what the brackets hold (not empty, not spanning lines), as
  when the editor closed the bracket the user typed (`f.write(|)`, every editor's default).
- `mid_word`: the cursor inside a name (a keyword or an identifier of at least three
  characters), one or more of its characters typed; the middle is the rest of that line. An
  editor asks for ghost text at every keystroke, so most requests come from inside the word
  being typed (`self.em|`, `re|` at a line's start).
- `after_dot`: the cursor right after a member dot, at the start of the name that follows
  (`self.|`, `os.|path.join(...)`; not a relative import's `from .|`); the middle is the rest
  of that line. Editors ask at every
  `.` typed, and which member comes next is where a completer guesses most.
- `block`: 2-4 whole lines of complete statements inside a function body, the cursor after
  the indentation of the first; the middle runs to the end of the last line.

Lines that a completer cannot be judged on are never holes: blank lines, comments (a line
holding a comment is skipped whole: its prose is not code to predict), lines made only of a
string (docstrings), lines inside a multi-line string, and lines longer than `MAX_LINE`.

Every choice is seeded by the repository, the kind and the file list, so the same sources
always give the same tasks. Task ids read `repo/path:line:col:kind` (1-based line and
column), which `repo_drafts.RepoDrafts` maps back to the task's file.
"""

from __future__ import annotations

import ast
import hashlib
import io
import random
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass, field

KINDS = ("whole_line", "rest_of_line", "block", "in_brackets", "mid_word", "after_dot")
# The kinds of issue 12's single-line targets; the others are reported on their own.
SINGLE_LINE_KINDS = ("whole_line", "rest_of_line")
OPENING, CLOSING = "([", ")]"
MIN_WORD = 3  # characters of a name a mid_word cursor may sit inside
MAX_LINE = 120  # characters; longer lines are data, not code a completer should write
BLOCK_LINES = (2, 4)  # lines in a block hole, inclusive
SKIP_TOKENS = {tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
# Python 3.12+ splits f-strings into parts; a cursor between them is inside a string.
FSTRING_START = getattr(tokenize, "FSTRING_START", -1)
FSTRING_END = getattr(tokenize, "FSTRING_END", -1)


@dataclass
class LineInfo:
    """What tokenize says about one line."""

    starts: list[int]  # columns where a token starts (outside f-strings), in order
    names: list[tuple[int, int]] = field(default_factory=list)  # (start, end) columns of names
    only_string: bool = True  # the line's tokens are all strings (e.g. a docstring line)
    clean: bool = True  # no comment, no token spanning lines, no error


def seed_of(*parts: str) -> int:
    """A stable seed (Python's hash() differs between runs)."""
    return int.from_bytes(hashlib.sha256(":".join(parts).encode()).digest()[:8], "big")


def scan_lines(text: str) -> dict[int, LineInfo]:
    """Token starts per line (1-based), for lines that hold code; {} if text does not tokenize."""
    info: dict[int, LineInfo] = {}
    depth = 0  # f-string nesting
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in SKIP_TOKENS:
                continue
            row, col = tok.start
            line = info.setdefault(row, LineInfo([]))
            if tok.type == tokenize.COMMENT or tok.start[0] != tok.end[0] or tok.type == tokenize.ERRORTOKEN:
                for r in range(tok.start[0], tok.end[0] + 1):
                    info.setdefault(r, LineInfo([])).clean = False
            if depth == 0:
                line.starts.append(col)
                if tok.type == tokenize.NAME:
                    line.names.append((col, tok.end[1]))
            if tok.type == FSTRING_START:
                depth += 1
            elif tok.type == FSTRING_END:
                depth -= 1
            if tok.type not in (tokenize.STRING, FSTRING_START, FSTRING_END) and depth == 0:
                line.only_string = False
    except (tokenize.TokenError, SyntaxError):
        return {}
    return info


def line_offsets(lines: list[str]) -> list[int]:
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    return offsets


def eligible(lines: list[str], info: dict[int, LineInfo], row: int) -> bool:
    """Whether line `row` (1-based) may hold a single-line hole."""
    li = info.get(row)
    line = lines[row - 1]
    return (li is not None and li.clean and not li.only_string and bool(li.starts)
            and len(line) <= MAX_LINE and len(line.strip()) >= 2)


def task(repo: str, path: str, text: str, start: int, end: int, row: int, col: int,
         kind: str) -> dict[str, str]:
    return {
        "task_id": f"{repo}/{path}:{row}:{col + 1}:{kind}",
        "repo": repo,
        "path": path,
        "kind": kind,
        "prompt": text[:start],
        "canonical_solution": text[start:end],
        "suffix": text[end:],
    }


def statement_lists(tree: ast.AST) -> Iterator[list[ast.stmt]]:
    """Every statement list nested inside a function (its body first, docstring dropped)."""
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        body = fn.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]
        yield body
        for node in body:
            for inner in ast.walk(node):
                if isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
                    continue  # their own walk (functions) or not a body (classes)
                for attr in ("body", "orelse", "finalbody"):  # except and case bodies too
                    value = getattr(inner, attr, None)
                    if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                        yield value


def block_spans(text: str, lines: list[str], info: dict[int, LineInfo]) -> list[tuple[int, int]]:
    """(first row, last row) of runs of whole statements spanning BLOCK_LINES lines."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []
    spans: set[tuple[int, int]] = set()
    lo, hi = BLOCK_LINES
    for stmts in statement_lists(tree):
        for i, first in enumerate(stmts):
            top = min([first.lineno, *(d.lineno for d in getattr(first, "decorator_list", []))])
            own = lines[first.lineno - 1]
            if first.col_offset != len(own) - len(own.lstrip()) or own.lstrip().startswith("elif "):
                continue  # not the first statement on its line (`if x: a; b`), or a clause
            for last in stmts[i:]:
                bottom = last.end_lineno or last.lineno
                if bottom - top + 1 > hi:
                    break
                if bottom - top + 1 < lo or last.end_col_offset != len(lines[bottom - 1].rstrip()):
                    continue
                rows = range(top, bottom + 1)
                if all(r in info and info[r].clean and lines[r - 1].strip()
                       and len(lines[r - 1]) <= MAX_LINE for r in rows):
                    spans.add((top, bottom))
    return sorted(spans)


def candidates(repo: str, path: str, text: str, kind: str, rng: random.Random) -> list[dict[str, str]]:
    """Every hole of one kind in one file (rest_of_line: one seeded cursor per line)."""
    lines = text.split("\n")
    offsets = line_offsets(lines)
    info = scan_lines(text)
    out = []
    if kind == "block":
        for top, bottom in block_spans(text, lines, info):
            indent = len(lines[top - 1]) - len(lines[top - 1].lstrip())
            start = offsets[top - 1] + indent
            end = offsets[bottom - 1] + len(lines[bottom - 1])
            out.append(task(repo, path, text, start, end, top, indent, kind))
        return out
    for row in range(1, len(lines) + 1):
        if not eligible(lines, info, row):
            continue
        line = lines[row - 1]
        col = len(line) - len(line.lstrip())
        end = len(line)
        if kind == "rest_of_line":
            inner = [c for c in info[row].starts if c > col]
            if not inner:
                continue
            col = rng.choice(inner)
        elif kind == "in_brackets":
            pairs = bracket_pairs(line, info[row].starts)
            if not pairs:
                continue
            opening, end = rng.choice(pairs)
            col = opening + 1
        elif kind == "after_dot":
            members = [c for c in info[row].starts if c > col + 1 and is_member_dot(line, c - 1)]
            if not members:
                continue
            col = rng.choice(members)
        elif kind == "mid_word":
            words = [(a, b) for a, b in info[row].names if b - a >= MIN_WORD]
            if not words:
                continue
            first, last = rng.choice(words)
            col = rng.randint(first + 1, last - 1)
        out.append(task(repo, path, text, offsets[row - 1] + col, offsets[row - 1] + end,
                        row, col, kind))
    return out


def is_member_dot(line: str, at: int) -> bool:
    """Whether line[at] is a dot a member's name follows.

    After a name, a call, a subscript or a string; not a relative import's `from .`, an
    ellipsis or a number's point.
    """
    before, after = line[at - 1], line[at + 1 : at + 2]
    return (line[at] == "." and (after == "_" or after.isalpha())
            and (before == "_" or before.isalnum() or before in ")]}'\""))


def bracket_pairs(line: str, starts: list[int]) -> list[tuple[int, int]]:
    """(opening, closing) columns of round and square brackets that hold something, on one line.

    Only token starts count, so brackets inside strings and comments are not seen; a line
    whose brackets do not balance (a call continued on the next line) gives only its closed pairs.
    """
    pairs = []
    stack: list[int] = []
    for col in starts:
        ch = line[col]
        if ch in OPENING + "{":
            stack.append(col)
        elif ch in CLOSING + "}" and stack:
            opening = stack.pop()
            if line[opening] in OPENING and line[opening + 1 : col].strip():
                pairs.append((opening, col))
    return pairs


def cut_tasks(repo: str, files: list[tuple[str, str]], counts: dict[str, int]) -> list[dict[str, str]]:
    """`counts[kind]` tasks of each kind from files ((path, text), the repo's task files).

    Holes are drawn uniformly over all of the repository's candidates of a kind, so large
    files give more tasks, as they take more of an editor's time.
    """
    tasks: list[dict[str, str]] = []
    files = sorted(files)  # the order files were listed in must not change the tasks
    for kind in KINDS:
        rng = random.Random(seed_of(repo, kind, *(p for p, _ in files)))
        pool = [t for path, text in files for t in candidates(repo, path, text, kind, rng)]
        picked = sorted(rng.sample(range(len(pool)), min(counts.get(kind, 0), len(pool))))
        tasks.extend(pool[i] for i in picked)
    return tasks
