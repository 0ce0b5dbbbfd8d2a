"""Score an older ranker against today's on development repositories the older one never saw.

The older ranker (a ranker.json from an earlier commit, whose features are a subset of
today's) scores the named repositories' holes as fitted; today's features are refitted
leave-one-repository-out, so neither ever saw the repository it is scored on.

    git show 5016661:infill/ranker.json > /tmp/old_ranker.json
    python docs/scripts/compare_rankers.py --old /tmp/old_ranker.json --after 12

(--after 12: the repositories of infill/dev_repos.json after its first twelve, those the ranker
of 5016661 was fitted on; or name them with --repos.)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import fit_ranker  # noqa: E402
from fit_ranker import leave_one_repo_out, load, report, top1  # noqa: E402

from diffill.infill.ranking import FEATURE_NAMES  # noqa: E402


def top_share_precision(rows: list[tuple[float, bool]], share: float = 0.4) -> float:
    """Precision of the most confident `share` of the holes."""
    k = max(1, int(share * len(rows)))
    return round(sum(e for _, e in sorted(rows, key=lambda r: -r[0])[:k]) / k, 4)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", type=Path, required=True, help="an earlier ranker.json")
    ap.add_argument("--repos", nargs="*", default=[], help="development repositories it never saw")
    ap.add_argument("--after", type=int, help="or: the manifest's repositories after its first N")
    ap.add_argument("--features", type=Path, default=Path("data/bench/dev_features.jsonl"))
    ap.add_argument("--l2", type=float, default=1e-5)
    args = ap.parse_args()
    if args.after is not None:
        manifest = json.loads(Path("infill/dev_repos.json").read_text())["repos"]
        args.repos = [r["name"] for r in manifest[args.after :]]
    old = json.loads(args.old.read_text())
    columns = [FEATURE_NAMES.index(name) for name in old["features"]]
    tasks = load(args.features)
    unseen = [t for t in tasks if t["task_id"].split("/")[0] in args.repos]
    if not unseen:
        raise SystemExit("none of those repositories has holes in the features file")
    now = fit_ranker.matrix
    fit_ranker.matrix = lambda t: (now(t)[0][:, columns], now(t)[1])  # type: ignore[assignment]
    old_rows = top1(unseen, np.array(old["weights"]), old["bias"], pointwise="model" not in old)
    fit_ranker.matrix = now
    new_ranker = json.loads(Path("infill/ranker.json").read_text())
    held = leave_one_repo_out(tasks, args.l2)
    new_rows = [r for r, t in zip(held, tasks, strict=True) if t["task_id"].split("/")[0] in args.repos]
    print(json.dumps({
        "holes": len(unseen),
        "old": {**report(old_rows, old["show_at"]), "top40_precision": top_share_precision(old_rows)},
        "new_leave_one_repo_out": {**report(new_rows, new_ranker["show_at"]),
                                   "top40_precision": top_share_precision(new_rows)},
    }, indent=1))


if __name__ == "__main__":
    main()
