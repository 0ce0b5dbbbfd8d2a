"""Two choices of the line engine measured together: where the denoiser's line joins, and the ranker.

The denoiser's own line beside every hole's candidates, or only where no other candidate is
admissible (as before 2026-11-30's sixth session); a logistic regression scoring each
candidate alone, or fit_ranker's conditional logit over a hole's candidates and "none is right".

Each hole's pool is collected once with both variants (the loop runs for every hole; the
"fallback" pool is the one the earlier engine built), then each ranker is fitted on the
development holes and scored leave-one-repository-out there, and on the held-out repositories
and the smoke set with the weights fitted on all development holes:

    python docs/scripts/own_line_ab.py            # collects data/bench/own_line_{dev,repos,smoke}.jsonl once
    python docs/scripts/own_line_ab.py --sure     # the shipped ranker: which loops need not be awaited

`--sure` asks, for thresholds T: if the best admissible candidate is at least T likely before
the denoiser's line joins, and the engine then skips the loop, which answers change?

Collecting the development holes (3,300 since the seventh session) takes about 7 minutes
on an AVX-512 core.
"""

from __future__ import annotations

import copy
import json
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import fit_ranker as fr  # noqa: E402

from diffill.infill.ranking import FEATURE_NAMES, Features, Ranker  # noqa: E402

DATA = Path("data/bench")
L2 = {"pointwise": 1e-4, "conditional": 3e-4}  # each ranker's strength as fit_ranker chose it


def collect(bench: str, path: Path, roots: list[Path] | None = None) -> None:
    """Per hole: the pool with the denoiser's line only where nothing else is admissible, and always.

    roots: what the corpus index reads (None: its default, the standard library and site-packages).
    """
    from diffill.infill.api import FillRequest
    from diffill.infill.bench import benchmark_modules, load_bench
    from diffill.infill.canvas import batch_canvases, build_canvas
    from diffill.infill.drafts.corpus_index import BackgroundIndex
    from diffill.infill.drafts.repo import RepoDrafts
    from diffill.infill.engine import InfillEngine, line_sampler
    from diffill.infill.evaluate import hole_kind_of
    from diffill.infill.line_candidates import Hole, Pool
    from diffill.model.loading import load_denoiser

    tasks, workspace = load_bench(bench)
    d = load_denoiser(None, "cpu", "fp32")
    corpus = BackgroundIndex(d.tokenizer, d.ids.eos, roots=roots, exclude=benchmark_modules())
    engine = InfillEngine(d, corpus=corpus,
                          ranker=Ranker(tuple(0.0 for _ in FEATURE_NAMES), 0.0, 1.0))
    engine.corpus.get(None)  # type: ignore[union-attr]
    drafts = RepoDrafts(workspace) if workspace else None
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as out:
        for task in tasks:
            text, start = task["prompt"] + task["suffix"], len(task["prompt"])
            req = FillRequest(text=text, start=start, language="python", kind=hole_kind_of(task),
                              extra_drafts=drafts(task) if drafts else ())
            plan = engine.plan(req)
            if plan.multiline:
                continue
            hole = Hole.of(text, start, start, req.language)
            pool = Pool(hole, lambda raw, p=plan, h=hole, t=text, s=start: engine.clean(
                raw, p, t[s:], h.at_line_start, t, s, drop_noise=False), req.forbidden)
            cv = build_canvas(d.tokenizer, d.ids, text, start, start,
                              engine.canvas_plan(plan, engine.budget(req, plan)))
            ids, attention = batch_canvases([cv.ids], d.ids.pad)
            allowed = engine.healing.allowed(cv.healed) if cv.healed else None
            sampler = line_sampler(req)
            newline = "\n" if hole.at_line_start and hole.rest.strip() else ""
            engine.propose_drafts(req, pool, newline, start, None)
            prior, warm = engine.scored(None, ids, attention, cv.slot_positions, allowed,
                                        sampler.refresh_every)
            pool.describe(d, prior, cv.healed)
            admissible = any(f.admissible() for f in pool.items.values())
            fallback = copy.deepcopy(pool.items) if admissible else None
            result = engine.own_lines(ids, attention, cv.slot_positions, sampler, None, allowed, warm, 1)
            lines = [engine.decode_slots(s, cv.healed) for s in result.slots]
            pool.offer_model_lines(lines, d, prior, cv.healed)
            truth = {a.rstrip() for a in [task["canonical_solution"], *task.get("accepted", [])]}

            def rows(items: dict[str, Features], truth: set[str] = truth) -> list[dict]:
                return [dict(text=t, label=t.rstrip() in truth, **asdict(f)) for t, f in items.items()]

            out.write(json.dumps({"task_id": task["task_id"], "kind": task["kind"],
                                  "fallback": rows(fallback if fallback is not None else pool.items),
                                  "always": rows(pool.items)}) + "\n")


def fit_pointwise(tasks: list[dict], l2: float) -> tuple[np.ndarray, float]:
    """L2-regularized logistic regression over candidates, by Newton's method (bias not regularized)."""
    xs, ys = zip(*(fr.matrix(t) for t in tasks if t["cands"]), strict=True)
    x, y = np.concatenate(xs), np.concatenate(ys)
    x1 = np.hstack([x, np.ones((len(x), 1))])
    reg = np.full(x1.shape[1], l2)
    reg[-1] = 0.0
    theta = np.zeros(x1.shape[1])
    for _ in range(25):
        p = 1 / (1 + np.exp(-(x1 @ theta)))
        grad = x1.T @ (p - y) / len(y) + reg * theta
        hess = (x1.T * (p * (1 - p))) @ x1 / len(y) + np.diag(reg) + 1e-9 * np.eye(len(theta))
        delta = np.linalg.solve(hess, grad)
        theta -= delta
        if np.abs(delta).max() < 1e-8:
            break
    return theta[:-1], float(theta[-1])


def surest(rows: list[tuple[float, bool]], share: float) -> float:
    k = max(1, round(share * len(rows)))
    return round(sum(e for _, e in sorted(rows, key=lambda r: -r[0])[:k]) / k, 3)


def best(ranker: Ranker, pool: list[dict]) -> tuple[float, bool, bool]:
    """(probability, right, admissible) of the candidate the engine ranks first."""
    if not pool:
        return 0.0, False, False
    fields = set(Features.__dataclass_fields__)
    feats = [Features(**{k: v for k, v in c.items() if k in fields}) for c in pool]
    p = ranker.probabilities(feats)
    i = max(range(len(p)), key=lambda j: (feats[j].admissible(), p[j]))
    return p[i], bool(pool[i]["label"]), feats[i].admissible()


def sure_skip(sets: dict[str, list[dict]]) -> None:
    from diffill.infill.ranking import default_ranker

    ranker = default_ranker()
    for bench, tasks in sets.items():
        for threshold in (1.01, 0.9, 0.7, 0.5, 0.4, 0.3):
            exact = skipped = shown = right_shown = 0
            for t in tasks:
                p, right, ok = best(ranker, t["fallback"])
                if ok and p >= threshold:
                    skipped += 1
                else:
                    p, right, _ = best(ranker, t["always"])
                exact += right
                shown += p >= ranker.show_at
                right_shown += right and p >= ranker.show_at
            print(json.dumps({"bench": bench, "sure_at": threshold, "exact": round(exact / len(tasks), 4),
                              "loops_skipped": round(skipped / len(tasks), 3),
                              "coverage": round(shown / len(tasks), 4),
                              "precision": round(right_shown / max(shown, 1), 4)}), flush=True)


def main() -> None:
    sets = {}
    for bench in ("dev", "repos", "smoke"):
        path = DATA / f"own_line_{bench}.jsonl"
        if not path.is_file():
            collect(bench, path)
        sets[bench] = fr.load(path)
    if "--sure" in sys.argv[1:]:
        sure_skip(sets)
        return
    for pool in ("fallback", "always"):
        for t in (t for ts in sets.values() for t in ts):
            t["cands"] = t[pool]
        for ranker, fitter in (("pointwise", fit_pointwise), ("conditional", fr.fit)):
            pointwise = ranker == "pointwise"
            held: list[tuple[float, bool]] = []
            dev = sets["dev"]
            for repo in sorted({t["task_id"].split("/")[0] for t in dev}):
                w, b = fitter([t for t in dev if not t["task_id"].startswith(repo + "/")], L2[ranker])
                held += fr.top1([t for t in dev if t["task_id"].startswith(repo + "/")], w, b, pointwise)
            w, b = fitter(dev, L2[ranker])
            cut = fr.threshold_for(fr.top1(dev, w, b, pointwise), 0.65)
            row: dict[str, object] = {"own_line": pool, "ranker": ranker, "show_at": round(cut, 3)}
            for name, rows in (("dev_loro", held), ("repos", fr.top1(sets["repos"], w, b, pointwise)),
                               ("smoke", fr.top1(sets["smoke"], w, b, pointwise))):
                row[name] = {**fr.report(rows, cut), "surest_35_precision": surest(rows, 0.35)}
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
