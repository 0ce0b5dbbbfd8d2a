"""A/B of the canvas for single-line holes: the denoiser alone, every shape on every task in turn.

    DIFFILL_THREADS=1 python docs/scripts/line_canvas_ab.py --bench dev --configs 128:32,112:32,96:32,80:32

A shape is CANVAS:SLOTS, the canvas length and the hole's slots (the checkpoint's
`line_canvas` and `line_budget`). For each single-line hole of a benchmark (`diffill eval
--bench`'s tasks) and each shape, the engine fills the hole with drafts off (the denoiser
alone, greedy, the scoring helper on, as `diffill eval` runs it). Shapes alternate per task,
in an order reversed on every other task, so a machine's speed drifting hits them alike.
Prints JSON per shape: exact match, and wall milliseconds per fill (p50, p95).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from diffill.infill.api import FillRequest
from diffill.infill.bench import load_bench
from diffill.infill.engine import load_engine
from diffill.infill.evaluate import exact_any, hole_kind_of


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", choices=("repos", "dev", "smoke"), default="dev")
    ap.add_argument("--configs", default="128:32,112:32,96:32,80:32",
                    help="comma-separated CANVAS:SLOTS shapes")
    args = ap.parse_args()
    shapes = [(int(c), int(k)) for c, k in (x.split(":") for x in args.configs.split(","))]
    tasks, _ = load_bench(args.bench)
    tasks = [t for t in tasks if t.get("kind") != "block"]
    engine = load_engine(None, "cpu", "fp32", scoring_process=True)
    engine.corpus = None  # drafts are off: the corpus index would only cost memory
    exact = dict.fromkeys(shapes, 0)
    wall: dict[tuple[int, int], list[float]] = {shape: [] for shape in shapes}
    for i, task in enumerate(tasks):
        text, start = task["prompt"] + task["suffix"], len(task["prompt"])
        for n in shapes if i % 2 == 0 else shapes[::-1]:
            engine.denoiser.line_canvas, engine.denoiser.line_budget = n
            engine.cache.clear()
            req = FillRequest(text=text, start=start, language="python", draft_policy="off",
                              kind=hole_kind_of(task))
            t0 = time.perf_counter()
            best = engine.fill(req).best
            wall[n].append((time.perf_counter() - t0) * 1000)
            exact[n] += exact_any(best or "", task)
    engine.close()
    print(json.dumps({
        "bench": args.bench, "tasks": len(tasks),
        "by_shape": {f"{c}:{k}": {"exact": round(exact[c, k] / len(tasks), 4),
                                  "ms_p50": round(statistics.median(wall[c, k]), 1),
                                  "ms_p95": round(sorted(wall[c, k])[int(0.95 * (len(wall[c, k]) - 1))], 1)}
                         for c, k in shapes},
    }, indent=1))


if __name__ == "__main__":
    main()
