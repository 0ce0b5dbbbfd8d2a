"""`textDocument/codeAction`: "Rewrite with diffill" for a selection, "Fill holes" for markers.

Code actions are asked for on every cursor move, so they compute nothing: each carries a
command (`diffill.rewrite`, `diffill.fillHoles`) that does the work when chosen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lsprotocol import types

from diffill.infill.markers import DEFAULT_MARKER

from .messages import CMD_FILL_HOLES, CMD_REWRITE

if TYPE_CHECKING:
    from .session import Session

KIND = types.CodeActionKind.RefactorRewrite


def range_json(r: types.Range) -> dict[str, Any]:
    return {"start": {"line": r.start.line, "character": r.start.character},
            "end": {"line": r.end.line, "character": r.end.character}}


def wanted(params: types.CodeActionParams) -> bool:
    only = params.context.only
    return not only or any(KIND == k or KIND.value.startswith(f"{k}.") for k in only)


def code_actions(session: Session, params: types.CodeActionParams) -> list[types.CodeAction]:
    doc = session.documents.get(params.text_document.uri)
    if doc is None or not session.settings.enabled_for(doc.language_id) or not wanted(params):
        return []
    found: list[types.CodeAction] = []
    if params.range.start != params.range.end:
        title = "Rewrite with diffill"
        found.append(types.CodeAction(title=title, kind=KIND, command=types.Command(
            title=title, command=CMD_REWRITE, arguments=[doc.uri, doc.version, range_json(params.range)])))
    holes = doc.text.count(DEFAULT_MARKER)
    if holes:
        title = f"Fill {holes} diffill hole{'s' if holes > 1 else ''}"
        found.append(types.CodeAction(title=title, kind=KIND, command=types.Command(
            title=title, command=CMD_FILL_HOLES, arguments=[doc.uri, doc.version])))
    return found
