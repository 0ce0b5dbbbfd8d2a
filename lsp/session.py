"""The per-connection state the LSP handlers work with, and the few protocol calls they make.

Handler modules (suggest.py, rewrite.py, actions.py, acceptance.py, stats.py) take a
`Session`, never the `LanguageServer`: server.py builds one per server and routes each method
to a module with it. What needs the protocol (a notification, `window/showMessage`,
`workspace/applyEdit`, work-done progress) goes through `Client`, a handful of callables the
server binds (status.py holds one too), so a test can drive a handler with fakes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from . import logs
from .config import Settings, load_settings
from .continuation import ContinuationCache
from .documents import DocumentStore
from .positions import UTF16, negotiate
from .stats import FillStats
from .status import StatusReporter
from .worker import EngineWorker, Loader
from .workspace import WorkspaceDrafts, roots_of

if TYPE_CHECKING:
    from pygls.progress import Progress

log = logging.getLogger(__name__)
PURPOSES = ("inline", "completion", "rewrite", "holes")  # worker job keys are f"{purpose}:{uri}"


@dataclass(frozen=True)
class Client:
    """What the handlers send to the client; the server binds these to its protocol."""

    notify: Callable[[str, Any], None]  # a notification (diffill/status)
    show_message: Callable[[types.ShowMessageParams], None]  # window/showMessage
    apply_edit: Callable[[types.ApplyWorkspaceEditParams], Awaitable[types.ApplyWorkspaceEditResult | None]]
    progress: Callable[[], Progress | None]  # work-done progress; None when the client has none


class Session:
    """Settings, documents, the engine worker and the draft index of one client connection."""

    def __init__(self, client: Client, loader_for: Callable[[Settings], Loader]) -> None:
        self.client = client
        self.loader_for = loader_for  # the engine a settings value asks for (loaded in the worker)
        self.settings = Settings()
        self.encoding: str = UTF16
        self.documents = DocumentStore()
        self.continuation = ContinuationCache()
        self.stats = FillStats()
        self.status = StatusReporter(client)
        self.worker = EngineWorker(self.status.update)
        self.drafts = WorkspaceDrafts()

    def start(self, params: types.InitializeParams) -> None:
        """Negotiate the encoding, read initializationOptions, start loading the model."""
        self.encoding = negotiate(params.capabilities)
        self.status.bind(asyncio.get_running_loop())
        self.drafts.roots = roots_of(params)
        self.configure(params.initialization_options, initial=True)

    def configure(self, raw: Any, initial: bool = False) -> None:
        """Merge settings (bad ones are told and skipped); reload the model only if its settings changed."""
        previous = self.settings
        self.settings, problems = load_settings(raw, previous)
        problem = logs.log_to_file(self.settings.log_file) if initial or (
            self.settings.log_file != previous.log_file) else None
        problems += [problem] if problem else []
        if problems:
            self.tell(types.MessageType.Warning, "diffill: settings ignored: " + "; ".join(problems)
                      + ". Fix them in the editor's diffill settings; defaults are used meanwhile.")
        if initial or self.settings.model_key() != previous.model_key():
            label = self.settings.model_path or "the default model"
            self.worker.load(self.loader_for(self.settings), label)
        # After the model load is queued: the workspace scan must not delay it.
        self.drafts.configure(self.settings.workspace_index, self.settings.workspace_index_max_files,
                              self.documents.docs.values())

    def tell(self, kind: types.MessageType, message: str) -> None:
        """A `window/showMessage` (and the log)."""
        log.warning("%s", message)
        self.client.show_message(types.ShowMessageParams(type=kind, message=message))

    async def apply_edit(self, edit: types.WorkspaceEdit, label: str) -> bool:
        """`workspace/applyEdit`; whether the client applied it."""
        response = await self.client.apply_edit(types.ApplyWorkspaceEditParams(edit=edit, label=label))
        return bool(response and response.applied)

    def open(self, item: types.TextDocumentItem) -> None:
        """Track the document (the draft index reads it when another document asks)."""
        self.drafts.changed(self.documents.open(item))

    def change(self, params: types.DidChangeTextDocumentParams) -> None:
        """Apply incremental changes to a tracked document."""
        if (doc := self.documents.change(params, self.encoding)) is not None:
            self.drafts.changed(doc)

    def close(self, uri: str) -> None:
        """Forget the document and stop its work."""
        self.documents.close(uri)
        self.continuation.forget(uri)
        self.drafts.closed(uri)
        for purpose in PURPOSES:
            self.worker.cancel(f"{purpose}:{uri}")
