"""A line hole's scoring pass, and its denoising loop, in a second process.

The scoring pass (the denoiser over the all-masked canvas) needs no candidate, so it can run
while the drafts and the n-gram are proposed and the hole is read for describing them. In a
thread that gains nothing: the proposers are Python and the forward is some 250 small numpy
calls, and the two threads trade the GIL for the whole pass. A process has its own
interpreter, so on a machine with a second core the pass and the proposers overlap for real.

The process loads the same numpy model from the same checkpoint folder and answers one
request at a time over a pipe: canvas in, raw logits out (1 MB); the caller turns them into
log-probabilities. When the denoiser's own line is wanted, the loop continues there from
that pass (`LoopRequest`): the step cache the pass filled (`model.modernbert.ContextCache`)
never crosses the pipe, and only the slots come back. The loop keeps the caller's deadline
(time.monotonic is one clock for both processes) and ends early on a `CANCEL` sent while it
runs. Until the child has loaded, and after it fails or hangs
(`InfillEngine.scoring_patience_s`), passes and loops run in the caller's thread.
Long-lived engines use it (the language server, `diffill eval`); a one-shot `diffill fill`
does not, since starting the process costs more than the pass.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from diffill.model.denoiser import Bools, Floats, Tokens

from .api import Cancelled, SamplerConfig, StopSignal
from .sampler import SampleResult, WarmStart, denoise, log_softmax

READY = "ready"
CANCEL = "cancel"  # (CANCEL, loop id): ends that loop if it still runs; ignored after it ended
CANCEL_POLL_S = 0.005  # how often a caller waiting on a loop looks at its cancel flag


@dataclass(frozen=True)
class PriorRequest:
    ids: Tokens  # (1, T) the all-masked canvas
    attention: Tokens  # (1, T)
    positions: list[int]  # hole slot positions
    allowed_first: Bools | None  # (V,) tokens the first slot may take, or None
    forbidden: tuple[int, ...]  # ids no slot may take
    refresh_every: int


@dataclass(frozen=True)
class LoopRequest:
    """Denoise the last pass's canvas, its row repeated n times, that pass as the first step."""

    loop_id: int
    n: int
    sampler: SamplerConfig
    deadline: float | None  # time.monotonic() value, as StopSignal.deadline


class PipeStop(StopSignal):
    """The child's stop signal for one loop: the caller's deadline, and its CANCEL on the pipe."""

    def __init__(self, conn: Connection, loop_id: int, deadline: float | None) -> None:
        super().__init__(deadline=deadline)
        self.conn = conn
        self.loop_id = loop_id

    def cancelled(self) -> bool:
        # Mid-loop the caller sends nothing but cancels: it holds the pipe until the answer.
        while not self.cancel.is_set() and self.conn.poll():
            if self.conn.recv() == (CANCEL, self.loop_id):
                self.cancel.set()
        return self.cancel.is_set()


def prior_from_logits(raw: Floats, forbidden: tuple[int, ...], allowed_first: Bools | None) -> Floats:
    """(K, V) slot log-probabilities from row 0 of raw (1, K, V) logits."""
    logits = raw[0].astype(np.float32)  # a copy: raw stays the loop's first step
    logits[:, list(forbidden)] = -np.inf
    if allowed_first is not None:
        logits[0, ~allowed_first] = -np.inf
    return log_softmax(logits)


def serve(conn_in: Connection, conn_out: Connection, checkpoint: str) -> None:
    """The process's loop: load the numpy model, then answer requests until the pipe closes."""
    from diffill.model.denoiser import MaskedLMDenoiser

    try:
        denoiser = MaskedLMDenoiser(Path(checkpoint), forward="native")
    except Exception as exc:  # the parent falls back to its own thread
        conn_out.send(("failed", repr(exc)))
        return
    conn_out.send((READY, None))
    last: tuple[PriorRequest, Floats, Any] | None = None  # the last pass: request, logits, step cache
    while True:
        try:
            req: PriorRequest | LoopRequest | tuple[str, int] = conn_in.recv()
        except (EOFError, OSError):
            return
        try:
            if isinstance(req, PriorRequest):
                last = None  # a loop never continues an older pass, even when this one fails
                cache = denoiser.context_cache(req.refresh_every)
                positions = np.array([req.positions], dtype=np.int64)
                raw = denoiser.logits(req.ids, req.attention, positions, cache)
                last = (req, raw, cache)
                conn_out.send(("ok", raw))
            elif isinstance(req, LoopRequest):
                if last is None:
                    raise RuntimeError("no scoring pass to continue")
                prior_req, raw, cache = last
                last = None  # the loop edits the cache: one loop per pass
                stop = PipeStop(conn_in, req.loop_id, req.deadline)
                n = max(1, req.n)
                result = denoise(denoiser, np.repeat(prior_req.ids, n, axis=0),
                                 np.repeat(prior_req.attention, n, axis=0), prior_req.positions, req.sampler,
                                 stop, prior_req.allowed_first, WarmStart(raw, cache))
                conn_out.send(("ok", result))
            # else: a cancel that arrived after its loop had ended
        except Cancelled:
            conn_out.send(("cancelled", None))
        except Exception as exc:
            conn_out.send(("error", repr(exc)))


def main() -> None:
    """The child's program (argv[1]: the checkpoint): requests on stdin, answers on stdout."""
    out = os.dup(1)
    os.dup2(2, 1)  # a stray print must not corrupt the answers
    serve(Connection(0, writable=False), Connection(out, readable=False), sys.argv[1])


class ScoringProcess:
    """Runs scoring passes and their loops in a child process, one request at a time.

    Answers are read in the caller's thread, not a reader thread: the caller spends the pass
    in Python (proposing drafts, reading the hole), and a reader would wait on the GIL
    behind it for each chunk of the 1 MB answer, adding milliseconds to every pass.
    """

    def __init__(self, checkpoint: Path, threads: int | None = None) -> None:
        """threads: the child's BLAS threads (DIFFILL_THREADS), None for the inherited setting."""
        env = {**os.environ, "DIFFILL_THREADS": str(threads)} if threads else None
        # A plain child process (not multiprocessing's spawn, which re-imports the parent's
        # __main__): the server's own Python, this module as its program.
        program = f"from {__name__} import main; main()"  # not -m: its classes would be __main__'s
        self.proc = subprocess.Popen([sys.executable, "-c", program, str(checkpoint)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.to_child = Connection(os.dup(self.proc.stdin.fileno()), readable=False)
        self.from_child = Connection(os.dup(self.proc.stdout.fileno()), writable=False)
        self.proc.stdin.close()
        self.proc.stdout.close()
        self.usable = threading.Event()  # set once the child has loaded the model
        self.broken = False
        self.unread = 0  # answers the child owes that nobody read yet (a fill cancelled mid-pass)
        self.loop_ids = itertools.count()
        threading.Thread(target=self.await_ready, name="diffill-scoring-start", daemon=True).start()

    def await_ready(self) -> None:
        try:
            status, _ = self.from_child.recv()
        except (EOFError, OSError):
            status = "failed"
        if status == READY:
            self.usable.set()
        else:
            self.broken = True

    def ready(self) -> bool:
        return self.usable.is_set() and not self.broken and self.proc.poll() is None

    def submit(self, req: PriorRequest, patience_s: float,
               then_loop: tuple[int, SamplerConfig, StopSignal | None] | None = None) -> PendingPass | None:
        """The pass under way in the child; None when the child cannot take it (run it here).

        then_loop: (n, sampler, stop) of a loop wanted whatever the pass says (the denoiser's
        own line with drafts off): the child runs it straight after the pass, while this
        process reads the pass's answer; `WarmStart.elsewhere` then waits for its result.
        """
        if not self.ready():
            return None
        try:
            while self.unread:  # an abandoned fill's answers: they would be read as this one's
                try:
                    self.answer(patience_s)
                except Cancelled:
                    pass
            self.send(req)
            self.unread += 1
            loop_id = self.start_loop(*then_loop) if then_loop is not None else None
        except (RuntimeError, TimeoutError):
            return None
        return PendingPass(self, req, loop_id)

    def run_loop(self, n: int, sampler: SamplerConfig, stop: StopSignal | None,
                 patience_s: float) -> SampleResult:
        """The denoising loop from the last pass, run in the child (see `await_loop`)."""
        return self.await_loop(self.start_loop(n, sampler, stop), stop, patience_s)

    def start_loop(self, n: int, sampler: SamplerConfig, stop: StopSignal | None) -> int:
        loop_id = next(self.loop_ids)
        self.send(LoopRequest(loop_id, n, sampler, stop.deadline if stop is not None else None))
        self.unread += 1
        return loop_id

    def await_loop(self, loop_id: int, stop: StopSignal | None, patience_s: float) -> SampleResult:
        """The loop's result.

        Raises Cancelled when stop's cancel fires (the child is told and stops between steps),
        RuntimeError when the child fails, ends, or answers nothing within patience_s (it is
        then ended: a hung child must not hold the next request).
        """
        told, give_up = False, time.monotonic() + patience_s
        while not self.waiting(CANCEL_POLL_S):
            if not told and stop is not None and stop.cancelled():
                told = True
                self.send((CANCEL, loop_id))
            if time.monotonic() > give_up:
                self.close()
                raise RuntimeError("the scoring process did not finish its loop")
        result: SampleResult = self.answer(0)
        return result

    def waiting(self, timeout: float) -> bool:
        """Whether an answer (or the end of the pipe) is there to read within timeout."""
        try:
            return self.from_child.poll(timeout)
        except (OSError, ValueError):  # closed
            return True

    def answer(self, timeout: float) -> Any:
        """The next answer's payload; raises TimeoutError (the child is ended) or RuntimeError."""
        if not self.waiting(timeout):
            self.close()
            raise TimeoutError("the scoring process did not answer")
        try:
            status, payload = self.from_child.recv()
        except (EOFError, OSError, ValueError) as exc:
            self.broken = True
            raise RuntimeError("the scoring process ended") from exc
        self.unread -= 1
        if status == "cancelled":
            raise Cancelled()
        if status != "ok":
            raise RuntimeError(f"the scoring process failed: {payload}")
        return payload

    def send(self, message: object) -> None:
        try:
            self.to_child.send(message)
        except (OSError, ValueError) as exc:
            self.broken = True
            raise RuntimeError("the scoring process ended") from exc

    def close(self) -> None:
        """End the child (at once if it hangs)."""
        self.broken = True
        try:
            self.to_child.close()  # the child's loop ends at the end of its input
        except OSError:
            pass
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.from_child.close()


class PendingPass:
    """A scoring pass sent to the child; `result` reads its answer (in the caller's thread)."""

    def __init__(self, proc: ScoringProcess, req: PriorRequest, loop_id: int | None) -> None:
        self.proc = proc
        self.req = req
        self.loop_id = loop_id  # the loop sent after the pass, if one was
        self.awaited = False  # whether that loop's answer was asked for

    def abandon(self) -> None:
        """The fill gave up on this pass: its loop, if one was sent and never awaited, stops.

        Its answers stay in the pipe (the next submit drains them); the cancel only spares
        the child the rest of a loop nobody will read, which the next pass would wait for.
        """
        if self.loop_id is None or self.awaited:
            return
        self.awaited = True
        try:
            self.proc.send((CANCEL, self.loop_id))
        except RuntimeError:
            pass  # the child has ended: nothing runs

    def done(self) -> bool:
        return self.proc.waiting(0)

    def result(self, timeout: float) -> tuple[Floats, WarmStart]:
        """(prior, warm start); TimeoutError when the child hangs, RuntimeError when it failed."""
        raw = self.proc.answer(timeout)
        req = self.req
        # The step cache stays in the child, where a loop from this pass runs.
        return prior_from_logits(raw, req.forbidden, req.allowed_first), WarmStart(raw, None, self.loop)

    def loop(self, n: int, sampler: SamplerConfig, stop: StopSignal | None,
             patience_s: float) -> SampleResult:
        if self.loop_id is None:
            return self.proc.run_loop(n, sampler, stop, patience_s)
        self.awaited = True
        return self.proc.await_loop(self.loop_id, stop, patience_s)  # sent with the pass: its own n


def request_of(forbidden: tuple[int, ...], ids: Tokens, attention: Tokens, positions: list[int],
               allowed_first: Bools | None, refresh_every: int) -> PriorRequest:
    return PriorRequest(np.ascontiguousarray(ids[:1]), np.ascontiguousarray(attention[:1]), list(positions),
                        allowed_first, tuple(forbidden), refresh_every)
