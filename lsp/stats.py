"""Fill statistics for `diffill/stats` (used by `diffill bench lsp`): engine time, steps, memory."""

from __future__ import annotations

import os
import resource
import statistics
import threading
from collections import deque
from typing import TYPE_CHECKING

from diffill.infill.api import FillResult
from diffill.infill.drafts.index import IndexStats

from .messages import StatsResult

if TYPE_CHECKING:
    from .session import Session


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def rss_mb() -> float:
    """Resident set size now of the server and its child processes (Linux /proc), else the peak."""
    try:
        own = statm_mb("self")
    except (OSError, ValueError, IndexError):
        return peak_rss_mb()
    return own + sum(child_rss_mb(pid) for pid in child_pids())


def peak_rss_mb() -> float:
    """The server's peak plus each child's (an upper bound of their peak together)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return own + sum(child_peak_mb(pid) for pid in child_pids())


def statm_mb(pid: str) -> float:
    with open(f"/proc/{pid}/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def child_pids() -> list[int]:
    """Live child processes of this one (the scoring process), from /proc; [] elsewhere."""
    me, out = os.getpid(), []
    for entry in os.scandir("/proc") if os.path.isdir("/proc") else ():
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue  # gone meanwhile
        fields = stat[stat.rfind(")") + 2 :].split()  # after the command name, which may hold spaces
        if len(fields) > 1 and fields[1] == str(me):
            out.append(int(entry.name))
    return out


def child_rss_mb(pid: int) -> float:
    try:
        return statm_mb(str(pid))
    except (OSError, ValueError, IndexError):
        return 0.0  # it ended meanwhile


def child_peak_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


class FillStats:
    """The last fills the engine ran (bounded, so memory stays flat)."""

    def __init__(self, keep: int = 2000) -> None:
        self._lock = threading.Lock()
        self.results: deque[FillResult] = deque(maxlen=keep)
        self.continued = 0
        self.gave_way = 0  # typed fills dropped because the budget ran out mid-denoising
        self._cancelled_before = 0  # the worker's count at the last reset

    def add(self, result: FillResult) -> None:
        with self._lock:
            self.results.append(result)

    def summary(self, state: str, cancelled: int, reset: bool = False,
                index: IndexStats | None = None) -> StatsResult:
        """Figures since the last reset; cancelled is the worker's running count."""
        with self._lock:
            results = list(self.results)
            continued = self.continued
            gave_way = self.gave_way
            cancelled_since = cancelled - self._cancelled_before
            if reset:
                self.results.clear()
                self.continued = 0
                self.gave_way = 0
                self._cancelled_before = cancelled
        ran = [r for r in results if not r.cached]
        ms = [r.ms for r in ran]
        return StatsResult(
            state=state,
            fills=len(results),
            cancelled=cancelled_since,
            continued=continued,
            gave_way=gave_way,
            partial=sum(r.partial for r in results),
            cached=len(results) - len(ran),
            engine_ms_p50=round(percentile(ms, 0.5), 1),
            engine_ms_p95=round(percentile(ms, 0.95), 1),
            steps_mean=round(statistics.fmean([r.steps for r in ran]), 2) if ran else 0.0,
            tokens_per_forward_mean=round(statistics.fmean([r.tokens_per_forward for r in ran]), 2)
            if ran else 0.0,
            rss_mb=round(rss_mb(), 1),
            peak_rss_mb=round(max(peak_rss_mb(), rss_mb()), 1),
            index_docs=index.docs if index else 0,
            index_accepted=index.accepted if index else 0,
            index_mb=round(index.bytes / 2**20, 1) if index else 0.0,
        )


def report(session: Session, reset: bool) -> StatsResult:
    """`diffill/stats`: the session's fills, the worker's state and the draft index."""
    index = session.drafts.index.stats() if session.drafts.enabled else None
    return session.stats.summary(session.worker.state, session.worker.cancelled, reset=reset, index=index)
