"""Exact match if buffer drafts behind short context matches ranked below the model's fill.

Usage: python docs/scripts/draft_threshold.py TASKS.jsonl OFF.jsonl PREFER.jsonl
where OFF/PREFER are `diffill eval TASKS --drafts off|prefer --out …` samples. For each
threshold L, a task counts the `prefer` outcome when its longest buffer-draft match is at
least L characters, else the model's (`off`) outcome; printed per half (even/odd task index).
"""

import json
import sys

from diffill.infill.drafts.buffer import buffer_draft_matches


def main(tasks_path: str, off_path: str, prefer_path: str) -> None:
    tasks = [json.loads(line) for line in open(tasks_path)]
    off = {r["task_id"]: r for r in map(json.loads, open(off_path))}
    prefer = {r["task_id"]: r for r in map(json.loads, open(prefer_path))}
    rows = []
    for i, task in enumerate(tasks):
        tid = task["task_id"]
        if tid in off and tid in prefer:
            matches = buffer_draft_matches(task["prompt"], task["suffix"])
            rows.append((i, matches[0][1] if matches else 0, off[tid]["exact"], prefer[tid]["exact"]))
    print("tasks", len(rows), "model EM", sum(r[2] for r in rows) / len(rows),
          "prefer EM", sum(r[3] for r in rows) / len(rows))
    for half in (0, 1):
        part = [r for r in rows if r[0] % 2 == half]
        cells = [f"{half} {L} {sum(r[3] if r[1] >= L else r[2] for r in part) / len(part):.4g}"
                 for L in (0, 5, 8, 12, 16, 24, 32, 48, 64, 100)]
        print(" | ".join(cells))


if __name__ == "__main__":
    main(*sys.argv[1:4])
