"""`diffill/rewriteRange` and the `diffill.rewrite` / `diffill.fillHoles` commands.

The request answers alternatives for one (possibly multi-line) range of a given document
version. The commands compute the same edits and apply them with `workspace/applyEdit`,
as a versioned edit so the client refuses it if the document changed meanwhile.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from diffill.infill.api import StopSignal
from diffill.infill.markers import DEFAULT_MARKER, Edit, fill_markers, unfilled_note
from diffill.infill.requests import range_request

from . import fills, items
from .documents import Document
from .messages import RewriteRangeParams, RewriteRangeResult
from .worker import LONG

if TYPE_CHECKING:
    from diffill.infill.engine import InfillEngine

    from .session import Session

MAX_N = 8


def current(session: Session, uri: str, version: int) -> Document | None:
    """The document if it is open at exactly this version (a stale request gets nothing)."""
    doc = session.documents.get(uri)
    if doc is None or doc.version != version or not session.settings.enabled_for(doc.language_id):
        return None
    return doc


async def rewrite_range(session: Session, params: RewriteRangeParams) -> RewriteRangeResult:
    version = params.text_document.version
    doc = current(session, params.text_document.uri, version)
    if doc is None or not session.worker.ready:
        return items.empty_rewrite(version)
    start = doc.offset_at(params.range.start, session.encoding)
    end = doc.offset_at(params.range.end, session.encoding)
    if start is None or end is None or end < start:
        return items.empty_rewrite(version)
    n = min(max(params.n or 1, 1), MAX_N)
    strength = params.strength
    if strength is not None and not 0.0 <= strength <= 1.0:
        raise JsonRpcInvalidParams(f"strength must be between 0 and 1, got {strength}")
    req = range_request(doc.text, start, end, doc.language, session.settings.fill_settings(), n=n,
                        strength=strength)
    try:
        result = await session.worker.run(f"rewrite:{doc.uri}",
                                          lambda engine, stop: fills.fill(engine, req, stop),
                                          session.settings.rewrite_deadline_ms, LONG)
    except ValueError as exc:  # e.g. a partial rewrite of a range longer than one canvas
        raise JsonRpcInvalidParams(str(exc)) from exc
    if result is None:
        return items.empty_rewrite(version)
    session.stats.add(result)
    if current(session, doc.uri, version) is not doc:
        return items.empty_rewrite(version)
    return items.rewrite_result(doc, version, result, session.encoding)


async def apply_rewrite(session: Session, uri: str, version: int, range: types.Range) -> bool:
    params = RewriteRangeParams(text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                                range=range)
    try:
        result = await rewrite_range(session, params)
    except JsonRpcInvalidParams as exc:
        session.tell(types.MessageType.Warning, f"diffill: {exc.message}")
        return False
    doc = current(session, uri, version)
    if not result.edits or doc is None:
        session.tell(types.MessageType.Info, "diffill: no rewrite for this selection (model not ready, "
                     "the document changed, or nothing better was found)")
        return False
    best = result.edits[0]
    start = doc.offset_at(best.range.start, session.encoding)
    end = doc.offset_at(best.range.end, session.encoding)
    assert start is not None and end is not None  # computed from this very version
    edit = items.document_edit(doc, version, [(start, end, best.new_text)], session.encoding)
    return await session.apply_edit(edit, "Rewrite with diffill")


async def apply_hole_fills(session: Session, uri: str, version: int) -> bool:
    doc = current(session, uri, version)
    if doc is None or not session.worker.ready or DEFAULT_MARKER not in doc.text:
        return False
    text, language, settings = doc.text, doc.language, session.settings
    drafts = session.drafts.lookup_for(uri)  # drafts from the workspace, as inline suggestions get

    def fill_all(engine: InfillEngine, stop: StopSignal) -> list[Edit]:
        return fill_markers(engine, text, DEFAULT_MARKER, language=language,
                            settings=settings.fill_settings(), drafts=drafts, stop=stop,
                            seconds_each=settings.rewrite_deadline_ms / 1000)

    edits = await session.worker.run(f"holes:{uri}", fill_all, settings.rewrite_deadline_ms, LONG)
    if edits is None or current(session, uri, version) is not doc:
        return False
    if note := unfilled_note(text, DEFAULT_MARKER, edits, "minConfidence"):
        session.tell(types.MessageType.Info, f"diffill: {note}")
    if not edits:  # done, and told why: VS Code answers an empty edit "not applied", a failure to clients
        return True
    return await session.apply_edit(items.document_edit(doc, version, edits, session.encoding),
                                    "Fill diffill holes")
