"""The engine's candidates with and without the analogy drafts (infill/drafts/analogy.py).

Both rankers are fitted on the same development pools (fit_ranker's features file, collected
with the analogy drafts); "without" drops the candidates only the analogy proposed and the
analogy features of the others, as if the source were off. Each is scored
leave-one-repository-out on the development holes and, fitted on all of them, on the held-out
repositories and the smoke set, at the threshold fit_ranker would choose for it
(leave-one-repository-out precision 0.70):

    python docs/scripts/analogy_ab.py    # collects data/bench/analogy_{repos,smoke}.jsonl once

The development pools come from `python docs/scripts/fit_ranker.py` (about 10 minutes).
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import fit_ranker as fr  # noqa: E402
import lead_in_ab as lia  # noqa: E402

DATA = Path("data/bench")


def without_analogy(tasks: list[dict]) -> list[dict]:
    tasks = copy.deepcopy(tasks)
    for t in tasks:
        kept = []
        for c in t["cands"]:
            if c["analogy"]:
                if c["sources"] <= 1:
                    continue
                c["sources"] -= 1
                c["analogy"], c["analogy_matched"], c["analogy_after"] = False, 0, 0
            kept.append(c)
        t["cands"] = kept
    return tasks


def pool_reach(tasks: list[dict]) -> float:
    """Share of holes whose right text is among the candidates."""
    return round(sum(any(c["label"] for c in t["cands"]) for t in tasks) / max(len(tasks), 1), 4)


def main() -> None:
    dev = fr.development_pools("analogy_after", DATA)
    others = fr.benchmark_pools("analogy", DATA)
    for name, change in (("with", lambda t: t), ("without", without_analogy)):
        variant = {n: change(t) for n, t in others.items()}
        row = lia.scored(change(dev), variant)
        row["reach"] = {n: pool_reach(t) for n, t in (("dev", change(dev)), *variant.items())}
        print(json.dumps({name: row}), flush=True)


if __name__ == "__main__":
    main()
