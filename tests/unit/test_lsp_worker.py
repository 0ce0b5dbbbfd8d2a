"""The engine worker's scheduling: newest wins per key, typed suggestions jump the queue,
deadlines count from submission. Jobs here are plain functions; no model is involved."""

from __future__ import annotations

import threading
import time

from diffill.infill.api import Cancelled
from diffill.lsp.worker import ASKED, LONG, TYPED, EngineWorker


def ready_worker() -> EngineWorker:
    states: list[str] = []
    worker = EngineWorker(lambda state, message: states.append(state))
    worker.load(lambda: object(), "stand-in")  # type: ignore[arg-type,return-value]
    deadline = time.monotonic() + 10
    while not worker.ready and time.monotonic() < deadline:
        time.sleep(0.01)
    assert worker.ready
    return worker


def test_typed_jobs_run_before_earlier_waiting_ones_and_newest_wins():
    worker = ready_worker()
    release = threading.Event()
    order: list[str] = []

    def record(name: str):
        def run(engine, stop):
            order.append(name)
            return name
        return run

    def blocker(engine, stop):
        release.wait(10)
        return "long"

    long_job = worker.submit("rewrite:a", blocker, 10_000, LONG)
    time.sleep(0.05)  # the long job is running
    asked = worker.submit("inline:b", record("asked"), 10_000, ASKED)
    stale = worker.submit("inline:a", record("stale"), 10_000, TYPED)
    typed = worker.submit("inline:a", record("typed"), 10_000, TYPED)  # supersedes `stale`
    release.set()
    assert typed.future.result(10) == "typed" and asked.future.result(10) == "asked"
    assert long_job.future.result(10) == "long"
    assert stale.future.result(10) is None  # cancelled before it ran
    assert order == ["typed", "asked"]


def test_the_deadline_counts_from_submission():
    worker = ready_worker()
    release = threading.Event()
    worker.submit("rewrite:a", lambda engine, stop: release.wait(10), 10_000, LONG)
    time.sleep(0.05)

    def fill(engine, stop):
        if stop.fired():
            raise Cancelled()
        return "late"

    late = worker.submit("inline:a", fill, 50, TYPED)  # 50 ms budget, spent waiting
    time.sleep(0.2)
    release.set()
    assert late.future.result(10) is None
