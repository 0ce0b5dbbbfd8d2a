"""The engine's candidates with and without the name drafts (infill/drafts/names.py), by hole kind.

Both rankers are fitted on the same development pools (fit_ranker's features file, collected
with the name drafts); "without" drops the candidates only the name drafts proposed, the
name features of the others and the `line_rest` feature, as if neither existed. Each is scored
leave-one-repository-out on the development holes and, fitted on all of them, on the
held-out repositories and the smoke set, at the thresholds fit_ranker chooses for it (issue
12's kinds: precision 60% and coverage 40% beaten by equal margins; holes inside brackets:
precision 70%):

    python docs/scripts/names_ab.py    # collects data/bench/names_{repos,smoke}.jsonl once

The development pools come from `python docs/scripts/fit_ranker.py` (about 10 minutes).
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import fit_ranker as fr  # noqa: E402

DATA = Path("data/bench")
L2 = 1e-3  # fit_ranker's choice with the name drafts


def without_names(tasks: list[dict]) -> list[dict]:
    tasks = copy.deepcopy(tasks)
    for t in tasks:
        kept = []
        for c in t["cands"]:
            c["line_rest"] = False
            if c["name_rank"] < 9:
                if c["sources"] <= 1:
                    continue
                c["sources"] -= 1
                c["name_rank"] = 9
            kept.append(c)
        t["cands"] = kept
    return tasks


def by_kind(tasks: list[dict], rows: list[tuple[float, bool]], cuts: tuple[float, float]) -> dict:
    out = {}
    for name, keep in (("single_line", lambda t: not fr.in_line(t)), ("in_brackets", fr.in_line)):
        picked = [r for t, r in zip(tasks, rows, strict=True) if keep(t)]
        if picked:
            out[name] = fr.report(picked, cuts[name == "in_brackets"])
            if name == "in_brackets":  # at the other holes' threshold: why they get their own
                out["in_brackets_at_shared_threshold"] = fr.report(picked, cuts[0])
    return out


def scored(dev: list[dict], others: dict[str, list[dict]]) -> dict:
    held = fr.leave_one_repo_out(dev, L2)
    ends = [r for t, r in zip(dev, held, strict=True) if not fr.in_line(t)]
    inside = [r for t, r in zip(dev, held, strict=True) if fr.in_line(t)]
    cuts = (fr.balanced_threshold(ends, 0.60, 0.40), fr.threshold_for(inside, 0.70))
    w, b = fr.fit(dev, L2)
    row: dict = {"show_at": cuts[0], "show_at_in_line": cuts[1], "dev_loro": by_kind(dev, held, cuts)}
    for name, tasks in others.items():
        row[name] = by_kind(tasks, fr.top1(tasks, w, b), cuts)
    return row


def main() -> None:
    dev = fr.development_pools("name_rank", DATA)
    others = fr.benchmark_pools("names", DATA)
    print(json.dumps({"with": scored(dev, others)}), flush=True)
    stripped = {n: without_names(t) for n, t in others.items()}
    print(json.dumps({"without": scored(without_names(dev), stripped)}), flush=True)


if __name__ == "__main__":
    main()
