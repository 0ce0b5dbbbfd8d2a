"""Held-out infill tasks cut from the corpus's held-out files, in HumanEval-Infilling format.

Deterministic (seeded by path), so every checkpoint and every model change is judged on the
same holes. Kinds: `line` (cursor after the indentation of a non-blank line, the middle is
the rest of that line, as in an editor after auto-indent) and `rest_of_line` (cursor at a
random point inside a line).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from pathlib import Path

from diffill.model.corpus import read_jsonl

HOLE_KINDS = ("line", "rest_of_line")


def holes_in_file(path: str, text: str, kind: str, per_file: int) -> Iterator[dict[str, str]]:
    seed = int.from_bytes(hashlib.sha256(f"{kind}:{path}".encode()).digest()[:8], "big")
    rng = random.Random(seed)
    lines = text.split("\n")
    offsets = [0]
    for line in lines[:-1]:
        offsets.append(offsets[-1] + len(line) + 1)
    candidates = [i for i, ln in enumerate(lines) if 2 <= len(ln.strip()) <= 120]
    rng.shuffle(candidates)
    for i in sorted(candidates[:per_file]):
        line = lines[i]
        indent = len(line) - len(line.lstrip())
        start = offsets[i] + indent
        if kind == "rest_of_line":
            if len(line) - indent < 4:
                continue
            start = offsets[i] + rng.randrange(indent + 1, len(line) - 1)
        end = offsets[i] + len(line)
        yield {
            "task_id": f"{path}:{i + 1}:{kind}",
            "prompt": text[:start],
            "canonical_solution": text[start:end],
            "suffix": text[end:],
        }


def make_tasks(heldout_jsonl: Path, kind: str, limit: int, per_file: int = 3) -> list[dict[str, str]]:
    """Up to `limit` tasks, a few per file across all held-out files (sorted by path)."""
    if kind not in HOLE_KINDS:
        raise ValueError(f"unknown hole kind {kind!r}; choose from {HOLE_KINDS}")
    tasks: list[dict[str, str]] = []
    for f in read_jsonl(heldout_jsonl):
        tasks.extend(holes_in_file(f.path, f.text, kind, per_file))
    rng = random.Random(0)
    rng.shuffle(tasks)
    return sorted(tasks[:limit], key=lambda t: t["task_id"])


def write_tasks(tasks: list[dict[str, str]], out: Path) -> None:
    out.write_text("".join(json.dumps(t) + "\n" for t in tasks))
