"""`diffill eval --bench NAME`: the model alone, the default engine and the copy floor, per kind.

Two passes over the same tasks on the engine's own path (evaluate.evaluate_tasks):
- `model`: drafts off and no workspace: what the denoiser alone writes;
- `engine`: the draft policy asked for (default "prefer") with the workspace index of each
  task's project (repo_drafts.RepoDrafts, the task's own file left out), as in an editor.
The copy floor (copy_baseline) needs no model. For each pass, coverage is the share of tasks
whose best candidate the engine would show (FillResult.shown) and precision the exact share
among those; the precision of the surest 40% (by the engine's confidence) compares engines
whatever threshold each shows at.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from .bench_cut import KINDS, SINGLE_LINE_KINDS
from .drafts.repo import RepoDrafts
from .engine import InfillEngine
from .evaluate import TRIGGER, TaskOutcome, evaluate_tasks
from .sampler import SamplerConfig


def rate(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def surest_precision(rows: list[dict[str, Any]], share: float) -> float | None:
    """Exact share among the tasks the engine is surest of (None: rows without a confidence).

    One point of the precision-coverage curve, whatever the display threshold.
    """
    k = round(share * len(rows))
    if k == 0 or any("confidence" not in r for r in rows):
        return None
    return rate([r["exact"] for r in sorted(rows, key=lambda r: -r["confidence"])[:k]])


def group_figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of one group of `outcome_row` rows."""
    shown = [r for r in rows if r["shown"]]
    model_shown = [r for r in rows if r["model_shown"]]
    return {
        "tasks": len(rows),
        "model_exact": rate([r["model_exact"] for r in rows]),
        "engine_exact": rate([r["exact"] for r in rows]),
        "copy_exact": rate([r["copy_exact"] for r in rows]),
        "coverage": rate([r["shown"] for r in rows]),
        "precision": rate([r["exact"] for r in shown]),
        "surest_40_precision": surest_precision(rows, 0.4),
        "model_coverage": rate([r["model_shown"] for r in rows]),
        "model_precision": rate([r["model_exact"] for r in model_shown]),
        "engine_syntax_ok": rate([r["syntax_ok"] for r in rows]),
    }


def by_kind(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Figures per hole kind, for single-line kinds together, and over all tasks.

    Computed from the rows alone, so a saved `--out` file can be summarised again.
    """
    groups: dict[str, Any] = {}
    for name, kinds in [*((k, (k,)) for k in KINDS), ("single_line", SINGLE_LINE_KINDS)]:
        picked = [r for r in rows if r["kind"] in kinds]
        if picked:
            groups[name] = group_figures(picked)
    groups["all"] = group_figures(rows)
    return groups


def outcome_row(task: dict[str, str], model: TaskOutcome, engine: TaskOutcome) -> dict[str, Any]:
    """One --out row: the engine's answer and marks, the model-alone answer beside it."""
    return {
        "task_id": engine.task_id, "kind": engine.kind, "repo": engine.repo,
        "path": task.get("path", ""),
        "completion": engine.completion, "exact": engine.exact, "shown": engine.shown,
        "confidence": round(engine.confidence, 4), "source": engine.source,
        "syntax_ok": engine.syntax_ok, "steps": engine.steps, "ms": round(engine.ms, 1),
        "model_completion": model.completion, "model_exact": model.exact,
        "model_shown": model.shown, "model_confidence": round(model.confidence, 4),
        "model_ms": round(model.ms, 1),
        "copy_exact": engine.copy_exact,
        "expected": task.get("accepted") or task["canonical_solution"],
    }


def run_bench(
    engine: InfillEngine,
    name: str,
    tasks: list[dict[str, str]],
    workspace: list[tuple[str, str]],
    sampler: SamplerConfig,
    draft_policy: str = "prefer",
    progress: Callable[[int, int], None] | None = None,
    candidates: int = 1,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(summary, rows) of both passes over a benchmark's tasks, each request asking for `candidates`."""
    _, model = evaluate_tasks(engine, tasks, sampler, progress=progress, draft_policy="off",
                              candidates=candidates)
    extra = RepoDrafts(workspace) if workspace else None
    _, default = evaluate_tasks(engine, tasks, sampler, progress=progress,
                                draft_policy=draft_policy, extra_drafts=extra, candidates=candidates)
    rows = [outcome_row(t, m, e) for t, m, e in zip(tasks, model, default, strict=True)]
    return bench_summary(name, rows, draft_policy, len(workspace), candidates), rows


def bench_summary(name: str, rows: list[dict[str, Any]], draft_policy: str = "prefer",
                  workspace_files: int = 0, candidates: int = 1) -> dict[str, Any]:
    """The printed summary of `diffill eval --bench` (from its rows)."""
    return {
        "bench": name,
        "tasks": len(rows),
        "engine": {"drafts": draft_policy, "workspace_files": workspace_files, "trigger": TRIGGER.value,
                   "candidates": candidates},
        "by_kind": by_kind(rows),
        "latency_ms": percentiles([r["ms"] for r in rows]),
        "model_latency_ms": percentiles([r["model_ms"] for r in rows]),
    }


def percentiles(ms: list[float]) -> dict[str, float]:
    ms = sorted(ms) or [0.0]
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    return {"p50": round(statistics.median(ms), 1), "p95": round(p95, 1)}
