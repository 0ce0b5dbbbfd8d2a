"""`diffill serve`: the language server and its handlers (one per LSP method, a few lines each).

Methods: `initialize`, `initialized`, `textDocument/didOpen|didChange|didClose`
(incremental), `workspace/didChangeConfiguration`, `textDocument/inlineCompletion`,
`textDocument/completion`, `textDocument/codeAction`, `workspace/executeCommand`
(`diffill.rewrite`, `diffill.fillHoles`, `diffill.accepted`), and diffill's own
`diffill/rewriteRange`, `diffill/stats` and `diffill/status` (sent). Each handler routes to
a module with the connection's Session (session.py), never the server: the work lives in
suggest.py, rewrite.py, actions.py, acceptance.py and stats.py; the engine runs in
worker.py's thread; drafts from other documents and the workspace come from workspace.py.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from . import acceptance, actions, logs, rewrite, suggest
from . import stats as fill_stats
from .config import Settings
from .messages import (
    CMD_ACCEPTED,
    CMD_FILL_HOLES,
    CMD_REWRITE,
    REWRITE_RANGE,
    STATS,
    RewriteRangeParams,
    RewriteRangeResult,
    StatsParams,
    StatsResult,
)
from .protocol import DiffillProtocol
from .session import Client, Session
from .worker import Loader

if TYPE_CHECKING:
    from pygls.progress import Progress

    from diffill.infill.engine import InfillEngine

log = logging.getLogger(__name__)
VERSION = "0.1.0"


def engine_loader(settings: Settings) -> Loader:
    def load() -> InfillEngine:
        # The model's imports (numpy and the weights for the default model; torch and
        # transformers for other backends) happen here, in the loader thread, so the server
        # answers `initialize` at once.
        from diffill.infill.engine import load_engine

        path = Path(settings.model_path).expanduser() if settings.model_path else None
        # The corpus index loads (or is built, once) in its own thread; fills use the file
        # and the workspace alone until it is ready.
        return load_engine(path, settings.device, settings.dtype,
                           trust_remote_code=settings.trust_remote_code,
                           quantization=settings.quantization, scoring_process=True)

    return load


class DiffillServer(LanguageServer):
    """The protocol end of the server; its state is `session`, which the handlers below route to."""

    def __init__(self) -> None:
        super().__init__("diffill", VERSION, protocol_cls=DiffillProtocol,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        client = Client(notify=self.protocol.notify, show_message=self.window_show_message,
                        apply_edit=self.workspace_apply_edit_async, progress=self.progress_if_supported)
        self.session = Session(client, engine_loader)

    def progress_if_supported(self) -> Progress | None:
        """Work-done progress, if the client said it supports it."""
        window = self.client_capabilities.window
        return self.work_done_progress if window is not None and window.work_done_progress else None

    def report_server_error(self, error: Exception, source: Any) -> None:
        # Errors inside requests reach the client in the response; the rest only goes to the log
        # (pygls would pop up a message for every malformed notification).
        log.error("%s: %s", getattr(source, "__name__", source), error)


SERVER = DiffillServer()


@SERVER.feature(types.INITIALIZE)
def initialize(ls: DiffillServer, params: types.InitializeParams) -> None:
    """Read settings and start loading the model in the background."""
    ls.session.start(params)


@SERVER.feature(types.INITIALIZED)
def initialized(ls: DiffillServer, params: types.InitializedParams) -> None:
    """Send the current status (and progress while the model loads)."""
    ls.session.status.start()


@SERVER.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: DiffillServer, params: types.DidOpenTextDocumentParams) -> None:
    """Track the document."""
    ls.session.open(params.text_document)


@SERVER.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: DiffillServer, params: types.DidChangeTextDocumentParams) -> None:
    """Apply incremental changes (and edit the syntax tree)."""
    ls.session.change(params)


@SERVER.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: DiffillServer, params: types.DidCloseTextDocumentParams) -> None:
    """Forget the document and stop its work."""
    ls.session.close(params.text_document.uri)


@SERVER.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
def did_change_configuration(ls: DiffillServer, params: types.DidChangeConfigurationParams) -> None:
    """Merge the new settings; reload the model only if its settings changed."""
    ls.session.configure(params.settings)


@SERVER.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
async def inline_completion(
    ls: DiffillServer, params: types.InlineCompletionParams
) -> list[types.InlineCompletionItem]:
    """Ghost text at the cursor."""
    return await suggest.inline(ls.session, params)


@SERVER.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(resolve_provider=False))
async def completion(ls: DiffillServer, params: types.CompletionParams) -> types.CompletionList:
    """Completion items from the same engine, for clients without inline completion."""
    return await suggest.completion(ls.session, params)


@SERVER.feature(REWRITE_RANGE)
async def rewrite_range(ls: DiffillServer, params: RewriteRangeParams) -> RewriteRangeResult:
    """Multi-line rewrite of a range (an inline item's range must stay on one line)."""
    return await rewrite.rewrite_range(ls.session, params)


@SERVER.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.RefactorRewrite]))
def code_action(ls: DiffillServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    """'Rewrite with diffill' for a selection; 'Fill holes' when the document has markers."""
    return actions.code_actions(ls.session, params)


@SERVER.command(CMD_REWRITE)
async def rewrite_command(ls: DiffillServer, uri: str, version: int, range: types.Range) -> bool:
    """Rewrite the range and apply the best edit through workspace/applyEdit."""
    return await rewrite.apply_rewrite(ls.session, uri, version, range)


@SERVER.command(CMD_FILL_HOLES)
async def fill_holes_command(ls: DiffillServer, uri: str, version: int) -> bool:
    """Fill every hole marker and apply the edits through workspace/applyEdit."""
    return await rewrite.apply_hole_fills(ls.session, uri, version)


@SERVER.command(CMD_ACCEPTED)
def accepted_command(ls: DiffillServer, event: dict[str, Any]) -> bool:
    """The user accepted a suggestion: keep it as a draft; append it to the acceptance log."""
    return acceptance.accepted(ls.session, event)


@SERVER.feature(STATS)
def stats(ls: DiffillServer, params: StatsParams | None) -> StatsResult:
    """Engine figures and memory, for `diffill bench lsp`."""
    return fill_stats.report(ls.session, reset=bool(params and params.reset))


def serve(tcp: str | None = None, log_level: str = "INFO") -> int:
    """Run until the client exits; 2 when --tcp is not HOST:PORT."""
    logs.setup(log_level)
    if tcp:
        host, _, port = tcp.rpartition(":")
        if not port.isdigit():
            log.error("--tcp wants HOST:PORT, got %r", tcp)
            return 2
        SERVER.start_tcp(host.strip("[]") or "127.0.0.1", int(port))
    else:
        SERVER.start_io()
    return 0
