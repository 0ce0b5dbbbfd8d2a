"""The engine worker: one thread owns the model and runs fills for every LSP request.

The model loads once, in this thread, when the server starts (and again only when the model
settings change). Requests are jobs keyed by document and purpose; the newest job for a key
wins: submitting one sets the previous job's StopSignal, which the sampler checks between
denoising steps, so a stale fill stops within one forward pass instead of finishing. Every
job carries a deadline on the same signal, counted from submission (queueing included).
Waiting jobs run by priority, then in order: a typed suggestion never queues behind an
invoked one or a rewrite that was submitted earlier (a running job is not preempted, but
it stops at its own deadline). Handlers await jobs from the event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from diffill.infill.api import Cancelled, StopSignal

if TYPE_CHECKING:  # the engine pulls in the model: imported by the loader thread, not at start-up
    from diffill.infill.engine import InfillEngine

from .messages import BUSY, ERROR, LOADING, READY

log = logging.getLogger(__name__)
T = TypeVar("T")
TYPED, ASKED, LONG = 0, 1, 2  # job priorities: typed suggestions, invoked ones, rewrites and holes
Loader = Callable[[], "InfillEngine"]
StateCallback = Callable[[str, str | None], None]


@dataclass
class Job(Generic[T]):
    key: str  # newest job per key wins (e.g. "suggest:<uri>")
    run: Callable[[InfillEngine, StopSignal], T]
    stop: StopSignal
    priority: int = ASKED  # lower runs first among waiting jobs
    future: concurrent.futures.Future[T | None] = field(default_factory=concurrent.futures.Future)


@dataclass
class Load:
    loader: Loader
    label: str  # what is loading, for the status message


class EngineWorker:
    """Runs jobs one at a time on the engine; thread-safe submit, answers None when cancelled."""

    def __init__(self, on_state: StateCallback) -> None:
        self.on_state = on_state
        self.engine: InfillEngine | None = None
        self.state = LOADING
        self.cancelled = 0
        # (priority, order, item): loads first (-1), then jobs by priority, each in order.
        self._queue: queue.PriorityQueue[tuple[int, int, Job[Any] | Load]] = queue.PriorityQueue()
        self._order = itertools.count()
        self._latest: dict[str, Job[Any]] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="diffill-engine", daemon=True)

    @property
    def ready(self) -> bool:
        return self.engine is not None and self.state in (READY, BUSY)

    def load(self, loader: Loader, label: str) -> None:
        """Queue a model (re)load; starts the thread on first use."""
        self._set_state(LOADING, label)
        self._queue.put((-1, next(self._order), Load(loader, label)))
        if not self._thread.is_alive():
            self._thread.start()

    def submit(self, key: str, run: Callable[[InfillEngine, StopSignal], T], deadline_ms: int,
               priority: int = ASKED) -> Job[T]:
        stop = StopSignal(deadline=time.monotonic() + deadline_ms / 1000)
        job: Job[T] = Job(key, run, stop, priority)
        with self._lock:
            previous = self._latest.get(key)
            if previous is not None:
                previous.stop.cancel.set()  # a newer request for the same document wins
            self._latest[key] = job
        self._queue.put((priority, next(self._order), job))
        return job

    async def run(self, key: str, run: Callable[[InfillEngine, StopSignal], T], deadline_ms: int,
                  priority: int = ASKED) -> T | None:
        """Submit and await a job; None when it was superseded, cancelled or out of time."""
        job = self.submit(key, run, deadline_ms, priority)
        try:
            return await asyncio.wrap_future(job.future)
        except asyncio.CancelledError:
            job.stop.cancel.set()  # $/cancelRequest: the sampler stops before its next step
            raise

    def cancel(self, key: str) -> None:
        with self._lock:
            job = self._latest.pop(key, None)
        if job is not None:
            job.stop.cancel.set()

    def _set_state(self, state: str, message: str | None = None) -> None:
        self.state = state
        self.on_state(state, message)

    def _loop(self) -> None:
        while True:
            _, _, item = self._queue.get()
            if isinstance(item, Load):
                self._load(item)
                continue
            self._run(item)
            if self._queue.empty() and self.state == BUSY:
                self._set_state(READY)

    def _load(self, item: Load) -> None:
        t0 = time.perf_counter()
        if self.engine is not None:
            try:
                self.engine.close()  # its scoring process goes with it
            except Exception:  # a failed close must not stop the worker
                log.exception("closing the previous engine failed")
            self.engine = None
        try:
            self.engine = item.loader()
        except Exception as exc:  # a user problem (path, device): report it, keep serving empty
            log.exception("model load failed")
            self.engine = None
            self._set_state(ERROR, f"could not load the model ({item.label}): {exc}")
            return
        log.info("model loaded in %.1f s (%s)", time.perf_counter() - t0, item.label)
        self._set_state(READY)

    def _run(self, job: Job[Any]) -> None:
        if not job.future.set_running_or_notify_cancel():
            with self._lock:  # cancelled while queued
                if self._latest.get(job.key) is job:
                    del self._latest[job.key]
            return
        if job.stop.fired() or self.engine is None:
            self._finish(job, None, cancelled=True)
            return
        if self.state != BUSY:
            self._set_state(BUSY)
        try:
            result = job.run(self.engine, job.stop)
        except Cancelled:
            self._finish(job, None, cancelled=True)
        except Exception as exc:  # a bug: the request answers with the traceback
            self._finish(job, None, error=exc)
        else:
            self._finish(job, result)

    def _finish(self, job: Job[Any], result: Any, cancelled: bool = False,
                error: Exception | None = None) -> None:
        with self._lock:
            if self._latest.get(job.key) is job:
                del self._latest[job.key]
        self.cancelled += cancelled
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(result)
