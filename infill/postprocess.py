"""Clean-up of raw fills, the way the best peers do it.

Single-line holes keep one line; a fill never repeats the text that already follows the
cursor (only an exact overlap with the rest of the line or the next lines is removed, so
valid code is never deleted); noise such as whitespace-only fills or a lone bracket is
dropped; multi-line fills keep the block's indentation.
"""

from __future__ import annotations

LONE_NOISE = frozenset({"", ")", "]", "}", "})", "])", ");", "};", ",", ";", ":", "(", "{", "["})


def rest_of_line(text: str, offset: int) -> str:
    end = text.find("\n", offset)
    return text[offset:] if end < 0 else text[offset:end]


def line_indent(text: str, offset: int) -> str:
    start = text.rfind("\n", 0, offset) + 1
    line = text[start:offset]
    return line[: len(line) - len(line.lstrip(" \t"))]


def single_line(fill: str, after_cursor: str, at_line_start: bool) -> str:
    """First line of fill.

    It keeps its newline only when the cursor sits at the start of a line that already
    holds code: then the fill is a new line inserted before that code.
    """
    first, newline, _ = fill.partition("\n")
    if newline and at_line_start and after_cursor.strip():
        return first + "\n"
    return first


def drop_suffix_overlap(fill: str, text_after: str) -> str:
    """Remove the part of fill that repeats the text right after the cursor.

    Only exact repeats are cut: the whole rest of the cursor line at the end of the fill
    (e.g. a fill ending in "):" before a suffix ":"), or trailing fill lines that equal the
    next lines of the suffix.
    """
    rest = rest_of_line(text_after, 0)
    stripped_rest = rest.strip()
    if stripped_rest and fill.rstrip().endswith(stripped_rest):
        cut = fill.rstrip()[: len(fill.rstrip()) - len(stripped_rest)]
        if cut.strip():
            fill = cut.rstrip(" ") if not rest.startswith(" ") else cut
    fill_lines = fill.split("\n")
    next_lines = text_after.split("\n")[1:] if "\n" in text_after else []
    # Trailing fill lines that duplicate the following lines of the file.
    for k in range(min(len(fill_lines) - 1, len(next_lines)), 0, -1):
        tail = [ln.rstrip() for ln in fill_lines[-k:]]
        if tail == [ln.rstrip() for ln in next_lines[:k]] and any(t.strip() for t in tail):
            fill = "\n".join(fill_lines[:-k]) + "\n"
            break
    return fill


def reindent(fill: str, indent: str, first_line_at_cursor: bool) -> str:
    """Shift continuation lines so the block's base indentation matches the cursor line's.

    The model sees the prefix, so usually the indentation is right; this fixes the case
    where the body came out dedented below the block it belongs to.
    """
    lines = fill.split("\n")
    if len(lines) < 2 or not indent:
        return fill
    body = [ln for ln in lines[1:] if ln.strip()]
    if not body:
        return fill
    base = min(len(ln) - len(ln.lstrip(" \t")) for ln in body)
    if base >= len(indent) or not first_line_at_cursor:
        return fill
    pad = indent[base:]
    return "\n".join([lines[0]] + [pad + ln if ln.strip() else ln for ln in lines[1:]])


def is_noise(fill: str) -> bool:
    return fill.strip() in LONE_NOISE


def fit_to_range(new: str, old: str) -> str:
    """A rewrite shaped like the text it replaces.

    A one-line range gets one line back, and the new text ends in exactly the line breaks the
    old one did (no added blank lines).
    """
    old_body = old.rstrip("\r\n")
    body = new.rstrip("\r\n")
    if "\n" not in old_body:
        body = body.split("\n", 1)[0].rstrip("\r")
    return body + old[len(old_body):]
