"""Rerun the exact-match rows of docs/BENCHMARKS.md and MODEL_CARD.md.

Each row is one `diffill eval` command; results go to a JSON-lines file (one row per line,
rows already there are skipped, so an interrupted run resumes) and the Markdown table is
printed at the end.

    python docs/scripts/engine_figures.py --data data --out figures.jsonl
    python docs/scripts/engine_figures.py --only rol_off line_off --model runs/v3/last

`--data` holds what `diffill model corpus --out DATA/corpus` and
`diffill heldout --corpus DATA/corpus --kind K --limit 400 --out DATA/heldout_K.jsonl` wrote.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

# (label, tasks, what the row is, extra `diffill eval` arguments); {data} and {he} expand.
ROWS: list[tuple[str, str, str, list[str]]] = [
    ("rol_off", "rol", "off (model alone)", ["--drafts", "off"]),
    ("rol_prefer", "rol", "prefer (default), file only", ["--drafts", "prefer"]),
    ("rol_prefer_ws", "rol", "prefer + repository index", ["--drafts", "prefer", "WS"]),
    ("rol_prefer_ws_skip", "rol", "prefer + repository index, near-copies left out",
     ["--drafts", "prefer", "WS", "--skip-similar", "0.5"]),
    ("rol_score", "rol", "score", ["--drafts", "score"]),
    ("rol_verify", "rol", "verify", ["--drafts", "verify"]),
    ("line_off", "line", "off (model alone)", ["--drafts", "off"]),
    ("line_prefer", "line", "prefer (default), file only", ["--drafts", "prefer"]),
    ("line_prefer_ws", "line", "prefer + repository index", ["--drafts", "prefer", "WS"]),
    ("line_verify", "line", "verify", ["--drafts", "verify"]),
    ("he_single", "he1", "prefer (default)", ["--exec"]),
    ("he_single_off", "he1", "off (model alone)", ["--exec", "--drafts", "off"]),
    ("he_multi", "heN", "prefer (default)", ["--exec"]),
]
TASKS = {
    "rol": ("{data}/heldout_rest_of_line.jsonl", 150, "held-out rest-of-line"),
    "line": ("{data}/heldout_line.jsonl", 150, "held-out line"),
    "he1": ("{he}/HumanEval-SingleLineInfilling.jsonl.gz", 200, "HumanEval SingleLine"),
    "heN": ("{he}/HumanEval-MultiLineInfilling.jsonl.gz", 60, "HumanEval MultiLine"),
}


def command(label: str, data: Path, he: Path, model: Path | None) -> list[str]:
    _, kind, _, extra = next(r for r in ROWS if r[0] == label)
    path, sample, _ = TASKS[kind]
    argv = ["diffill", "eval", path.format(data=data, he=he), "--sample", str(sample)]
    for arg in extra:
        if arg == "WS":  # the repository index: every corpus file, as the server would index
            argv += ["--workspace", f"{data}/corpus/train.jsonl",
                     "--workspace", f"{data}/corpus/heldout.jsonl"]
        else:
            argv.append(arg)
    if model is not None:
        argv += ["--model", str(model)]
    return argv


def table(results: dict[str, dict[str, object]]) -> str:
    lines = ["| row | tasks | drafts | exact match | copy baseline | pass@1 | syntax ok "
             "| latency p50 / p95 ms | steps | tokens/forward |", "|" + "---|" * 10]
    for label, kind, what, _ in ROWS:
        r = results.get(label)
        if r is None:
            continue
        _, sample, name = TASKS[kind]
        passed = r.get("pass_at_1")
        lat = r["latency_ms"]
        lines.append(
            f"| `{label}` | {name}, {sample}{' sampled' if kind.startswith('he') else ''} | {what} "
            f"| {r['exact_match']:.3f} | {r['copy_baseline_exact_match']:.3f} "
            f"| {'-' if passed is None else f'{passed:.3f}'} | {r['syntax_ok']:.2f} "
            f"| {lat['p50']:.0f} / {lat['p95']:.0f} | {r['steps_mean']:.1f} "
            f"| {r['tokens_per_forward_mean']:.2f} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("data"))
    ap.add_argument("--he", type=Path, default=Path("../shared/data/human-eval-infilling"))
    ap.add_argument("--model", type=Path, help="checkpoint (default: the shipped model)")
    ap.add_argument("--out", type=Path, default=Path("figures.jsonl"))
    ap.add_argument("--only", nargs="+", help="labels to run (default: every row)")
    args = ap.parse_args()
    results: dict[str, dict[str, object]] = {}
    if args.out.exists():
        for line in args.out.read_text().splitlines():
            row = json.loads(line)
            results[row["label"]] = row
    for label, *_ in ROWS:
        if (args.only and label not in args.only) or label in results:
            continue
        argv = command(label, args.data, args.he, args.model)
        print(" ".join(argv), file=sys.stderr, flush=True)
        done = subprocess.run(argv, check=True, stdout=subprocess.PIPE, text=True)
        row = {"label": label, "command": " ".join(argv), **json.loads(done.stdout.splitlines()[-1])}
        results[label] = row
        with args.out.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
