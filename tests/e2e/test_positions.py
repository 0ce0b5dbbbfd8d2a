"""Positions in utf-16 and utf-8 with non-ASCII text, surrogate pairs and every line ending.

The server's view of a document is checked through the hole-filling command: the edit it
sends back for each `<|fill|>` marker must sit exactly where the client sees the marker.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsp_harness import TEST_OPTIONS, Session, pos
from lsprotocol import types

from diffill.lsp.messages import CMD_FILL_HOLES

MARKER = "<|fill|>"


@pytest.fixture(scope="module")
def utf8_server() -> Iterator[Session]:
    session = Session(TEST_OPTIONS, encodings=["utf-32", "utf-8", "utf-16"])
    yield session
    session.close()


@pytest.fixture(params=["utf-16", "utf-8"])
def session(request: pytest.FixtureRequest) -> Iterator[Session]:
    """Every hole filled (minConfidence 0): these tests are about where the edits go."""
    name = "server" if request.param == "utf-16" else "utf8_server"
    s: Session = request.getfixturevalue(name)
    assert s.init.capabilities.position_encoding == request.param
    with s.every_candidate_shown():
        yield s


def width(ch: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(ch.encode("utf-8"))
    return 2 if ord(ch) > 0xFFFF else 1


def ref_offset(text: str, line: int, character: int, encoding: str) -> int:
    """Reference LSP position -> offset, written as a plain walk (lines end at \\r\\n, \\r, \\n)."""
    i = 0
    for _ in range(line):
        while i < len(text) and text[i] not in "\r\n":
            i += 1
        if i >= len(text):
            return len(text)
        i += 2 if text.startswith("\r\n", i) else 1
    units = 0
    while i < len(text) and text[i] not in "\r\n" and units + width(text[i], encoding) <= character:
        units += width(text[i], encoding)
        i += 1
    return i


def ref_position(text: str, offset: int, encoding: str) -> types.Position:
    line = start = 0
    i = 0
    while i < offset:
        if text[i] == "\r" or text[i] == "\n":
            i += 2 if text.startswith("\r\n", i) else 1
            line, start = line + 1, i
        else:
            i += 1
    return pos(line, sum(width(c, encoding) for c in text[start:offset]))


def hole_ranges(session: Session, uri: str) -> list[types.Range]:
    before = len(session.client.edits)
    applied = session.run(session.client.workspace_execute_command_async(types.ExecuteCommandParams(
        command=CMD_FILL_HOLES, arguments=[uri, session.version[uri]])), timeout=120)
    assert applied is True
    (change,) = session.client.edits[before:][0].edit.document_changes
    return [e.range for e in change.edits]


def expected_holes(text: str, encoding: str) -> list[types.Range]:
    ranges, at = [], text.find(MARKER)
    while at >= 0:
        ranges.append(types.Range(start=ref_position(text, at, encoding),
                                  end=ref_position(text, at + len(MARKER), encoding)))
        at = text.find(MARKER, at + len(MARKER))
    return ranges


MIXED = (
    's = "😀<|fill|>é"\r\n'  # a surrogate pair before the marker, CRLF after
    'name = "ñandú"  # <|fill|>\n'  # two-byte characters in utf-8
    'x = "\u2028"\n'  # LINE SEPARATOR is not a line break in LSP
    "y = <|fill|>\r"  # a lone CR is one
    "a = <|fill|>\n"
)


def test_marker_positions_in_mixed_text(session: Session) -> None:
    encoding = session.init.capabilities.position_encoding
    assert isinstance(encoding, str)
    uri = session.open(MIXED)
    ranges = hole_ranges(session, uri)
    assert ranges == expected_holes(MIXED, encoding)
    assert ranges[0].start == (pos(0, 7) if encoding == "utf-16" else pos(0, 9))
    assert ranges[1].start == (pos(1, 18) if encoding == "utf-16" else pos(1, 20))
    assert [r.start.line for r in ranges[2:]] == [3, 4]


def test_incremental_edits_with_non_ascii(session: Session) -> None:
    encoding = session.init.capabilities.position_encoding
    utf16 = encoding == "utf-16"
    uri = session.open('e = "😀"\n')
    after_emoji = 7 if utf16 else 9
    session.change(uri, (0, after_emoji), (0, after_emoji), "🎉")
    after_party = after_emoji + (2 if utf16 else 4)
    session.change(uri, (0, after_party), (0, after_party), MARKER)
    end_of_line = after_party + len(MARKER) + 1
    session.change(uri, (0, end_of_line), (0, end_of_line), "\r\nz = " + MARKER)
    text = 'e = "😀🎉' + MARKER + '"\r\nz = ' + MARKER + "\n"
    assert hole_ranges(session, uri) == expected_holes(text, encoding)


def test_request_positions_inside_a_character_get_nothing(session: Session) -> None:
    utf16 = session.init.capabilities.position_encoding == "utf-16"
    uri = session.open('s = "😀é"\nt = ')
    before = session.run(session.client.stats_async())
    inside = [(0, 6)] if utf16 else [(0, 6), (0, 7), (0, 8), (0, 10)]
    for line, character in [*inside, (0, 40), (1, 5)]:
        assert session.inline(uri, line, character) == []
    assert session.run(session.client.stats_async()).fills == before.fills  # the engine never ran


ALPHABET = st.sampled_from(["a", "b", " ", "=", "\n", "\r", "\r\n", "😀", "é", "\u2028", "ñ", "\t"])
TEXT = st.lists(ALPHABET, max_size=30).map("".join)


@st.composite
def edits(draw: st.DrawFn) -> list[tuple[int, int, int, int, str]]:
    """Edits as (start line, start character, end line, end character, new text), possibly past ends."""
    out = []
    for _ in range(draw(st.integers(1, 5))):
        a = (draw(st.integers(0, 6)), draw(st.integers(0, 12)))
        b = (draw(st.integers(0, 6)), draw(st.integers(0, 12)))
        start, end = sorted([a, b])
        out.append((*start, *end, draw(TEXT)))
    return out


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(initial=TEXT, changes=edits())
def test_random_edits_keep_server_and_client_in_sync(session: Session, initial: str,
                                                    changes: list[tuple[int, int, int, int, str]]) -> None:
    encoding = session.init.capabilities.position_encoding
    assert isinstance(encoding, str)
    uri = session.open(initial)
    text = initial
    for l0, c0, l1, c1, new in changes:
        start_pos, end_pos = sendable(text, l0, c0, encoding), sendable(text, l1, c1, encoding)
        start = ref_offset(text, *start_pos, encoding)
        end = max(start, ref_offset(text, *end_pos, encoding))
        session.change(uri, start_pos, end_pos, new)
        text = text[:start] + new + text[end:]
    # The marker goes in through a position past the last line: LSP says that means the end.
    session.change(uri, (99, 0), (99, 0), MARKER)
    text += MARKER
    assert hole_ranges(session, uri) == expected_holes(text, encoding)


def sendable(text: str, line: int, character: int, encoding: str) -> tuple[int, int]:
    """The position as drawn, unless it falls between the code units of one character
    (undefined in LSP): then the start of that character."""
    offset = ref_offset(text, line, character, encoding)
    here = ref_position(text, offset, encoding)
    at_line_end = offset >= len(text) or text[offset] in "\r\n"
    if here.line == line and not at_line_end and here.character != character:
        return here.line, here.character
    return line, character
