"""Evaluation harness for HumanEval-Infilling-format tasks, on the engine's own path.

Each task gives prompt (prefix), suffix, canonical_solution (the middle) and optionally
test and entry_point. The engine is not told the middle's length. Exact match compares
after stripping trailing whitespace. With `execute`, the sample runs in a sandboxed
subprocess (temp dir, no network namespace where `unshare` allows, memory/CPU limits,
timeout), passing when `prompt + completion + suffix + test + check(entry_point)` exits 0.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from .drafts.copy_floor import copy_continuation
from .engine import InfillEngine
from .requests import FillSettings, Trigger, cursor_request
from .sampler import SamplerConfig
from .syntax import HoleKind, introduces_errors

EXEC_TIMEOUT_S = 3.0
# Each task is an editor's invoked inline request, with one candidate unless asked for more:
# for a line hole the same request a typed one makes; a block task (an explicit block
# request) may take several canvases. Eval has no deadline: it measures the full fill.
TRIGGER = Trigger.INVOKED


def load_tasks(path: Path, limit: int | None = None, sample: int | None = None) -> list[dict[str, str]]:
    """Tasks from a .jsonl(.gz) file: the first `limit`, or a fixed random `sample` of them.

    Benchmark files list a problem's tasks together, so the first N cover few problems; a
    sample (seeded, so reruns agree) spreads over all of them.
    """
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:  # type: ignore[operator]
        tasks = [json.loads(line) for line in fh if line.strip()]
    return pick_tasks(tasks, limit, sample)


def pick_tasks(tasks: list[dict[str, str]], limit: int | None = None,
               sample: int | None = None) -> list[dict[str, str]]:
    """The first `limit` tasks, or a fixed (seeded) random `sample` of them."""
    if sample is not None and sample < len(tasks):
        picked = sorted(random.Random(0).sample(range(len(tasks)), sample))
        tasks = [tasks[i] for i in picked]
    return tasks[:limit] if limit else tasks


def exact(completion: str, middle: str) -> bool:
    return completion.rstrip() == middle.rstrip()


def exact_any(completion: str, task: dict[str, str]) -> bool:
    """Exact against the middle or, where the task lists them, any accepted spelling."""
    accepted = cast("list[str] | None", task.get("accepted")) or [task["canonical_solution"]]
    return any(exact(completion, a) for a in accepted)


def hole_kind_of(task: dict[str, str]) -> HoleKind | None:
    """The hole kind an editor asks for: BLOCK (an explicit multi-line request) or None (planned)."""
    return HoleKind.BLOCK if task.get("kind") == "block" else None


def _limit_child() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    resource.setrlimit(resource.RLIMIT_CPU, (10, 10))
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 << 20, 16 << 20))
    os.setsid()


def sandbox_prefix() -> list[str]:
    """`unshare -rn` puts the child in an empty network namespace where the kernel allows."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    probe = subprocess.run([unshare, "-rn", "true"], capture_output=True)
    return [unshare, "-rn"] if probe.returncode == 0 else []


def run_program(program: str, sandbox: list[str], timeout: float = EXEC_TIMEOUT_S) -> bool:
    """True when program exits 0 within timeout, run isolated in a temp dir."""
    with tempfile.TemporaryDirectory(prefix="diffill-exec-") as tmp:
        script = Path(tmp) / "sample.py"
        script.write_text(program)
        env = {"PATH": "/usr/bin:/bin", "HOME": tmp, "PYTHONDONTWRITEBYTECODE": "1"}
        try:
            proc = subprocess.run(
                [*sandbox, sys.executable, "-I", str(script)],
                cwd=tmp, env=env, capture_output=True, timeout=timeout,
                preexec_fn=_limit_child, stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            return False
        return proc.returncode == 0


@dataclass
class TaskOutcome:
    task_id: str
    completion: str
    exact: bool
    copy_exact: bool
    syntax_ok: bool
    passed: bool | None
    steps: int
    tokens_per_forward: float
    ms: float
    kind: str = ""  # the task's hole kind where it names one (bench_cut.KINDS)
    repo: str = ""
    shown: bool = False  # the engine would show its best candidate (FillResult.shown)
    confidence: float = 0.0  # the best candidate's confidence (0 without a candidate)
    source: str = ""  # "model" or "draft": where the best candidate came from


def evaluate_tasks(
    engine: InfillEngine,
    tasks: list[dict[str, str]],
    sampler: SamplerConfig | None = None,
    execute: bool = False,
    language: str = "python",
    progress: Callable[[int, int], None] | None = None,
    draft_policy: str = "prefer",
    extra_drafts: Callable[[dict[str, str]], tuple[str, ...]] | None = None,
    kind: HoleKind | None = None,
    min_confidence: float | None = None,
    candidates: int = 1,
) -> tuple[dict[str, object], list[TaskOutcome]]:
    """Fill every task through the engine; return the summary and per-task outcomes.

    Requests come from the editor's builder (`requests.cursor_request`, trigger TRIGGER).
    extra_drafts: drafts from outside the task's text (e.g. `repo_drafts.RepoDrafts`).
    kind: the hole kind to fill (None: BLOCK for tasks of kind "block", else planned from
    the syntax, as for a cursor in an editor).
    candidates: how many the request asks for (an editor's invoked default is 3); the best is scored.
    """
    settings = FillSettings(candidates=candidates, draft_policy=draft_policy,
                            sampler=sampler or SamplerConfig(), min_confidence=min_confidence)
    sandbox = sandbox_prefix() if execute else []
    outcomes: list[TaskOutcome] = []
    for i, task in enumerate(tasks):
        prompt, suffix, middle = task["prompt"], task["suffix"], task["canonical_solution"]
        req = cursor_request(prompt + suffix, len(prompt), language, TRIGGER, settings,
                             kind=kind or hole_kind_of(task),
                             extra_drafts=extra_drafts(task) if extra_drafts else ())
        result = engine.fill(req)
        completion = result.best or ""
        best = result.candidates[0] if result.candidates else None
        filled = prompt + completion + suffix
        passed = None
        if execute and task.get("test"):
            program = f"{filled}\n{task['test']}\ncheck({task['entry_point']})\n"
            passed = run_program(program, sandbox)
        outcomes.append(TaskOutcome(
            task_id=task.get("task_id", str(i)),
            completion=completion,
            exact=exact_any(completion, task),
            copy_exact=exact_any(copy_continuation(prompt, suffix), task),
            syntax_ok=not introduces_errors(prompt + middle + suffix, filled, language),
            passed=passed,
            steps=result.steps,
            tokens_per_forward=result.tokens_per_forward,
            ms=result.ms,
            kind=task.get("kind", ""),
            repo=task.get("repo", ""),
            shown=result.shown,
            confidence=best.confidence if best else 0.0,
            source=best.source if best else "",
        ))
        if progress:
            progress(i + 1, len(tasks))
    return {**summarize(outcomes), "trigger": TRIGGER.value, "candidates": settings.candidates}, outcomes


def shown_figures(outcomes: list[TaskOutcome]) -> dict[str, float | None]:
    """Coverage (share of tasks whose best candidate is shown) and precision (exact among them)."""
    shown = [o for o in outcomes if o.shown]
    return {
        "coverage": round(len(shown) / len(outcomes), 4) if outcomes else None,
        "precision": round(sum(o.exact for o in shown) / len(shown), 4) if shown else None,
    }


def summarize(outcomes: list[TaskOutcome]) -> dict[str, object]:
    n = max(len(outcomes), 1)
    ms = sorted(o.ms for o in outcomes) or [0.0]
    executed = [o.passed for o in outcomes if o.passed is not None]
    return {
        "tasks": len(outcomes),
        "exact_match": round(sum(o.exact for o in outcomes) / n, 4),
        "copy_baseline_exact_match": round(sum(o.copy_exact for o in outcomes) / n, 4),
        "pass_at_1": round(sum(executed) / len(executed), 4) if executed else None,
        "syntax_ok": round(sum(o.syntax_ok for o in outcomes) / n, 4),
        **shown_figures(outcomes),
        "latency_ms": {
            "p50": round(statistics.median(ms), 1),
            "p95": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 1),
        },
        "steps_mean": round(sum(o.steps for o in outcomes) / n, 2),
        "tokens_per_forward_mean": round(sum(o.tokens_per_forward for o in outcomes) / n, 2),
    }
