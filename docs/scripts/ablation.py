"""The ablation table of MODEL_CARD.md: which candidate sources and features earn their keep.

Every variant is refitted on the development holes (as fit_ranker.py does) and measured on
the held-out repositories' single-line holes; variants are simulated from one collection of
candidate features (a source left out = its candidates removed, a feature left out = held
constant), so they differ in nothing else.

    python docs/scripts/ablation.py [--dev data/bench/dev_features.jsonl]
                                    [--test data/bench/repos_features.jsonl] [--by-repo]

--by-repo also scores every variant on the development holes, each repository under weights
fitted on the others (leave-one-repository-out), overall and per hole kind.

Missing feature files are collected first (fit_ranker.collect; ~10 minutes each on two cores).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from fit_ranker import collect, fit, leave_one_repo_out, load, report, threshold_for, top1  # noqa: E402

Variant = Callable[[dict], dict | None]  # a candidate -> the candidate as the variant sees it


def only(pred: Callable[[dict], bool]) -> Variant:
    return lambda c: c if pred(c) else None


def without(field: str, value: object) -> Variant:
    def change(c: dict) -> dict:
        c = dict(c)
        c[field] = value
        return c
    return change


def is_draft(c: dict) -> bool:
    return c["copy"] or c["draft_rank"] < 9 or c["workspace"]


def plain(c: dict) -> dict:
    """The candidate without the later additions: no scope mark, unbound or fresh names, line start."""
    return {**c, "scope": "", "unbound_names": 0, **NO_FRESH}


NO_FRESH = {"fresh_names": 0, "fresh_available": False, "line_start": False}


def is_scope_only(c: dict) -> bool:
    return bool(c["scope"]) and c["sources"] == 1


VARIANTS: dict[str, Variant] = {
    "copy floor (the copy's answer, always shown)": only(lambda c: c["copy"]),
    "drafts only (buffer, copy, workspace), ranked": lambda c: plain(c) if is_draft(c) else None,
    "drafts + n-gram (file cache + stdlib index), no denoiser score":
        lambda c: without("denoiser", -10.0)(plain(c)) if is_draft(c) or c["ngram_rank"] < 9 else None,
    "drafts + n-gram + denoiser score": lambda c: None if is_scope_only(c) else plain(c),
    "+ scope drafts (imports, __init__ assignments, returns)":
        lambda c: {**c, "unbound_names": 0, **NO_FRESH},
    "+ the unbound-name rule and feature": lambda c: {**c, **NO_FRESH},
    "+ fresh names: names the function binds and nothing uses yet":
        lambda c: {**c, "line_start": False},
    "+ whether the hole starts its line (the default engine)": lambda c: c,
}


def apply(tasks: list[dict], variant: Variant) -> list[dict]:
    out = []
    for t in tasks:
        t = copy.copy(t)
        t["cands"] = [v for c in t["cands"] if (v := variant(c)) is not None]
        out.append(t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dev", type=Path, default=Path("data/bench/dev_features.jsonl"))
    ap.add_argument("--test", type=Path, default=Path("data/bench/repos_features.jsonl"))
    ap.add_argument("--precision", type=float, default=0.65)  # as fit_ranker.py
    ap.add_argument("--by-repo", action="store_true",
                    help="also leave-one-repository-out on the development holes")
    args = ap.parse_args()
    for path, bench in ((args.dev, "dev"), (args.test, "repos")):
        if not path.is_file():
            collect(path, bench)
    dev, test = load(args.dev), load(args.test)
    rows = []
    for name, variant in VARIANTS.items():
        d, t = apply(dev, variant), apply(test, variant)
        w, b = fit(d)
        cut = threshold_for(top1(d, w, b), args.precision)
        if name.startswith("copy floor"):
            cut = 0.0  # the floor shows whatever it copied
        row = {"variant": name, "test": report(top1(t, w, b), cut)}
        if args.by_repo:
            held = leave_one_repo_out(d, 1e-4)  # fit's default strength, as above
            row["dev_by_repo"] = report(held, cut)
            for kind in ("whole_line", "rest_of_line"):
                row[f"dev_by_repo_{kind}"] = report([r for r, task in zip(held, d, strict=True)
                                                     if task["kind"] == kind], cut)
        rows.append(row)
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
