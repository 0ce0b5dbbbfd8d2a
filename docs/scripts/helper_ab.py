"""Wall time of line fills with and without the scoring helper process, interleaved per task.

    DIFFILL_THREADS=1 python docs/scripts/helper_ab.py [--drafts off|prefer] [--tasks PATH]

Each single-line hole of the held-out repositories (data/bench/repos.jsonl, as `diffill eval
--bench repos` fetches it) is filled twice, by the same engine with the helper
(`infill/scoring_process.py`) and without it, in alternating order; the per-request caches
(the engine's results, the scope readers' memo) are cleared before every fill, as for a
first request in a new file. The corpus index is off: drafts-off fills never read it, and
its loading would contend for the cores. Prints JSON: wall ms p50/p95/mean for each, and
how many best candidates the two agree on (they should be the same fills).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("DIFFILL_CORPUS_INDEX", "0")

from diffill.infill import py_scopes  # noqa: E402
from diffill.infill.engine import load_engine  # noqa: E402
from diffill.infill.evaluate import TRIGGER, load_tasks  # noqa: E402
from diffill.infill.requests import FillSettings, cursor_request  # noqa: E402

READY_WITHIN_S = 120


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--drafts", default="off", choices=("off", "prefer"))
    ap.add_argument("--tasks", type=Path, default=Path("data/bench/repos.jsonl"))
    args = ap.parse_args()
    engine = load_engine(None, scoring_process=True)
    helper = engine.scorer
    if helper is None or not helper.usable.wait(READY_WITHIN_S):
        raise SystemExit("the scoring helper did not start (one core, or DIFFILL_SCORING_PROCESS=0)")
    tasks = [t for t in load_tasks(args.tasks) if t["kind"] in ("whole_line", "rest_of_line")]
    settings = FillSettings(draft_policy=args.drafts)
    ms: dict[str, list[float]] = {"helper": [], "in_process": []}
    best: dict[str, list[str | None]] = {"helper": [], "in_process": []}
    try:
        for i, task in enumerate(tasks):
            req = cursor_request(task["prompt"] + task["suffix"], len(task["prompt"]), "python", TRIGGER,
                                 settings)
            for mode in ("helper", "in_process") if i % 2 else ("in_process", "helper"):
                engine.scorer = helper if mode == "helper" else None
                engine.cache.clear()
                py_scopes.blank_strings.cache_clear()
                py_scopes.bound_names.cache_clear()
                t0 = time.perf_counter()
                result = engine.fill(req)
                ms[mode].append((time.perf_counter() - t0) * 1000)
                best[mode].append(result.best)
    finally:
        engine.scorer = helper
        engine.close()
    same = sum(a == b for a, b in zip(best["helper"], best["in_process"], strict=True))
    print(json.dumps({
        "tasks": len(tasks), "drafts": args.drafts, "same_best": same,
        **{mode: {"p50": percentile(v, 0.5), "p95": percentile(v, 0.95), "mean": round(statistics.mean(v), 1)}
           for mode, v in ms.items()},
    }))


if __name__ == "__main__":
    main()
