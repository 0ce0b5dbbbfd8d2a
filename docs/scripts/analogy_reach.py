"""What the analogy drafts add to the candidates, and what they cost, on the development holes.

For each single-line development hole: whether an analogy draft (infill/drafts/analogy.py)
is the right text, and whether no other source proposed it (the pools of fit_ranker's
features file, collected with the analogy drafts); the time analogous_lines takes. Settings:
tokens of same-shaped context required, characters searched each side of the hole.

    python docs/scripts/analogy_reach.py [--min-match 4] [--window 6000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from diffill.infill.drafts.analogy import analogous_lines

DATA = Path("data/bench")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--min-match", type=int, default=4)
    ap.add_argument("--window", type=int, default=6000)
    args = ap.parse_args()
    pools = {p["task_id"]: p for p in map(json.loads, (DATA / "dev_features.jsonl").open())}
    holes = drafted = right = only_here = 0
    ms: list[float] = []
    for task in map(json.loads, (DATA / "dev.jsonl").open()):
        pool = pools.get(task["task_id"])
        if task["kind"] == "block" or pool is None:
            continue
        others = {c["text"].strip() for c in pool["cands"] if c["sources"] > 1 or not c["analogy"]}
        truth = task["canonical_solution"].strip()
        start = time.perf_counter()
        found = analogous_lines(task["prompt"], task["suffix"], min_match=args.min_match,
                                window=args.window)
        ms.append((time.perf_counter() - start) * 1000)
        texts = [a.text.strip() for a in found]
        holes += 1
        drafted += bool(texts)
        right += truth in texts
        only_here += truth in texts and truth not in others
    print(json.dumps({"holes": holes, "with_a_draft": drafted, "right": right,
                      "right_and_no_other_source": only_here,
                      "ms_p50": round(statistics.median(ms), 2),
                      "ms_p95": round(sorted(ms)[int(0.95 * len(ms))], 2),
                      "ms_mean": round(statistics.fmean(ms), 2), **vars(args)}))


if __name__ == "__main__":
    main()
