"""Engine results -> LSP results: inline items, completion items, rewrite edits, hole edits.

Inline items insert at the cursor (an empty, one-line range, as LSP 3.18 requires); fills
take the document's line ending so a CRLF file stays CRLF.
"""

from __future__ import annotations

import re
from typing import Any

from lsprotocol import types

from diffill.infill.api import FillResult

from .documents import Document
from .messages import CMD_ACCEPTED, RewriteEdit, RewriteRangeResult

WORD_BEFORE = re.compile(r"\w*\Z")


def eol_of(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def with_eol(fill: str, eol: str) -> str:
    return fill.replace("\r\n", "\n").replace("\n", eol) if eol != "\n" else fill


def inline_items(doc: Document, offset: int, fills: list[str], encoding: str,
                 accepted: dict[str, Any] | None) -> list[types.InlineCompletionItem]:
    """accepted: arguments of the acceptance command (None: no acceptance log, no draft index)."""
    eol = eol_of(doc.text)
    here = doc.position_at(offset, encoding)
    items = []
    for rank, fill in enumerate(fills):
        command = None
        if accepted is not None:
            args = {**accepted, "rank": rank, "chars": len(fill), "lines": fill.count("\n") + 1}
            command = types.Command(title="diffill: accepted", command=CMD_ACCEPTED, arguments=[args])
        items.append(types.InlineCompletionItem(
            insert_text=with_eol(fill, eol), range=types.Range(start=here, end=here), command=command))
    return items


def completion_items(doc: Document, offset: int, fills: list[str],
                     encoding: str) -> list[types.CompletionItem]:
    """Items that replace the word before the cursor (so clients filter them sensibly)."""
    line_start = doc.text.rfind("\n", 0, offset) + 1
    word = WORD_BEFORE.search(doc.text, line_start, offset)
    word_text = word.group() if word else ""
    edit_range = doc.range_at(offset - len(word_text), offset, encoding)
    items = []
    for rank, fill in enumerate(fills):
        text = (word_text + fill).rstrip("\r\n")
        items.append(types.CompletionItem(
            label=text.strip()[:80] or text,
            kind=types.CompletionItemKind.Text,
            detail="diffill",
            sort_text=f"{rank:02d}",
            filter_text=text,
            preselect=rank == 0,
            insert_text_format=types.InsertTextFormat.PlainText,
            text_edit=types.TextEdit(range=edit_range, new_text=text),
        ))
    return items


def rewrite_result(doc: Document, version: int, result: FillResult, encoding: str) -> RewriteRangeResult:
    eol = eol_of(doc.text)
    edit_range = doc.range_at(result.start, result.end, encoding)
    return RewriteRangeResult(
        edits=[RewriteEdit(range=edit_range, new_text=with_eol(c.text, eol), syntax_ok=c.syntax_ok,
                           logprob=round(c.logprob, 4)) for c in result.candidates],
        version=version,
        kind=result.kind.value,
        steps=result.steps,
        tokens_per_forward=round(result.tokens_per_forward, 3),
        ms=round(result.ms, 1),
        cached=result.cached,
    )


def empty_rewrite(version: int) -> RewriteRangeResult:
    return RewriteRangeResult(edits=[], version=version, kind="", steps=0, tokens_per_forward=0.0,
                              ms=0.0, cached=False)


def document_edit(doc: Document, version: int, edits: list[tuple[int, int, str]],
                  encoding: str) -> types.WorkspaceEdit:
    """A versioned workspace edit: the client refuses it if the document changed meanwhile."""
    eol = eol_of(doc.text)
    text_edits: list[types.TextEdit | types.AnnotatedTextEdit | types.SnippetTextEdit] = [
        types.TextEdit(range=doc.range_at(start, end, encoding), new_text=with_eol(new, eol))
        for start, end, new in edits
    ]
    return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(
        text_document=types.OptionalVersionedTextDocumentIdentifier(uri=doc.uri, version=version),
        edits=text_edits)])
