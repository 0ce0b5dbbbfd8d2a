"""A line hole's scoring pass in a second process, beside the draft proposers.

The scoring pass (the denoiser over the all-masked canvas) needs no candidate, so it can run
while the drafts and the n-gram are proposed. In a thread that gains nothing: the proposers
are Python and the forward is some 250 small numpy calls, and the two threads trade the GIL
for the whole pass. A process has its own interpreter, so on a machine with a second core the
pass and the proposers overlap for real.

The process loads the same numpy model from the same checkpoint folder and answers one
request at a time over a pipe: canvas in, raw logits out (1 MB); the caller turns them into
log-probabilities. The step cache the pass filled (`model.modernbert.ContextCache`, 1.5 MB)
stays in the child until a denoising loop asks for it. Until the child has loaded, and
after it fails or hangs (`InfillEngine.scoring_patience_s`), passes run in the caller's
thread.
Long-lived engines use it (the language server, `diffill eval`); a one-shot `diffill fill`
does not, since starting the process costs more than the pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from diffill.model.denoiser import Bools, Floats, Tokens

from .sampler import WarmStart, log_softmax

READY = "ready"
CACHE = "cache"  # asks for the step cache of the last pass


@dataclass(frozen=True)
class PriorRequest:
    ids: Tokens  # (1, T) the all-masked canvas
    attention: Tokens  # (1, T)
    positions: list[int]  # hole slot positions
    allowed_first: Bools | None  # (V,) tokens the first slot may take, or None
    forbidden: tuple[int, ...]  # ids no slot may take
    refresh_every: int


def prior_from_logits(raw: Floats, forbidden: tuple[int, ...], allowed_first: Bools | None) -> Floats:
    """(K, V) slot log-probabilities from row 0 of raw (1, K, V) logits."""
    logits = raw[0].astype(np.float32)  # a copy: raw stays the loop's first step
    logits[:, list(forbidden)] = -np.inf
    if allowed_first is not None:
        logits[0, ~allowed_first] = -np.inf
    return log_softmax(logits)


def serve(conn_in: Connection, conn_out: Connection, checkpoint: str) -> None:
    """The process's loop: load the numpy model, then answer PriorRequests until the pipe closes."""
    from diffill.model.modernbert import ContextCache, ModernBertMaskedLM
    from diffill.model.threads import apply_thread_setting

    apply_thread_setting()
    try:
        model = ModernBertMaskedLM.from_folder(Path(checkpoint))
    except Exception as exc:  # the parent falls back to its own thread
        conn_out.send(("failed", repr(exc)))
        return
    conn_out.send((READY, None))
    cache: ContextCache | None = None  # the last pass's, sent only when asked for
    while True:
        try:
            req: PriorRequest | str = conn_in.recv()
        except (EOFError, OSError):
            return
        if req == CACHE:
            conn_out.send(("ok", cache))
            continue
        assert isinstance(req, PriorRequest)
        try:
            cache = ContextCache(req.refresh_every) if req.refresh_every > 1 else None
            positions = np.array([req.positions], dtype=np.int64)
            conn_out.send(("ok", model(req.ids, req.attention, positions, cache)))
        except Exception as exc:
            conn_out.send(("error", repr(exc)))


def main() -> None:
    """The child's program (argv[1]: the checkpoint): requests on stdin, answers on stdout."""
    out = os.dup(1)
    os.dup2(2, 1)  # a stray print must not corrupt the answers
    serve(Connection(0, writable=False), Connection(out, readable=False), sys.argv[1])


class ScoringProcess:
    """Runs scoring passes in a child process; `submit` returns a future of (prior, warm start)."""

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
        self.lock = threading.Lock()  # one request on the pipe at a time
        self.waiter = ThreadPoolExecutor(1, "diffill-scoring-pipe")
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

    def submit(self, req: PriorRequest) -> Future[tuple[Floats, WarmStart]] | None:
        """The pass under way in the child; None when the child cannot take it (run it here)."""
        if not self.ready():
            return None
        return self.waiter.submit(self.exchange, req)

    def exchange(self, req: PriorRequest) -> tuple[Floats, WarmStart]:
        raw = self.ask(req)
        # The step cache (1.5 MB) crosses the pipe only if the loop runs (RemoteCache).
        return prior_from_logits(raw, req.forbidden, req.allowed_first), WarmStart(raw, None, self.cache)

    def cache(self) -> Any:
        """The step cache the child filled in its last pass (None when it kept none)."""
        return self.ask(CACHE)

    def ask(self, message: PriorRequest | str) -> Any:
        with self.lock:
            try:
                self.to_child.send(message)
                status, payload = self.from_child.recv()
            except (EOFError, OSError) as exc:
                self.broken = True
                raise RuntimeError("the scoring process ended") from exc
        if status != "ok":
            raise RuntimeError(f"the scoring process failed: {payload}")
        return payload

    def close(self) -> None:
        """End the child (at once if it hangs) and the request in flight with it."""
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
        self.waiter.shutdown(wait=True)  # a request in flight has met the end of the pipe
        self.from_child.close()


def request_of(forbidden: tuple[int, ...], ids: Tokens, attention: Tokens, positions: list[int],
               allowed_first: Bools | None, refresh_every: int) -> PriorRequest:
    return PriorRequest(np.ascontiguousarray(ids[:1]), np.ascontiguousarray(attention[:1]), list(positions),
                        allowed_first, tuple(forbidden), refresh_every)
