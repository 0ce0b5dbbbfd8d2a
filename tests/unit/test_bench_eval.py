"""`diffill eval --bench`: per-kind figures, shown marks and the real shipped model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from diffill.infill.bench_eval import bench_summary, by_kind
from diffill.lsp.cli import main


def row(kind: str, exact: bool, shown: bool, model_exact: bool = False, copy: bool = False) -> dict:
    return {"kind": kind, "exact": exact, "shown": shown, "model_exact": model_exact,
            "model_shown": True, "copy_exact": copy, "syntax_ok": True, "ms": 1.0, "model_ms": 2.0}


def test_figures_per_kind_and_shown_precision():
    rows = [row("whole_line", True, True, model_exact=True), row("whole_line", False, False, copy=True),
            row("rest_of_line", False, True), row("rest_of_line", True, True),
            row("block", False, False)]
    figures = by_kind(rows)
    assert set(figures) == {"whole_line", "rest_of_line", "block", "single_line", "all"}
    single = figures["single_line"]
    assert single["tasks"] == 4 and single["engine_exact"] == 0.5 and single["model_exact"] == 0.25
    assert single["copy_exact"] == 0.25 and single["coverage"] == 0.75
    assert single["precision"] == round(2 / 3, 4)  # exact among the shown
    assert figures["block"]["coverage"] == 0.0 and figures["block"]["precision"] is None
    assert single["surest_40_precision"] is None  # these rows carry no confidence
    summary = bench_summary("x", rows)
    assert summary["tasks"] == 5 and summary["latency_ms"]["p50"] == 1.0


def test_precision_of_the_surest_share_whatever_the_threshold():
    rows = [{**row("whole_line", exact, False), "confidence": c}
            for exact, c in ((True, 0.9), (False, 0.8), (True, 0.7), (True, 0.1), (False, 0.05))]
    figures = by_kind(rows)["whole_line"]
    assert figures["coverage"] == 0.0 and figures["precision"] is None
    assert figures["surest_40_precision"] == 0.5  # the two surest: 0.9 right, 0.8 wrong


def test_eval_bench_smoke_with_the_shipped_model(tmp_path: Path, capsys):
    out = tmp_path / "rows.jsonl"
    assert main(["eval", "--bench", "smoke", "--limit", "3", "--max-steps", "8", "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["bench"] == "smoke" and summary["tasks"] == 3
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 3
    for r in rows:
        assert isinstance(r["shown"], bool) and isinstance(r["model_shown"], bool)
        assert 0.0 <= r["confidence"] <= 1.0 and r["repo"] == "smoke"
        assert r["kind"] in ("whole_line", "rest_of_line")
        assert r["exact"] == (r["completion"].rstrip() in r["expected"])
    figures = summary["by_kind"]["all"]
    assert figures["engine_exact"] == round(sum(r["exact"] for r in rows) / 3, 4)
    assert figures["coverage"] == round(sum(r["shown"] for r in rows) / 3, 4)
    assert summary["by_kind"]["single_line"]["tasks"] == 3


def test_eval_needs_a_file_or_a_bench(capsys):
    assert main(["eval"]) == 2
    assert "--bench" in capsys.readouterr().err


def test_an_invoked_request_for_several_candidates_scores_as_one(tmp_path: Path, capsys):
    # An editor's invoked request asks for 3 candidates by default: its best line, its
    # confidence and whether it is shown are what the one-candidate benchmark measured.
    rows = {}
    for n in (1, 3):
        out = tmp_path / f"rows{n}.jsonl"
        args = ["eval", "--bench", "smoke", "--limit", "6", "--candidates", str(n), "--out", str(out)]
        assert main(args) == 0
        summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert summary["engine"]["candidates"] == n
        rows[n] = [json.loads(line) for line in out.read_text().splitlines()]
    keys = ("task_id", "completion", "confidence", "shown", "exact")
    assert [[r[k] for k in keys] for r in rows[3]] == [[r[k] for k in keys] for r in rows[1]]
    with pytest.raises(SystemExit) as exit_info:  # argparse: a usage error
        main(["eval", "--bench", "smoke", "--candidates", "9"])
    assert exit_info.value.code == 2 and "--candidates" in capsys.readouterr().err
