"""Open documents for `textDocument/didOpen`, `didChange` (incremental) and `didClose`.

The server keeps its own store instead of pygls's workspace: pygls splits lines with
`str.splitlines` and clamps request positions silently, while a request at a position the
server cannot place must get an empty answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import unquote, urlparse

from lsprotocol import types

from diffill.infill.syntax import language_for

from .positions import line_starts, offset_at, position_at

log = logging.getLogger(__name__)


def path_of(uri: str) -> str:
    return unquote(urlparse(uri).path)


@dataclass
class Document:
    uri: str
    text: str
    version: int
    language_id: str  # as the client named it
    language: str | None  # tree-sitter language; None: plain text
    _starts: list[int] | None = field(default=None, repr=False)

    @property
    def starts(self) -> list[int]:
        if self._starts is None:
            self._starts = line_starts(self.text)
        return self._starts

    def offset_at(self, position: types.Position, encoding: str) -> int | None:
        """Offset of a request position; None when the position is not in the text."""
        return offset_at(self.text, self.starts, position, encoding)

    def position_at(self, offset: int, encoding: str) -> types.Position:
        return position_at(self.text, self.starts, offset, encoding)

    def range_at(self, start: int, end: int, encoding: str) -> types.Range:
        return types.Range(start=self.position_at(start, encoding), end=self.position_at(end, encoding))

    def apply(self, change: types.TextDocumentContentChangeEvent, encoding: str) -> None:
        if isinstance(change, types.TextDocumentContentChangeWholeDocument):
            self.text = change.text
        else:
            # Edits follow the LSP rule: positions past a line end mean the line end.
            start = offset_at(self.text, self.starts, change.range.start, encoding, clamp=True)
            end = offset_at(self.text, self.starts, change.range.end, encoding, clamp=True)
            assert start is not None and end is not None
            end = max(start, end)
            self.text = self.text[:start] + change.text + self.text[end:]
        self._starts = None


class DocumentStore:
    """uri -> Document for the documents the client has open."""

    def __init__(self) -> None:
        self.docs: dict[str, Document] = {}

    def open(self, item: types.TextDocumentItem) -> Document:
        language = language_for(path_of(item.uri), item.language_id)
        doc = Document(item.uri, item.text, item.version, item.language_id, language)
        self.docs[item.uri] = doc
        return doc

    def change(self, params: types.DidChangeTextDocumentParams, encoding: str) -> Document | None:
        doc = self.docs.get(params.text_document.uri)
        if doc is None:
            log.warning("didChange for a document that is not open: %s", params.text_document.uri)
            return None
        for change in params.content_changes:
            doc.apply(change, encoding)
        doc.version = params.text_document.version
        return doc

    def close(self, uri: str) -> None:
        self.docs.pop(uri, None)

    def get(self, uri: str) -> Document | None:
        return self.docs.get(uri)
