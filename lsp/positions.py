"""LSP positions <-> Python string offsets in the negotiated position encoding.

Used by every method that takes a `Position` or `Range` (`textDocument/didChange`,
`textDocument/inlineCompletion`, `textDocument/completion`, `diffill/rewriteRange`, code
actions). LSP splits lines only at `\\n`, `\\r\\n` and `\\r` (`str.splitlines` also splits at
U+2028, form feed and others, which would shift every later line), and counts characters in
code units of the encoding: UTF-16 counts a character outside the BMP as two units (a
surrogate pair), UTF-8 counts bytes. Python strings index code points.
"""

from __future__ import annotations

import bisect
import re

from lsprotocol import types

UTF8 = types.PositionEncodingKind.Utf8
UTF16 = types.PositionEncodingKind.Utf16
EOL = re.compile(r"\r\n|\r|\n")


def negotiate(capabilities: types.ClientCapabilities) -> types.PositionEncodingKind:
    """UTF-8 when the client offers it (no conversion for most text), else UTF-16 (mandatory)."""
    general = capabilities.general
    offered = general.position_encodings if general is not None else None
    return UTF8 if offered and UTF8 in offered else UTF16


def line_starts(text: str) -> list[int]:
    """Offset of the first character of every line."""
    return [0, *(m.end() for m in EOL.finditer(text))]


def units(text: str, encoding: str) -> int:
    """Length of text in code units of encoding."""
    if text.isascii():
        return len(text)
    if encoding == UTF8:
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def char_units(ch: str, encoding: str) -> int:
    code = ord(ch)
    if encoding == UTF8:
        return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
    return 2 if code > 0xFFFF else 1


def content_end(text: str, starts: list[int], line: int) -> int:
    """Offset where line's content ends (before its line break)."""
    if line + 1 >= len(starts):
        return len(text)
    end = starts[line + 1]
    if text.startswith("\r\n", end - 2):
        return end - 2
    return end - 1


def column_offset(line: str, character: int, encoding: str) -> int | None:
    """Index into line of a column in code units; None when past the end or inside a character."""
    if line.isascii():
        return character if character <= len(line) else None
    seen = 0
    for index, ch in enumerate(line):
        if seen == character:
            return index
        seen += char_units(ch, encoding)
        if seen > character:
            return None  # inside a surrogate pair or a multi-byte character
    return len(line) if seen == character else None


def offset_at(
    text: str, starts: list[int], position: types.Position, encoding: str, clamp: bool = False
) -> int | None:
    """Offset of position, or None when it is not in text.

    clamp=True follows the LSP rule for edits instead: a line past the end means the end of
    the text, a column past the end of its line means the line end, and a column inside a
    character rounds down to its start.
    """
    if position.line >= len(starts):
        return len(text) if clamp else None
    start = starts[position.line]
    end = content_end(text, starts, position.line)
    line = text[start:end]
    column = column_offset(line, position.character, encoding)
    if column is None:
        if not clamp:
            return None
        column = floor_column(line, position.character, encoding)
    return start + column


def floor_column(line: str, character: int, encoding: str) -> int:
    seen = 0
    for index, ch in enumerate(line):
        seen += char_units(ch, encoding)
        if seen > character:
            return index
    return len(line)


def position_at(text: str, starts: list[int], offset: int, encoding: str) -> types.Position:
    """Position of offset (0 <= offset <= len(text))."""
    line = bisect.bisect_right(starts, offset) - 1
    return types.Position(line=line, character=units(text[starts[line] : offset], encoding))
