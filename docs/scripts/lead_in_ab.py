"""The ranker with and without the n-gram's lead-in (how well a candidate leads into the code after it).

Both rankers are fitted on the same development pools (fit_ranker's features file, whose
candidates carry `lead_in`); "without" drops the feature (every candidate unscored, so its
column is zero). Each is scored leave-one-repository-out on the development holes and, fitted
on all of them, on the held-out repositories and the smoke set, at the threshold fit_ranker
would choose for it (leave-one-repository-out precision 0.70):

    python docs/scripts/lead_in_ab.py    # collects data/bench/lead_in_{repos,smoke}.jsonl once

The development pools come from `python docs/scripts/fit_ranker.py` (about 10 minutes).
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import fit_ranker as fr  # noqa: E402
import own_line_ab as ola  # noqa: E402

DATA = Path("data/bench")
L2 = 3e-4  # fit_ranker's choice with the feature
PRECISION = 0.70


def without_lead_in(tasks: list[dict]) -> list[dict]:
    tasks = copy.deepcopy(tasks)
    for t in tasks:
        for c in t["cands"]:
            c["lead_in"] = None
    return tasks


def scored(dev: list[dict], others: dict[str, list[dict]]) -> dict:
    held = fr.leave_one_repo_out(dev, L2)
    w, b = fr.fit(dev, L2)
    cut = fr.threshold_for(held, PRECISION)
    row: dict = {"show_at": cut}
    for name, rows in (("dev_loro", held), *((n, fr.top1(t, w, b)) for n, t in others.items())):
        row[name] = {**fr.report(rows, cut), "surest_35_precision": ola.surest(rows, 0.35)}
    return row


def main() -> None:
    dev = fr.development_pools("lead_in", DATA)
    others = fr.benchmark_pools("lead_in", DATA)
    print(json.dumps({"with": scored(dev, others)}), flush=True)
    print(json.dumps({"without": scored(without_lead_in(dev),
                                        {n: without_lead_in(t) for n, t in others.items()})}), flush=True)


if __name__ == "__main__":
    main()
