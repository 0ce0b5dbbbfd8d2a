"""The ranker's score (linear plus a hidden layer) and the fit that writes ranker.json."""

from __future__ import annotations

import importlib.util
import math
import sys
from dataclasses import asdict, replace
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from diffill.infill.ranking import FEATURE_NAMES, Features, HiddenLayer, Ranker, default_ranker

FIT_SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "scripts" / "fit_ranker.py"


@pytest.fixture(scope="module")
def fit_ranker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fit_ranker", FIT_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fit_ranker"] = module
    spec.loader.exec_module(module)
    return module


def test_the_shipped_ranker_scores_with_its_hidden_layer():
    ranker = default_ranker()
    assert ranker.hidden is not None
    assert len(ranker.hidden.mean) == len(FEATURE_NAMES) == len(ranker.weights)
    pool = [Features(denoiser=-1.0, copy=True, draft_rank=0, draft_chars=40, sources=2),
            Features(denoiser=-4.0, model=True, sources=1)]
    linear = replace(ranker, hidden=None)
    # The hidden layer moves the scores, and the probabilities stay a share against "none".
    x = np.array([f.vector() for f in pool])
    assert not np.allclose(ranker.scores(x), linear.scores(x))
    p = ranker.probabilities(pool)
    assert 0.0 < sum(p) < 1.0 and p[0] > p[1]
    assert ranker.probability(pool[0]) == pytest.approx(1 / (1 + math.exp(-ranker.score(pool[0]))))


def test_an_empty_pool_has_no_probabilities():
    assert default_ranker().probabilities([]) == []


def test_the_hidden_layer_adds_the_sum_of_its_units():
    hidden = HiddenLayer(mean=(1.0, 0.0), scale=(2.0, 1.0), weights=((1.0, 0.0), (0.0, -1.0)),
                         bias=(0.0, 0.5), out=(2.0, 1.0))
    ranker = Ranker((0.5, 0.0), -1.0, 0.5, hidden=hidden)
    x = np.array([[3.0, 2.0]])
    expected = -1.0 + 1.5 + 2.0 * math.tanh(1.0) + 1.0 * math.tanh(-2.0 + 0.5)
    assert ranker.scores(x)[0] == pytest.approx(expected)


def _task(i: int, right: tuple[bool, bool]) -> dict:
    """A hole whose right candidate has exactly one of two flags: a choice no linear score makes."""
    cands = []
    for copy, workspace in [(True, True), right, (False, False)]:
        f = Features(copy=copy, workspace=workspace, sources=1)
        cands.append({"text": f"{copy}{workspace}", "label": (copy, workspace) == right, **asdict(f)})
    return {"task_id": f"repo{i % 4}/t{i}", "kind": "whole_line", "cands": cands}


def test_the_hidden_layer_learns_what_a_linear_score_cannot(fit_ranker):
    tasks = [_task(i, (True, False) if i % 2 else (False, True)) for i in range(200)]
    w, b = fit_ranker.fit(tasks, 1e-4)
    linear = sum(exact for _, exact in fit_ranker.top1(tasks, w, b)) / len(tasks)
    ranker = fit_ranker.fit_hidden(tasks, 1e-3, units=8)
    hidden = sum(exact for _, exact in fit_ranker.top1_of(tasks, ranker)) / len(tasks)
    assert linear <= 0.5 < 0.95 <= hidden
    # Seeded: the same pools give the same ranker.
    assert fit_ranker.fit_hidden(tasks, 1e-3, units=8) == ranker


def test_the_fit_reports_a_pool_of_inadmissible_candidates_as_never_shown(fit_ranker):
    broken = Features(denoiser=-0.5, copy=True, draft_rank=0, sources=3, breaks_below=True)
    task = {"task_id": "r/t", "kind": "whole_line",
            "cands": [{"text": "try:", "label": False, **asdict(broken)}]}
    # The engine ranks it first (nothing else) and never shows it: confidence 0.
    assert fit_ranker.top1_of([task], default_ranker()) == [(0.0, False)]
    fine = {**task, "cands": [{**task["cands"][0], "breaks_below": False}]}
    (confidence, _), = fit_ranker.top1_of([fine], default_ranker())
    assert confidence > 0.0
    counts = fit_ranker.never_shown_counts([task, fine])
    assert counts["breaks_below"] == "0 of 1" and counts["right_answers_that_parse"] == "0"
