"""End-to-end harness: `diffill serve` as a real subprocess, driven by pygls's LanguageClient.

The client lives on an event loop in a background thread, so tests stay plain functions:
`session.run(coro)` waits for a coroutine, `session.do(fn, ...)` runs a client call (such as
a notification) on the loop. Servers use one torch thread (DIFFILL_THREADS=1).
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any, TypeVar

from lsprotocol import types

from diffill.lsp.client import DiffillClient

T = TypeVar("T")
# Generous: a model training run may share the CPU with these tests.
TEST_OPTIONS = {"deadlineMs": 30000, "typingDeadlineMs": 30000, "rewriteDeadlineMs": 60000}


class Session:
    def __init__(self, options: dict[str, Any] | None = None, encodings: list[str] | None = None,
                 wait_ready: bool = True) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.client = self.run(self._start(options, encodings, wait_ready), timeout=180)
        self.version: dict[str, int] = {}

    async def _start(self, options: dict[str, Any] | None, encodings: list[str] | None,
                     wait_ready: bool) -> DiffillClient:
        client = DiffillClient()
        await client.start_server()
        self.init = await client.initialize_session(options, encodings)
        if wait_ready:
            await client.wait_ready()
        return client

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 90) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    @contextmanager
    def every_candidate_shown(self) -> Iterator[None]:
        """minConfidence 0 inside the block: for tests of plumbing (positions, edits, where
        candidates come from), where the engine's abstaining on an unsure fill is beside the point."""
        self.do(self.client.workspace_did_change_configuration,
                types.DidChangeConfigurationParams(settings={"minConfidence": 0}))
        try:
            yield
        finally:
            self.do(self.client.workspace_did_change_configuration,
                    types.DidChangeConfigurationParams(settings={"minConfidence": None}))

    def do(self, fn: Callable[..., T], *args: Any) -> T:
        async def call() -> T:
            return fn(*args)

        return self.run(call())

    def close(self) -> None:
        try:
            self.run(self.client.stop_server(), timeout=40)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)

    # Documents -----------------------------------------------------------------------------

    def open(self, text: str, language: str = "python", suffix: str = ".py") -> str:
        uri = f"file:///tmp/diffill-e2e/{uuid.uuid4().hex}{suffix}"
        self.version[uri] = 1
        self.do(self.client.text_document_did_open, types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)))
        return uri

    def change(self, uri: str, start: tuple[int, int], end: tuple[int, int], text: str) -> int:
        self.version[uri] += 1
        self.do(self.client.text_document_did_change, types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.version[uri]),
            content_changes=[types.TextDocumentContentChangePartial(
                range=types.Range(start=pos(*start), end=pos(*end)), text=text)]))
        return self.version[uri]

    # Requests ------------------------------------------------------------------------------

    def inline(self, uri: str, line: int, character: int, invoked: bool = False,
               timeout: float = 90) -> list[types.InlineCompletionItem]:
        result = self.run(self.client.text_document_inline_completion_async(inline_params(
            uri, line, character, invoked)), timeout)
        assert isinstance(result, list | tuple), result
        return list(result)

    def send_raw(self, method: str, params: Any, msg_id: str | None = None) -> Future[Any]:
        """A request with arbitrary (possibly malformed) params; the future gets the answer."""
        msg_id = msg_id or uuid.uuid4().hex
        future: Future[Any] = Future()

        async def send() -> None:
            self.client.protocol._request_futures[msg_id] = future
            self.client.protocol._send_data({"jsonrpc": "2.0", "id": msg_id, "method": method,
                                             "params": params})

        self.run(send())
        return future


def pos(line: int, character: int) -> types.Position:
    return types.Position(line=line, character=character)


def inline_params(uri: str, line: int, character: int, invoked: bool = False) -> types.InlineCompletionParams:
    kinds = types.InlineCompletionTriggerKind
    kind = kinds.Invoked if invoked else kinds.Automatic
    return types.InlineCompletionParams(
        context=types.InlineCompletionContext(trigger_kind=kind),
        text_document=types.TextDocumentIdentifier(uri=uri), position=pos(line, character))
