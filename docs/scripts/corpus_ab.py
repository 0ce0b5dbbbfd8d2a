"""What the corpus index reads: the standard library alone, or with the installed packages too.

For each variant the candidate pools of every single-line hole (development, held-out
repositories, smoke set) are collected on the engine's path (`own_line_ab.collect`, the
denoiser's own line in every pool), the conditional-logit ranker is refitted on the
development holes, and the script prints, per variant, leave-one-repository-out figures on
the development holes and the held-out and smoke figures of the ranker fitted on all of them
(threshold for 65% development precision, as fit_ranker.py sets it). Every benchmark
project is left out of both indexes (`benchmark_modules`).

    python docs/scripts/corpus_ab.py

Pools are written once to data/bench/corpus_{stdlib,site}_{dev,repos,smoke}.jsonl and reused
(about ten minutes a variant on an AVX-512 core, plus a minute or two to build the index).
MODEL_CARD.md's table was taken with the thirty development repositories of then (1,800
holes); a run from scratch collects all of today's.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import fit_ranker as fr  # noqa: E402
import own_line_ab as ola  # noqa: E402

DATA = Path("data/bench")
L2 = 1e-4  # the strength fit_ranker.py picks for the shipped pools


def pools(variant: str) -> dict[str, list[dict]]:
    from diffill.infill.drafts.corpus_index import stdlib_root

    roots = [stdlib_root()] if variant == "stdlib" else None
    sets = {}
    for bench in ("dev", "repos", "smoke"):
        path = DATA / f"corpus_{variant}_{bench}.jsonl"
        if not path.is_file():
            ola.collect(bench, path, roots)
        sets[bench] = fr.load(path)
        for t in sets[bench]:
            t["cands"] = t["always"]
    return sets


def main() -> None:
    for variant in ("stdlib", "site"):
        sets = pools(variant)
        dev = sets["dev"]
        held: list[tuple[float, bool]] = []
        for repo in sorted({t["task_id"].split("/")[0] for t in dev}):
            w, b = fr.fit([t for t in dev if not t["task_id"].startswith(repo + "/")], L2)
            held += fr.top1([t for t in dev if t["task_id"].startswith(repo + "/")], w, b)
        w, b = fr.fit(dev, L2)
        cut = fr.threshold_for(fr.top1(dev, w, b), 0.65)
        row: dict[str, object] = {"corpus": variant, "show_at": round(cut, 3)}
        for name, bench, rows in (("dev_loro", "dev", held), ("repos", "repos", fr.top1(sets["repos"], w, b)),
                                  ("smoke", "smoke", fr.top1(sets["smoke"], w, b))):
            right_in_pool = sum(any(c["label"] for c in t["cands"]) for t in sets[bench])
            row[name] = {**fr.report(rows, cut), "surest_35_precision": ola.surest(rows, 0.35),
                         "right_in_pool": right_in_pool}
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
