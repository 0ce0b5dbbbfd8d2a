"""The attributes a class has, as seen from a cursor inside one of its methods.

A candidate copied from another class (`self.radius` into a `Rectangle` of width and height)
names an attribute this class never mentions. On the development repositories such
candidates were right in none of 89 cases, against about one in twenty for the rest, so the
ranker takes the count as a feature. An attribute counts as known when the class body,
before or after the hole, assigns it, reads it, declares it at class level or defines it as
a method; inherited ones the body never mentions are not known, and the ranker's weight
reflects how often that misleads.

Read from indentation and a few patterns, not a parse: the buffer is usually mid-edit.
"""

from __future__ import annotations

import re

from .py_scopes import indentation

SELF_ATTRIBUTE = re.compile(r"(?<![\w.])self\.([A-Za-z_]\w*)")
CLASS_LINE = re.compile(r"[ \t]*class[ \t]+\w+[ \t]*(?:\(.*\))?[ \t]*:")
CLASS_LEVEL_NAME = re.compile(r"^[ \t]+([A-Za-z_]\w*)[ \t]*[:=]", re.M)
METHOD_NAME = re.compile(r"\bdef[ \t]+([A-Za-z_]\w*)")
ASSIGNED_ATTRIBUTE = re.compile(r"^[ \t]*self\.([A-Za-z_]\w*)[ \t]*(?::[^=\n]*)?=(?!=)")
SCAN_CHARS = 100_000  # text above the hole searched for the class line
RECENT_CHARS = 3_000  # text above the hole read for the attributes named last
RENAMES = 2  # attributes a foreign one is renamed to
RECENT_ATTRIBUTES = 3  # attributes offered after `self.`


def class_attributes(text: str, start: int, end: int) -> frozenset[str] | None:
    """Attributes of the class whose method holds the hole text[start:end]; None outside a class."""
    line_start = text.rfind("\n", 0, start) + 1
    head = text[line_start:start]
    ceiling = indentation(head) if head.strip() else max(indentation(head), 1)
    low = max(0, line_start - SCAN_CHARS)
    line_end = line_start  # end of the line being looked at (exclusive of its newline)
    for line in reversed(text[low:line_start].split("\n")[:-1]):
        line_end -= 1  # its newline
        body_from, line_end = line_end, line_end - len(line)
        if not line.strip() or line.lstrip().startswith(("#", ")", "]", "}")):
            continue
        indent = indentation(line)
        if indent >= ceiling:
            continue
        if CLASS_LINE.match(line):
            return known_attributes(text[body_from:start] + block_rest(text[end:], indent))
        if indent == 0:
            return None  # module level: not inside a class
        ceiling = indent
    return None


def block_rest(after: str, indent: int) -> str:
    """The text after the hole up to the first line indented no deeper than the class line."""
    for match in re.finditer(r"\n([ \t]*)\S", after):
        if len(match.group(1)) <= indent:
            return after[: match.start()]
    return after


def known_attributes(body: str) -> frozenset[str]:
    return frozenset(SELF_ATTRIBUTE.findall(body)) | frozenset(CLASS_LEVEL_NAME.findall(body)) | frozenset(
        METHOD_NAME.findall(body))


def foreign_attributes(candidate: str, known: frozenset[str] | None) -> int:
    """`self.` attributes in the candidate that the class never mentions (0 outside a class)."""
    if known is None:
        return 0
    return len({name for name in SELF_ATTRIBUTE.findall(candidate) if name not in known})


def assigned_attribute(line: str) -> frozenset[str]:
    """The attribute a `self.x = ...` line assigns (empty for any other line)."""
    match = ASSIGNED_ATTRIBUTE.match(line)
    return frozenset({match.group(1)}) if match else frozenset()


def recent_attributes(text: str, start: int, known: frozenset[str],
                      limit: int = RECENT_ATTRIBUTES) -> list[str]:
    """The class's attributes (not its methods) named last before the hole, latest first."""
    found: list[str] = []
    for match in reversed(list(SELF_ATTRIBUTE.finditer(text, max(0, start - RECENT_CHARS), start))):
        name = match.group(1)
        called = text[match.end() : match.end() + 1] == "("
        if name in known and name not in found and not called:
            found.append(name)
            if len(found) == limit:
                break
    return found


def renamed_attributes(candidate: str, known: frozenset[str] | None, recent: list[str]) -> list[str]:
    """The candidate with its one foreign `self.` attribute renamed to each recent attribute.

    A line from another class (`iter(self.data)`, from the corpus) often holds the idiom the
    hole wants with that class's names: in a class of `self.items`, `iter(self.items)`.
    """
    if known is None:
        return []
    foreign = {name for name in SELF_ATTRIBUTE.findall(candidate) if name not in known}
    if len(foreign) != 1:
        return []
    old = re.compile(rf"(?<![\w.])self\.{re.escape(foreign.pop())}\b")
    return [old.sub(f"self.{name}", candidate) for name in recent[:RENAMES]]
