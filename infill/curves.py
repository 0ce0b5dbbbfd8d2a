"""Measured curves: exact match per training snapshot, and quality against speed.

`exact_match_curve` evaluates every weight snapshot a training run saved on the same
held-out tasks (exact match against CPU-hours, for the model card). `threshold_sweep`
varies the commit threshold (exact match against tokens per forward pass).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from diffill.model.checkpoint import lineage_totals
from diffill.model.denoiser import MaskedLMDenoiser

from .engine import InfillEngine
from .evaluate import evaluate_tasks
from .sampler import SamplerConfig


def snapshot_dirs(run: Path) -> list[Path]:
    return sorted(p for p in (run / "snapshots").glob("step-*") if (p / "model.safetensors").exists())


def exact_match_curve(
    run: Path, tasks: list[dict[str, str]], sampler: SamplerConfig, log: Callable[[str], None],
    draft_policy: str = "prefer", out: Path | None = None,
) -> list[dict[str, object]]:
    """Evaluate each snapshot of RUN not yet in OUT (default RUN/em_curve.csv); returns all rows.

    Rows are keyed by run folder name and snapshot, so one OUT can hold the curve of a
    whole lineage (a run and the runs fine-tuned from it); `cpu_hours` counts the lineage.
    """
    out = out or run / "em_curve.csv"
    rows: list[dict[str, object]] = list(csv.DictReader(out.open())) if out.exists() else []
    done = {(str(r.get("run", "")), str(r["snapshot"])) for r in rows}
    for snap in snapshot_dirs(run):
        if (run.name, snap.name) in done:
            continue
        engine = InfillEngine(MaskedLMDenoiser(snap, device="cpu"))
        summary, _ = evaluate_tasks(engine, tasks, sampler, draft_policy=draft_policy)
        training = json.loads((snap / "diffill.json").read_text()).get("training", {})
        lineage = lineage_totals(training)
        row: dict[str, object] = {
            "run": run.name,
            "snapshot": snap.name,
            "drafts": draft_policy,
            "cpu_hours": lineage["cpu_hours"],
            "gpu_hours": lineage["gpu_hours"],
            "tokens_seen": int(lineage["tokens_seen"]),
            "heldout_loss": training.get("heldout_loss"),
            "exact_match": summary["exact_match"],
            "copy_baseline_exact_match": summary["copy_baseline_exact_match"],
            "syntax_ok": summary["syntax_ok"],
        }
        rows.append(row)
        log(json.dumps(row))
        write_rows(out, rows)
    if rows:
        plot(rows, "cpu_hours", "exact_match", out.with_suffix(".png"), "CPU-hours",
             baseline="copy_baseline_exact_match")
    return rows


def threshold_sweep(
    engine: InfillEngine,
    tasks: list[dict[str, str]],
    sampler: SamplerConfig,
    thresholds: list[float],
    log: Callable[[str], None],
    draft_policy: str = "prefer",
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for th in thresholds:
        engine.cache.clear()
        summary, _ = evaluate_tasks(engine, tasks, replace(sampler, threshold=th),
                                    draft_policy=draft_policy)
        row: dict[str, object] = {"threshold": th, **summary}
        rows.append(row)
        log(json.dumps(row))
    return rows


def write_rows(path: Path, rows: list[dict[str, object]]) -> None:
    # Older rows may lack newer columns (restval fills them), so take the union of keys.
    fields = list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows(rows)


def plot(rows: list[dict[str, object]], x: str, y: str, png: Path, xlabel: str,
         baseline: str | None = None) -> None:
    """Line plot of y against x (skipped quietly if matplotlib is absent)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    pts = sorted((float(str(r[x])), float(str(r[y]))) for r in rows if r.get(x) not in (None, ""))
    if not pts:
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=y.replace("_", " "))
    if baseline:
        base = [float(str(r[baseline])) for r in rows if r.get(baseline) not in (None, "")]
        if base:
            ax.axhline(base[-1], color="gray", linestyle="--", label="copy baseline")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(y.replace("_", " "))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
