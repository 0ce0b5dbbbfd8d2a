"""Two ways past today's candidates and ranker, measured; neither was kept (docs/BENCHMARKS.md).

    python docs/scripts/candidate_ceiling.py branches [--bench repos] [--k 5]
    python docs/scripts/candidate_ceiling.py adapt

`branches`: more lines from the denoiser. Each hole's scoring pass gives a distribution over
the first slot; the k likeliest non-null tokens each seed one row, and the denoising loop
writes the rest of the line (one batch). Prints how many holes' right line is among today's
candidates (data/bench/<bench>_features.jsonl, written by fit_ranker.py), among the k rows,
and among either: the oracle the ranker could at best reach.

`adapt`: a ranker per project. Each held-out (and, leave-one-repository-out, development)
project's holes are ranked by the global weights pulled toward that project's other files'
holes (an L2 penalty toward the global weights; as the server could do from the workspace).
Prints exact match, coverage and precision at the development threshold, per strength.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import fit_ranker as fr  # noqa: E402

DATA = Path("data/bench")


def branches(bench: str, k: int) -> None:
    from diffill.infill.api import FillRequest
    from diffill.infill.bench import load_bench
    from diffill.infill.canvas import batch_canvases, build_canvas
    from diffill.infill.engine import InfillEngine, line_sampler
    from diffill.infill.evaluate import hole_kind_of
    from diffill.infill.line_candidates import Hole, Pool, masked_prior
    from diffill.infill.sampler import denoise
    from diffill.model.loading import load_denoiser

    pools = {t["task_id"]: t for t in fr.load(DATA / f"{bench}_features.jsonl")}
    tasks, _ = load_bench(bench)
    d = load_denoiser(None, "cpu", "fp32")
    engine = InfillEngine(d)
    counts = {"holes": 0, "candidates": 0, "branches": 0, "either": 0, "first_branch": 0}
    for task in tasks:
        if task["task_id"] not in pools:
            continue  # blocks: no single-line pool
        text, start = task["prompt"] + task["suffix"], len(task["prompt"])
        req = FillRequest(text=text, start=start, language="python", kind=hole_kind_of(task))
        plan = engine.plan(req)
        hole = Hole.of(text, start, start, "python")
        pool = Pool(hole, lambda raw, plan=plan, hole=hole, text=text, start=start: engine.clean(
            raw, plan, text[start:], hole.at_line_start, text, start, drop_noise=False))
        plan_slots = engine.canvas_plan(plan, engine.budget(req, plan))  # the engine's line canvas
        cv = build_canvas(d.tokenizer, d.ids, text, start, start, plan_slots)
        ids, attention = batch_canvases([cv.ids], d.ids.pad)
        allowed = engine.healing.allowed(cv.healed) if cv.healed else None
        sampler = line_sampler(req)
        prior, _ = masked_prior(d, ids, attention, cv.slot_positions, allowed, sampler.refresh_every)
        first = prior[0].copy()
        first[d.ids.null] = -np.inf
        top = np.argsort(-first)[:k]
        rows = np.repeat(ids, k, axis=0)
        rows[np.arange(k), cv.slot_positions[0]] = top  # a preset slot counts as committed
        result = denoise(d, rows, np.repeat(attention, k, axis=0), cv.slot_positions, sampler)
        truth = {a.rstrip() for a in [task["canonical_solution"], *task.get("accepted", [])]}
        right = []
        for slots in result.slots:
            fill = pool.clean(engine.decode_slots(slots, cv.healed))
            if fill is not None and hole.at_line_start and hole.line_head:
                fill = fill.lstrip(" \t")
            right.append(fill is not None and fill.rstrip() in truth)
        in_pool = any(c["label"] for c in pools[task["task_id"]]["cands"])
        counts["holes"] += 1
        counts["candidates"] += in_pool
        counts["branches"] += any(right)
        counts["either"] += in_pool or any(right)
        counts["first_branch"] += right[0] and not in_pool
    print(json.dumps({"bench": bench, "k": k, **counts}))


def fit_toward(tasks: list[dict], w0: np.ndarray, b0: float, strength: float) -> tuple[np.ndarray, float]:
    """Logistic regression with an L2 penalty toward (w0, b0) instead of toward zero (Newton).

    The pointwise ranker of the fourth session, which this comparison measured (fit_ranker's
    conditional logit came later); its rows are scored pointwise too.
    """
    xs, ys = zip(*(fr.matrix(t) for t in tasks if t["cands"]), strict=True)
    x, y = np.concatenate(xs), np.concatenate(ys)
    x1 = np.hstack([x, np.ones((len(x), 1))])
    theta0 = np.append(w0, b0)
    theta = theta0.copy()
    holes = sum(1 for t in tasks if t["cands"])
    for _ in range(25):
        p = 1 / (1 + np.exp(-np.clip(x1 @ theta, -30, 30)))
        grad = x1.T @ (p - y) / holes + strength * (theta - theta0)
        hess = (x1.T * (p * (1 - p))) @ x1 / holes + strength * np.eye(len(theta))
        delta = np.linalg.solve(hess, grad)
        theta -= delta
        if np.abs(delta).max() < 1e-8:
            break
    return theta[:-1], float(theta[-1])


def per_project(train: list[dict], test: list[dict] | None,
                strength: float | None) -> list[tuple[float, bool]]:
    """Top-1 rows of each project, its ranker fitted without its own holes' file (or global)."""
    rows: list[tuple[float, bool]] = []
    for repo in sorted({t["task_id"].split("/")[0] for t in (test or train)}):
        outside = [t for t in train if not t["task_id"].startswith(repo + "/")] if test is None else train
        mine = [t for t in (test or train) if t["task_id"].startswith(repo + "/")]
        w0, b0 = fit_toward(outside, np.zeros(len(fr.FEATURE_NAMES)), 0.0, 1e-5)
        if strength is None:
            rows += fr.top1(mine, w0, b0, pointwise=True)
            continue
        for file in sorted({t["task_id"].rsplit(":", 3)[0] for t in mine}):
            others = [t for t in mine if t["task_id"].rsplit(":", 3)[0] != file]
            w, b = fit_toward(others, w0, b0, strength) if others else (w0, b0)
            rows += fr.top1([t for t in mine if t["task_id"].rsplit(":", 3)[0] == file], w, b, pointwise=True)
    return rows


def adapt() -> None:
    dev = fr.load(DATA / "dev_features.jsonl")
    held = fr.load(DATA / "repos_features.jsonl")
    for strength in (None, 3e-2, 1e-2, 3e-3):
        dev_rows = per_project(dev, None, strength)
        cut = fr.threshold_for(dev_rows, 0.65)
        print(json.dumps({"pull_toward_global": strength, "dev": fr.report(dev_rows, cut),
                          "heldout": fr.report(per_project(dev, held, strength), cut)}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=("branches", "adapt"))
    p.add_argument("--bench", default="repos", choices=("repos", "dev"))
    p.add_argument("--k", type=int, default=5)
    args = p.parse_args()
    branches(args.bench, args.k) if args.what == "branches" else adapt()


if __name__ == "__main__":
    main()
