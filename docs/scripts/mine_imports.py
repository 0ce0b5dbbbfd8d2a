"""Mine infill/drafts/import_lines.json: for each name an import binds, its most common import line.

Read from the training corpus (data/corpus/train.jsonl, written by `diffill model corpus`), so
the table says how Python code at large imports a name (`np` -> `import numpy as np`, `Path`
-> `from pathlib import Path`). Relative imports are project-specific and left out, as are
lines seen in fewer than MIN_PROJECTS projects.

    python docs/scripts/mine_imports.py [--corpus data/corpus/train.jsonl]
"""

from __future__ import annotations

import argparse
import ast
import json
from collections import Counter, defaultdict
from pathlib import Path

MIN_PROJECTS = 2  # a line seen in one project only is that project's own
OUT = Path(__file__).resolve().parents[2] / "infill" / "drafts" / "import_lines.json"


def import_lines(source: str) -> list[tuple[str, str]]:
    """(bound name, one-name import line) for every absolute import in the source."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    found.append((alias.asname, f"import {alias.name} as {alias.asname}"))
                elif "." not in alias.name:
                    found.append((alias.name, f"import {alias.name}"))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module != "__future__":
            for alias in node.names:
                if alias.name == "*":
                    continue
                bound = alias.asname or alias.name
                tail = f" as {alias.asname}" if alias.asname else ""
                found.append((bound, f"from {node.module} import {alias.name}{tail}"))
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=Path("data/corpus/train.jsonl"))
    args = ap.parse_args()
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    projects: dict[tuple[str, str], set[str]] = defaultdict(set)
    with args.corpus.open(encoding="utf-8") as fh:
        for row in fh:
            file = json.loads(row)
            for name, line in set(import_lines(file["text"])):  # once per file
                counts[name][line] += 1
                projects[name, line].add(file["path"].split("/")[0])
    table = {}
    for name in sorted(counts):
        line, _ = counts[name].most_common(1)[0]
        if len(projects[name, line]) >= MIN_PROJECTS:
            table[name] = line
    OUT.write_text(json.dumps(table, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    print(json.dumps({"names": len(table), "out": str(OUT)}))


if __name__ == "__main__":
    main()
