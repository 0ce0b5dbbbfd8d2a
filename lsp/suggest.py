"""`textDocument/inlineCompletion` and `textDocument/completion`: suggestions at the cursor.

Anything that cannot be answered now (model not ready, unknown document, a position that is
not in the document, a language that is switched off, a superseded or late request, an
edit while the engine ran) is answered empty, never with an error.

Budgets per trigger: what the editor asks for while the user types gets `typingDeadlineMs`
and gives way when the model cannot finish inside it (no rough, hurried fill is shown); what
the user asked for gets `deadlineMs` and, past it, the fill as it stands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lsprotocol import types

from diffill.infill.requests import Trigger, cursor_request, hole_plan, takes_drafts

from . import fills, items
from .documents import Document
from .worker import ASKED, TYPED

if TYPE_CHECKING:
    from .session import Session


def locate(session: Session, uri: str, position: types.Position) -> tuple[Document, int] | None:
    """The document and offset of a request position, if the server can serve it."""
    doc = session.documents.get(uri)
    if doc is None or not session.settings.enabled_for(doc.language_id):
        return None
    offset = doc.offset_at(position, session.encoding)
    return None if offset is None else (doc, offset)


async def fills_at(session: Session, doc: Document, offset: int, trigger: Trigger,
                   typing: bool = True) -> list[str] | None:
    """Candidate fills best first; None when superseded, late, stale or the model is not ready.

    typing: the editor asked on its own while the user types (the typing budget applies).
    """
    if not session.worker.ready:
        return None
    text, version = doc.text, doc.version
    budget = session.settings.typing_deadline_ms if typing else session.settings.deadline_ms
    wanted = takes_drafts(hole_plan(text, offset, doc.language), trigger)
    drafts = await session.drafts.lookup(doc.uri, text, offset, budget / 2000) if wanted else ()
    req = cursor_request(text, offset, doc.language, trigger, session.settings.fill_settings(),
                         extra_drafts=drafts)
    key = f"{'completion' if trigger is Trigger.COMPLETION else 'inline'}:{doc.uri}"
    result = await session.worker.run(key, lambda engine, stop: fills.fill(engine, req, stop), budget,
                                      TYPED if typing else ASKED)
    if result is None:
        return None
    session.stats.add(result)
    if typing and result.hurried:
        session.stats.gave_way += 1  # out of budget: nothing rather than a rough fill
        return None
    if session.documents.get(doc.uri) is not doc or doc.version != version:
        return None  # the document changed while the engine ran: the answer is for old text
    # Only what the engine finds worth showing: a wrong suggestion costs more than none.
    return [c.text for c in result.candidates if c.text and c.shown]


def acceptance_args(session: Session, doc: Document, text: str, offset: int, trigger: Trigger,
                    suggestions: list[str]) -> dict[str, Any] | None:
    """Arguments of the acceptance command; None when nothing listens (no log, no index)."""
    shown = session.drafts.shown(text, offset, suggestions)
    if not session.settings.acceptance_log and shown is None:
        return None
    args: dict[str, Any] = {"uri": doc.uri, "languageId": doc.language_id, "trigger": trigger.value}
    return args if shown is None else {**args, "shown": shown}


async def inline(session: Session, params: types.InlineCompletionParams) -> list[types.InlineCompletionItem]:
    found = locate(session, params.text_document.uri, params.position)
    if found is None:
        return []
    doc, offset = found
    invoked = params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
    trigger = Trigger.INVOKED if invoked else Trigger.TYPED
    if not invoked and (rest := session.continuation.rest(doc.uri, doc.text, offset)) is not None:
        session.stats.continued += 1  # the user typed what the last suggestion begins with
        return items.inline_items(doc, offset, [rest], session.encoding,
                                  acceptance_args(session, doc, doc.text, offset, trigger, [rest]))
    text = doc.text
    suggestions = await fills_at(session, doc, offset, trigger, typing=not invoked)
    if not suggestions:
        return []
    session.continuation.remember(doc.uri, text, offset, suggestions[0])
    return items.inline_items(doc, offset, suggestions, session.encoding,
                              acceptance_args(session, doc, text, offset, trigger, suggestions))


async def completion(session: Session, params: types.CompletionParams) -> types.CompletionList:
    found = locate(session, params.text_document.uri, params.position)
    typing = params.context is None or params.context.trigger_kind != types.CompletionTriggerKind.Invoked
    suggestions = await fills_at(session, *found, Trigger.COMPLETION, typing) if found is not None else None
    if found is None or not suggestions:
        return types.CompletionList(is_incomplete=True, items=[])
    # Incomplete: the next keystroke changes the context, so the client should ask again.
    return types.CompletionList(is_incomplete=True,
                                items=items.completion_items(*found, suggestions, session.encoding))
