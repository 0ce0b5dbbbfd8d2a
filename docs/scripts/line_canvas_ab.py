"""A/B of the canvas for single-line holes: the denoiser alone, every shape on every task in turn.

    DIFFILL_THREADS=1 python docs/scripts/line_canvas_ab.py --bench dev --configs 128:32,96:24:0.45

A shape is CANVAS:SLOTS[:SUFFIX_SHARE], the canvas length, the hole's slots and the share of
the context kept for the suffix (the checkpoint's `line_canvas`, `line_budget` and
`line_suffix_share`; 0.3 when left out). For each single-line hole of a benchmark (`diffill eval
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
from pathlib import Path

from diffill.infill.api import FillRequest
from diffill.infill.bench import load_bench
from diffill.infill.engine import load_engine
from diffill.infill.evaluate import exact_any, hole_kind_of


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", choices=("repos", "dev", "smoke"), default="dev")
    ap.add_argument("--model", type=Path, default=None, help="checkpoint folder (default: shipped)")
    ap.add_argument("--configs", default="128:32,96:24:0.45",
                    help="comma-separated CANVAS:SLOTS[:SUFFIX_SHARE] shapes")
    args = ap.parse_args()
    shapes = [x.split(":") for x in args.configs.split(",")]
    names = [":".join(shape) for shape in shapes]
    tasks, _ = load_bench(args.bench)
    tasks = [t for t in tasks if t.get("kind") != "block"]
    engine = load_engine(args.model, "cpu", "fp32", scoring_process=True)
    engine.corpus = None  # drafts are off: the corpus index would only cost memory
    exact = dict.fromkeys(names, 0)
    wall: dict[str, list[float]] = {name: [] for name in names}
    for i, task in enumerate(tasks):
        text, start = task["prompt"] + task["suffix"], len(task["prompt"])
        order = list(zip(names, shapes, strict=True))
        for name, shape in order if i % 2 == 0 else order[::-1]:
            d = engine.denoiser
            d.line_canvas, d.line_budget = int(shape[0]), int(shape[1])
            d.line_suffix_share = float(shape[2]) if len(shape) > 2 else 0.3
            engine.cache.clear()
            req = FillRequest(text=text, start=start, language="python", draft_policy="off",
                              kind=hole_kind_of(task))
            t0 = time.perf_counter()
            best = engine.fill(req).best
            wall[name].append((time.perf_counter() - t0) * 1000)
            exact[name] += exact_any(best or "", task)
    engine.close()
    print(json.dumps({
        "bench": args.bench, "tasks": len(tasks),
        "by_shape": {name: {"exact": round(exact[name] / len(tasks), 4),
                            "ms_p50": round(statistics.median(wall[name]), 1),
                            "ms_p95": round(sorted(wall[name])[int(0.95 * (len(wall[name]) - 1))], 1)}
                     for name in names},
    }, indent=1))


if __name__ == "__main__":
    main()
