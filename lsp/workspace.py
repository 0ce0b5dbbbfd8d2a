"""Drafts from the workspace for `textDocument/inlineCompletion` and `textDocument/completion`.

One DraftIndex per server, fed by open documents, a background scan of the workspace's
source files (scan.py) and accepted suggestions (the `diffill.accepted` command). An edit
only marks its document; the document is re-indexed when a request comes for another one
(a document's own drafts come from its buffer, so its index entry can wait), which keeps
typing cheap. Re-indexing runs in a background thread, never on the event loop: the request
that queued it awaits it (the loop serves other messages meanwhile), within its own budget.
Closed documents stay indexed when they are files of the workspace.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from lsprotocol import types

from diffill.infill.drafts.index import ACCEPTED_CONTEXT, DraftIndex
from diffill.infill.markers import DraftLookup, index_lookup

from .documents import Document, path_of
from .scan import WorkspaceScan

log = logging.getLogger(__name__)
SHOWN = 64  # suggestions remembered for the acceptance command
HOLES_INDEX_WAIT_S = 10.0  # hole fills (asked for, seconds long) wait this long at most


def doc_key(uri: str) -> str:
    """Index key: the path for file URIs (as the scan names files), else the URI."""
    return path_of(uri) if uri.startswith("file:") else uri


def roots_of(params: types.InitializeParams) -> list[Path]:
    """The workspace folders (file URIs only), else rootUri or rootPath."""
    uris = [f.uri for f in params.workspace_folders or []] or ([params.root_uri] if params.root_uri else [])
    roots = [Path(path_of(u)) for u in uris if u.startswith("file:")]
    if not roots and params.root_path:
        roots = [Path(params.root_path)]
    return [r for r in roots if r.is_dir()]


class WorkspaceDrafts:
    """The server's draft index and what feeds it; used from the event loop (the scan aside)."""

    def __init__(self) -> None:
        self.index = DraftIndex()
        self.roots: list[Path] = []
        self.enabled = False
        self.max_files = 0
        self._dirty: dict[str, Document] = {}  # key -> open document edited since it was indexed
        self._shown: OrderedDict[int, tuple[str, list[str]]] = OrderedDict()  # id -> (before, fills)
        self._ids = itertools.count(1)
        self._scan: WorkspaceScan | None = None
        # One thread, so updates apply in the order they were queued.
        self._indexer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="diffill-index")
        self._last: concurrent.futures.Future[Any] | None = None  # the last job queued

    def configure(self, enabled: bool, max_files: int, open_docs: Iterable[Document]) -> None:
        """Switch on (start the scan, index open documents) or off (drop everything)."""
        if (enabled, max_files) == (self.enabled, self.max_files):
            return
        if self._scan is not None:
            self._scan.stop()
            self._scan = None
        was_enabled, self.enabled, self.max_files = self.enabled, enabled, max_files
        if not enabled:
            self.index = DraftIndex()  # a new one: a stopping scan may still add a file to the old
            self._dirty.clear()
            self._shown.clear()
            return
        if not was_enabled:
            for doc in open_docs:
                self.changed(doc)
        if self.roots and max_files > 0:
            self._scan = WorkspaceScan(self.roots, self.index, max_files)
            self._scan.start()

    def changed(self, doc: Document) -> None:
        """An opened or edited document: indexed later (see the module docstring)."""
        if self.enabled:
            self._dirty[doc_key(doc.uri)] = doc

    def closed(self, uri: str) -> None:
        key = doc_key(uri)
        doc = self._dirty.pop(key, None)
        if not self.in_workspace(key):
            self._queue(self.index.remove, key)
        elif doc is not None:
            self._queue(self.index.update, key, doc.text)

    def in_workspace(self, key: str) -> bool:
        path = Path(key)
        return path.is_absolute() and any(path.is_relative_to(root) for root in self.roots)

    async def lookup(self, uri: str, text: str, offset: int, wait_s: float) -> tuple[str, ...]:
        """Drafts from other documents for a cursor at offset in text (the document at uri).

        wait_s: how long to wait at most for the re-indexing this queues (the request's budget).
        """
        if not self.enabled:
            return ()
        key = doc_key(uri)
        pending = self._reindex_others(key)
        if pending is not None:
            try:
                await asyncio.wait_for(asyncio.wrap_future(pending), wait_s)
            except TimeoutError:
                log.info("re-indexing took over %.2f s; drafts from the index as it stands", wait_s)
        return index_lookup(self.index, key)(text, offset)

    def lookup_for(self, uri: str) -> DraftLookup | None:
        """A lookup for the engine thread (hole fills in uri), or None when indexing is off.

        The first call waits (in the engine thread) for the re-indexing queued here.
        """
        if not self.enabled:
            return None
        key = doc_key(uri)
        pending = self._reindex_others(key)
        lookup = index_lookup(self.index, key)

        def after_reindex(text: str, offset: int) -> tuple[str, ...]:
            if pending is not None:
                concurrent.futures.wait([pending], HOLES_INDEX_WAIT_S)
            return lookup(text, offset)

        return after_reindex

    def _reindex_others(self, key: str) -> concurrent.futures.Future[Any] | None:
        """Queue every edited document but key for re-indexing; the last job if unfinished."""
        for other in [k for k in self._dirty if k != key]:
            self._queue(self.index.update, other, self._dirty.pop(other).text)
        last = self._last
        return last if last is not None and not last.done() else None

    def _queue(self, fn: Callable[..., object], *args: str) -> None:
        self._last = self._indexer.submit(fn, *args)

    def settle(self, timeout: float | None = None) -> None:
        """Wait until the queued re-indexing is done (tests, benchmarks)."""
        self._indexer.submit(lambda: None).result(timeout)

    def shown(self, text: str, offset: int, fills: list[str]) -> int | None:
        """Remember suggestions shown at offset; the id goes into the acceptance command."""
        if not self.enabled:
            return None
        shown_id = next(self._ids)
        self._shown[shown_id] = (text[max(0, offset - ACCEPTED_CONTEXT) : offset], fills)
        if len(self._shown) > SHOWN:
            self._shown.popitem(last=False)
        return shown_id

    def accepted(self, event: Any) -> bool:
        """The acceptance command's argument: the accepted suggestion becomes a draft."""
        if not (self.enabled and isinstance(event, dict)):
            return False
        shown, rank = self._shown.get(event.get("shown", 0)), event.get("rank")
        if shown is None or not isinstance(rank, int) or not 0 <= rank < len(shown[1]):
            return False
        before, fills = shown
        self.index.add_accepted(before, fills[rank])
        return True

    def stop(self) -> None:
        if self._scan is not None:
            self._scan.stop()
        self._indexer.shutdown(wait=False, cancel_futures=True)
