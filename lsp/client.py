"""A pygls LanguageClient for `diffill serve`, used by `diffill bench lsp` and the e2e tests.

It starts the real server as a subprocess over stdio, knows diffill's own methods
(`diffill/rewriteRange`, `diffill/stats`, `diffill/status`), and plays the editor's part for
server requests: accepts work-done progress, applies (records) workspace edits, and keeps the
messages shown to the user. The server's stderr is drained so its logs never block it.
"""

from __future__ import annotations

import asyncio
import collections
import os
import sys
import time
from typing import Any, Union

import cattrs
from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.protocol import default_converter

from .messages import (
    ERROR,
    READY,
    REWRITE_RANGE,
    STATS,
    STATUS,
    RewriteRangeParams,
    RewriteRangeResult,
    StatsParams,
    StatsResult,
    StatusParams,
)
from .protocol import DiffillClientProtocol


def client_converter() -> cattrs.Converter:
    """Pygls's converter, except that a code action carrying a command stays a CodeAction.

    lsprotocol 2025.0.0 reads any object with a "command" key as a Command; editors check
    whether "command" is a string (a Command) or an object (a CodeAction's command).
    """
    converter = default_converter()

    def action(obj: Any, _: Any) -> types.Command | types.CodeAction:
        kind = types.Command if isinstance(obj.get("command"), str) else types.CodeAction
        return converter.structure(obj, kind)  # type: ignore[no-any-return]

    converter.register_structure_hook(types.Command | types.CodeAction, action)
    converter.register_structure_hook(Union[types.Command, types.CodeAction], action)  # noqa: UP007
    return converter


class DiffillClient(LanguageClient):
    def __init__(self) -> None:
        super().__init__("diffill-client", "0.1.0", protocol_cls=DiffillClientProtocol,
                         converter_factory=client_converter)
        self.statuses: list[StatusParams] = []
        self.shown: list[types.ShowMessageParams] = []
        self.progress_values: list[Any] = []  # $/progress values the server sent
        self.edits: list[types.ApplyWorkspaceEditParams] = []
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=200)
        # pygls tags handlers with attributes, so they must be plain functions (not bound methods).
        self.feature(STATUS)(lambda params: self.statuses.append(params))
        self.feature(types.WINDOW_SHOW_MESSAGE)(lambda params: self.shown.append(params))
        self.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)(lambda params: None)
        self.feature(types.PROGRESS)(lambda params: self.progress_values.append(params.value))
        self.feature(types.WORKSPACE_APPLY_EDIT)(lambda params: self._on_apply_edit(params))

    @property
    def state(self) -> str | None:
        return self.statuses[-1].state if self.statuses else None

    @property
    def pid(self) -> int | None:
        return self._server.pid if self._server is not None else None

    def _on_apply_edit(self, params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        self.edits.append(params)
        return types.ApplyWorkspaceEditResult(applied=True)

    async def start_server(self, *extra: str, env: dict[str, str] | None = None) -> None:
        """`python -m diffill.lsp.cli serve` as a subprocess (one torch thread unless env says)."""
        env = {**os.environ, "DIFFILL_THREADS": os.environ.get("DIFFILL_THREADS", "1"), **(env or {})}
        await self.start_io(sys.executable, "-m", "diffill.lsp.cli", "serve", *extra, env=env)
        assert self._server is not None and self._server.stderr is not None
        self._async_tasks.append(asyncio.create_task(self._drain(self._server.stderr)))

    async def _drain(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.stderr_tail.append(line.decode("utf-8", "replace").rstrip())

    async def initialize_session(
        self, options: dict[str, Any] | None = None, encodings: list[str] | None = None
    ) -> types.InitializeResult:
        caps = types.ClientCapabilities(
            general=types.GeneralClientCapabilities(
                position_encodings=[types.PositionEncodingKind(e) for e in encodings or ["utf-16"]]),
            window=types.WindowClientCapabilities(work_done_progress=True),
            workspace=types.WorkspaceClientCapabilities(apply_edit=True),
        )
        result = await self.initialize_async(types.InitializeParams(
            capabilities=caps, process_id=os.getpid(), initialization_options=options))
        self.initialized(types.InitializedParams())
        return result

    async def wait_for_state(self, *states: str, timeout: float = 120.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.state in states:
                return self.state
            await asyncio.sleep(0.02)
        tail = list(self.stderr_tail)[-5:]
        raise TimeoutError(f"server state {self.state!r}, wanted {states}; stderr: {tail}")

    async def wait_ready(self, timeout: float = 120.0) -> None:
        if await self.wait_for_state(READY, ERROR, timeout=timeout) == ERROR:
            raise RuntimeError(f"model failed to load: {self.statuses[-1].message}")

    async def rewrite_range_async(self, params: RewriteRangeParams) -> RewriteRangeResult:
        result: RewriteRangeResult = await self.protocol.send_request_async(REWRITE_RANGE, params)
        return result

    async def stats_async(self, reset: bool = False) -> StatsResult:
        result: StatsResult = await self.protocol.send_request_async(STATS, StatsParams(reset=reset))
        return result

    async def stop_server(self) -> None:
        try:
            await asyncio.wait_for(self.shutdown_async(None), 10)
            self.exit(None)
        except Exception:
            if self._server is not None and self._server.returncode is None:
                self._server.kill()
        await asyncio.wait_for(self.stop(), 20)
