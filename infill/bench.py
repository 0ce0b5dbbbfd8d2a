"""The development benchmarks of `diffill eval --bench NAME` (issue 12).

- `repos`: holes cut (bench_cut) from held-out repositories (bench_fetch, heldout_repos.json),
  each task's workspace being the rest of its project.
- `smoke`: obvious completions (infill/smoke.jsonl), each listing the spellings accepted as
  exact. Written by hand for this project (not copied, not from HumanEval) as short snippets
  with the hole marked, converted to JSONL; every accepted answer makes its snippet parse.

`prepare` writes both as HumanEval-Infilling-format JSONL (plus kind, repo, path) under
data/bench, with the repos' workspace as (path, text) rows, so `diffill eval FILE --workspace
WS` gives the same figures. Torch-free.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from importlib import resources
from pathlib import Path, PurePosixPath

from .bench_cut import cut_tasks
from .bench_fetch import CACHE, DEV_MANIFEST, fetch, is_cut_file, load_manifest, python_files

BENCHES = ("repos", "smoke", "dev")
OUT_DIR = Path("data/bench")
# Tasks per repository and kind: single-line holes dominate, as in an editor; about 450 in
# all over six repositories, so one engine configuration runs in minutes on two cores.
COUNTS = {"whole_line": 20, "rest_of_line": 18, "block": 7, "in_brackets": 10, "mid_word": 10,
          "after_dot": 10}
# The ranker is for one-line holes; blocks are never shown.
DEV_COUNTS = {"whole_line": 30, "rest_of_line": 30, "block": 0, "in_brackets": 15, "mid_word": 15,
              "after_dot": 15}


def repo_benchmark(cache: Path = CACHE, counts: dict[str, int] | None = None, manifest: Path | None = None,
                   ) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(tasks, workspace rows) of the held-out repositories (or another manifest's), fetched if needed."""
    tasks: list[dict[str, str]] = []
    workspace: list[dict[str, str]] = []
    for repo in load_manifest(manifest):
        files = [(p, t.replace("\r\n", "\n")) for p, t in python_files(fetch(repo, cache))]
        # Holes come from library code only: tests are repetitive (copying wins there) and
        # are not where a completer earns its keep; they stay in the workspace, as in a checkout.
        cut = [(p, t) for p, t in files if is_cut_file(repo, p)]
        tasks.extend(cut_tasks(repo.name, cut, counts or COUNTS))
        workspace.extend({"path": f"{repo.name}/{p}", "text": t} for p, t in files)
    return tasks, workspace


def smoke_tasks() -> list[dict[str, str]]:
    """The hand-written smoke set shipped with the package."""
    raw = resources.files("diffill.infill").joinpath("smoke.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in raw.splitlines() if line.strip()]


def write_jsonl(rows: Iterable[object], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    tmp.replace(path)  # readers never see half a file


def prepare(out_dir: Path = OUT_DIR, cache: Path = CACHE) -> dict[str, Path]:
    """Write repos.jsonl, repos_workspace.jsonl and smoke.jsonl to out_dir; return their paths."""
    tasks, workspace = repo_benchmark(cache)
    paths = {"repos": out_dir / "repos.jsonl", "repos_workspace": out_dir / "repos_workspace.jsonl",
             "smoke": out_dir / "smoke.jsonl"}
    write_jsonl(tasks, paths["repos"])
    write_jsonl(workspace, paths["repos_workspace"])
    write_jsonl(smoke_tasks(), paths["smoke"])
    return paths


def dev_benchmark(out_dir: Path = OUT_DIR, cache: Path = CACHE) -> dict[str, Path]:
    """Write dev.jsonl and dev_workspace.jsonl: single-line holes of the development repositories.

    The ranker is fitted on these (docs/scripts/fit_ranker.py); the held-out repositories
    stay a test.
    """
    manifest = Path(str(resources.files("diffill.infill").joinpath(DEV_MANIFEST)))
    tasks, workspace = repo_benchmark(cache, DEV_COUNTS, manifest)
    paths = {"dev": out_dir / "dev.jsonl", "dev_workspace": out_dir / "dev_workspace.jsonl"}
    write_jsonl(tasks, paths["dev"])
    write_jsonl(workspace, paths["dev_workspace"])
    return paths


def benchmark_modules() -> list[str]:
    """The top-level modules of every project a benchmark cuts holes from, development and held-out.

    An evaluation's corpus index leaves them out wherever they are installed or vendored here
    (pip vendors platformdirs): it would otherwise copy them.
    """
    from .drafts.corpus_index import distribution_modules

    dev = Path(str(resources.files("diffill.infill").joinpath(DEV_MANIFEST)))
    repos = load_manifest() + load_manifest(dev)
    cut = {PurePosixPath(repo.cut[0].removeprefix("src/")).parts[0].removesuffix(".py") for repo in repos}
    return sorted(cut | set(distribution_modules(repo.name for repo in repos)))


def load_bench(name: str, out_dir: Path = OUT_DIR, cache: Path = CACHE,
               ) -> tuple[list[dict[str, str]], list[tuple[str, str]]]:
    """(tasks, workspace files) of a named benchmark, prepared first where needed."""
    if name == "smoke":
        return smoke_tasks(), []
    if name not in BENCHES:
        raise ValueError(f"unknown benchmark {name!r}; choose from {BENCHES}")
    tasks_path, ws_path = out_dir / f"{name}.jsonl", out_dir / f"{name}_workspace.jsonl"
    if not (tasks_path.is_file() and ws_path.is_file()):
        (dev_benchmark if name == "dev" else prepare)(out_dir, cache)
    tasks = [json.loads(line) for line in tasks_path.read_text(encoding="utf-8").splitlines() if line]
    rows = [json.loads(line) for line in ws_path.read_text(encoding="utf-8").splitlines() if line]
    return tasks, [(r["path"], r["text"]) for r in rows]
