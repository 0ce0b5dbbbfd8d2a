"""A/B of denoiser speed settings: greedy fills, drafts off, every setting on every task in turn.

    python docs/scripts/speed_ab.py TASKS N CONFIGS OUT.jsonl

TASKS: data/bench/repos.jsonl (its line holes, a seeded sample of N) or a HumanEval-Infilling
file (`load_tasks`' seeded sample). CONFIGS: JSON {name: {"sampler": {...SamplerConfig
fields}, "forward": "native"|"transformers", "quant": "int8" (transformers only)}}; the first
is the reference.
Prints JSON: exact match, share of fills identical to the reference's, CPU milliseconds per
fill (one torch thread unless AB_THREADS says otherwise: CPU time is what a machine shared
with other work inflates least) and steps. Settings run interleaved per task, so load drifts
hit them alike.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

import torch

from diffill.infill.api import FillRequest, SamplerConfig
from diffill.infill.engine import InfillEngine
from diffill.infill.evaluate import load_tasks
from diffill.model.denoiser import MaskedLMDenoiser


def tasks_from(path: Path, n: int) -> list[dict[str, str]]:
    if path.name != "repos.jsonl":
        return load_tasks(path, None, n)
    rows = [json.loads(line) for line in path.open() if line.strip()]
    rows = [r for r in rows if r.get("kind") != "block"]
    return [rows[i] for i in sorted(random.Random(0).sample(range(len(rows)), min(n, len(rows))))]


def main() -> None:
    torch.set_num_threads(int(os.environ.get("AB_THREADS", "1")))
    path, n, configs, out = Path(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
    tasks = tasks_from(path, n)
    denoisers: dict[tuple[str, str], MaskedLMDenoiser] = {}
    engines = {}
    for name, c in configs.items():
        key = (c.get("forward", "native"), c.get("quant", ""))
        if key not in denoisers:
            d = MaskedLMDenoiser(device="cpu", dtype="fp32", forward=key[0])
            if key[1] == "int8" and d.model is not None:  # the transformers forward (torch) only
                d.model.model = torch.ao.quantization.quantize_dynamic(
                    d.model.model, {torch.nn.Linear}, dtype=torch.qint8)
            denoisers[key] = d
        engines[name] = (InfillEngine(denoisers[key]), SamplerConfig(**c.get("sampler", {})))
    rows = []
    for i, task in enumerate(tasks):
        prompt, suffix, middle = task["prompt"], task["suffix"], task["canonical_solution"]
        row: dict[str, object] = {"task_id": task.get("task_id", str(i))}
        for name, (engine, cfg) in engines.items():
            engine.cache.clear()
            req = FillRequest(text=prompt + suffix, start=len(prompt), language="python", sampler=cfg,
                              draft_policy="off")
            t0, w0 = time.process_time(), time.perf_counter()
            res = engine.fill(req)
            cpu, wall = (time.process_time() - t0) * 1000, (time.perf_counter() - w0) * 1000
            fill = res.best or ""
            row[name] = {"completion": fill, "exact": fill.rstrip() == middle.rstrip(),
                         "ms": round(cpu, 1), "wall_ms": round(wall, 1), "steps": res.steps}
        rows.append(row)
        print(i, file=sys.stderr, flush=True)
    with open(out, "w") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    ref = next(iter(configs))
    summary = {}
    for name in configs:
        runs = [r[name] for r in rows]
        refs = [r[ref] for r in rows]
        summary[name] = {
            "exact": round(statistics.fmean(x["exact"] for x in runs), 4),
            "same_as_" + ref: round(statistics.fmean(x["completion"] == y["completion"]
                                                     for x, y in zip(runs, refs, strict=True)), 4),
            "cpu_ms_p50": round(statistics.median(x["ms"] for x in runs), 1),
            "wall_ms_p50": round(statistics.median(x["wall_ms"] for x in runs), 1),
            "steps_mean": round(statistics.fmean(x["steps"] for x in runs), 2),
        }
    print(json.dumps({"tasks": len(rows), "threads": torch.get_num_threads(),
                      "load_average": [round(x, 2) for x in os.getloadavg()], "summary": summary}, indent=1))


if __name__ == "__main__":
    main()
