"""`diffill/status` notifications and the `window/workDoneProgress` shown while the model loads.

State changes come from the engine thread; everything sent to the client is sent from the
event loop (`call_soon_threadsafe`) so messages never interleave on the transport. Nothing is
sent before `initialized`: the last state is sent then.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import TYPE_CHECKING

from lsprotocol import types

from .messages import ERROR, LOADING, STATUS, StatusParams

if TYPE_CHECKING:
    from .session import Client

log = logging.getLogger(__name__)


class StatusReporter:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.loop: asyncio.AbstractEventLoop | None = None
        self.state = LOADING
        self.message: str | None = None
        self.initialized = False
        self._loaded: asyncio.Event | None = None  # set when a load finishes (ends the progress)
        self._tokens = itertools.count(1)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def update(self, state: str, message: str | None = None) -> None:
        """Record a new state; thread-safe."""
        if self.loop is None:
            self.state, self.message = state, message
            return
        self.loop.call_soon_threadsafe(self._apply, state, message)

    def start(self) -> None:
        """The client is initialized: send the current state (and progress if still loading)."""
        self.initialized = True
        self._apply(self.state, self.message)

    def _apply(self, state: str, message: str | None) -> None:
        self.state, self.message = state, message
        if not self.initialized:
            return
        self.client.notify(STATUS, StatusParams(state=state, message=message))
        if state == LOADING and self._loaded is None:
            self._loaded = asyncio.Event()
            asyncio.ensure_future(self._progress(self._loaded, message or "model"))
        elif state != LOADING and self._loaded is not None:
            self._loaded.set()
            self._loaded = None
        if state == ERROR:
            self.client.show_message(types.ShowMessageParams(
                type=types.MessageType.Error, message=f"diffill: {message}"))

    async def _progress(self, loaded: asyncio.Event, label: str) -> None:
        progress = self.client.progress()
        if progress is None:
            return
        token = f"diffill-load-{next(self._tokens)}"
        try:
            await progress.create_async(token)
        except Exception as exc:  # the client may refuse; the status notification still tells it
            log.info("work done progress refused: %s", exc)
            return
        progress.begin(token, types.WorkDoneProgressBegin(title="diffill", message=f"loading {label}"))
        await loaded.wait()
        progress.end(token, types.WorkDoneProgressEnd(message=self.state))
