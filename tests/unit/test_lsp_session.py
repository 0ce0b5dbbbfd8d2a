"""Handlers driven through a Session with a fake client and a fake engine (no server, no model)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from lsprotocol import types

from diffill.infill.api import Candidate, FillRequest, FillResult, StopSignal
from diffill.infill.markers import DEFAULT_MARKER
from diffill.infill.syntax import HoleKind
from diffill.lsp import actions, rewrite
from diffill.lsp.config import Settings
from diffill.lsp.messages import ERROR, STATUS, StatusParams
from diffill.lsp.session import Client, Session
from diffill.lsp.worker import Loader


@dataclass
class FakeClient:
    """Records what the handlers send; applies every edit."""

    messages: list[types.ShowMessageParams] = field(default_factory=list)
    notes: list[tuple[str, Any]] = field(default_factory=list)
    edits: list[types.ApplyWorkspaceEditParams] = field(default_factory=list)

    async def apply(self, params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        self.edits.append(params)
        return types.ApplyWorkspaceEditResult(applied=True)

    def bind(self) -> Client:
        return Client(notify=lambda method, params: self.notes.append((method, params)),
                      show_message=self.messages.append, apply_edit=self.apply, progress=lambda: None)


@dataclass
class FakeDenoiser:
    max_canvas: int = 256


@dataclass
class FakeEngine:
    """Fills every hole with `sure`, shown only for the holes listed in `confident` (by call)."""

    confident: set[int]
    denoiser: FakeDenoiser = field(default_factory=FakeDenoiser)
    calls: int = 0
    closed: bool = False

    def close(self) -> None:
        self.closed = True

    def fill(self, req: FillRequest, stop: StopSignal | None = None) -> FillResult:
        shown = self.calls in self.confident
        self.calls += 1
        return FillResult(req.start, req.start, HoleKind.REST_OF_LINE,
                          [Candidate("sure", 0.0, True, shown=shown)])


def session_with(engine: FakeEngine | None = None) -> tuple[Session, FakeClient, list[Settings]]:
    """A configured session; the fake engine is loaded (and ready) when given."""
    client, loads = FakeClient(), []

    def loader_for(settings: Settings) -> Loader:
        loads.append(settings)
        return lambda: engine if engine is not None else FakeEngine(set())

    session = Session(client.bind(), loader_for)
    session.configure(None, initial=True)
    deadline = time.monotonic() + 10
    while engine is not None and not session.worker.ready and time.monotonic() < deadline:
        time.sleep(0.01)
    return session, client, loads


def open_doc(session: Session, text: str, uri: str = "untitled:a.py") -> types.TextDocumentItem:
    item = types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
    session.open(item)
    return item


def test_settings_are_told_and_only_model_settings_reload():
    session, client, loads = session_with()
    assert len(loads) == 1 and not client.messages
    session.configure({"candidates": 99, "deadlineMs": 500})
    assert len(loads) == 1  # no model setting changed
    assert session.settings.deadline_ms == 500 and session.settings.candidates == 3
    (told,) = client.messages
    assert told.type == types.MessageType.Warning and "candidates must be between 1 and 8" in told.message
    session.configure({"dtype": "fp32"})
    assert len(loads) == 2 and loads[-1].dtype == "fp32"


def test_a_reload_closes_the_engine_it_replaces():
    # The engine owns a scoring process; the one a new model replaces must end it.
    old = FakeEngine(set())
    session, _, loads = session_with(old)
    session.configure({"dtype": "fp32"})
    deadline = time.monotonic() + 60  # a safety net; the loop ends when the reload closes it
    while not old.closed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(loads) == 2 and old.closed


def test_code_actions_come_from_the_session():
    session, _, _ = session_with()
    item = open_doc(session, f"x = {DEFAULT_MARKER}\ny = {DEFAULT_MARKER}\n")
    here = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0))
    params = types.CodeActionParams(text_document=types.TextDocumentIdentifier(uri=item.uri), range=here,
                                    context=types.CodeActionContext(diagnostics=[]))
    (action,) = actions.code_actions(session, params)
    assert action.title == "Fill 2 diffill holes"
    assert action.command is not None and action.command.arguments == [item.uri, 1]
    session.close(item.uri)
    assert actions.code_actions(session, params) == []


def test_hole_fills_tell_the_holes_left_and_apply_the_rest():
    session, client, _ = session_with(FakeEngine(confident={0}))
    item = open_doc(session, f"x = {DEFAULT_MARKER}\ny = {DEFAULT_MARKER}\n")
    assert asyncio.run(rewrite.apply_hole_fills(session, item.uri, 1))
    (told,) = client.messages
    assert told.type == types.MessageType.Info
    assert told.message == ("diffill: 1 of 2 holes left marked: no candidate was confident enough "
                            "(minConfidence 0 fills them anyway)")
    (applied,) = client.edits
    assert applied.label == "Fill diffill holes"
    changes = applied.edit.document_changes
    assert changes is not None and len(changes) == 1
    doc_edit = changes[0]
    assert isinstance(doc_edit, types.TextDocumentEdit) and doc_edit.text_document.version == 1
    (edit,) = doc_edit.edits
    assert edit.new_text == "sure" and edit.range.start == types.Position(line=0, character=4)
    # A stale version gets nothing.
    assert not asyncio.run(rewrite.apply_hole_fills(session, item.uri, 2))


def test_status_goes_through_the_client():
    client = FakeClient()
    session = Session(client.bind(), lambda settings: lambda: FakeEngine(set()))

    async def report() -> None:
        session.status.bind(asyncio.get_running_loop())
        session.status.start()  # initialized: the state so far (loading) goes out
        session.status.update(ERROR, "no such folder")
        await asyncio.sleep(0.05)  # updates are applied on the loop

    asyncio.run(report())
    assert client.notes == [(STATUS, StatusParams(state="loading")),
                            (STATUS, StatusParams(state=ERROR, message="no such folder"))]
    (told,) = client.messages
    assert told.type == types.MessageType.Error and told.message == "diffill: no such folder"
