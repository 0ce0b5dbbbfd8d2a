"""The one request builder: trigger policy, ranges, and every caller going through it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from diffill.infill import cli
from diffill.infill.api import FillRequest, FillResult, StopSignal
from diffill.infill.evaluate import evaluate_tasks
from diffill.infill.markers import DEFAULT_MARKER, fill_markers
from diffill.infill.requests import (
    MAX_BLOCKS_INVOKED,
    FillSettings,
    Trigger,
    cursor_request,
    fit,
    hole_plan,
    range_request,
    takes_drafts,
)
from diffill.infill.syntax import HoleKind
from diffill.lsp.cli import main
from diffill.lsp.config import Settings

TEXT = "def add(a, b):\n    return a + b\n\nx = add(1, \n"
CURSOR = len(TEXT) - 1  # after `add(1, `: the rest of a line
SETTINGS = FillSettings(candidates=3, line_budget=12, block_budget=40)


def test_typed_invoked_and_completion_requests_follow_the_policy() -> None:
    typed, invoked, completion = (cursor_request(TEXT, CURSOR, "python", t, SETTINGS, extra_drafts=("b)",))
                                  for t in (Trigger.TYPED, Trigger.INVOKED, Trigger.COMPLETION))
    assert (typed.n, typed.max_blocks) == (1, 1)  # typing: one cheap candidate
    assert (invoked.n, invoked.max_blocks) == (3, MAX_BLOCKS_INVOKED)  # asked for: the configured number
    assert (completion.n, completion.max_blocks) == (3, 1)
    for req in (typed, invoked, completion):
        assert req.kind is HoleKind.REST_OF_LINE and req.slots == 12 and req.end is None
        assert req.extra_drafts == ("b)",)


def test_an_explicit_block_is_one_line_only_as_a_completion_item() -> None:
    typed, invoked, completion = (cursor_request(TEXT, CURSOR, "python", t, SETTINGS, kind=HoleKind.BLOCK)
                                  for t in (Trigger.TYPED, Trigger.INVOKED, Trigger.COMPLETION))
    assert (typed.kind, typed.slots, typed.max_blocks) == (HoleKind.BLOCK, 40, 1)
    assert (invoked.kind, invoked.slots, invoked.max_blocks) == (HoleKind.BLOCK, 40, MAX_BLOCKS_INVOKED)
    assert (completion.kind, completion.slots) == (HoleKind.LINE, 12)
    block = hole_plan(TEXT, CURSOR, "python", HoleKind.BLOCK)
    assert not takes_drafts(block, Trigger.TYPED) and not takes_drafts(block, Trigger.INVOKED)
    assert takes_drafts(block, Trigger.COMPLETION)
    assert takes_drafts(hole_plan(TEXT, CURSOR, "python"), Trigger.TYPED)


def test_a_range_is_a_range_rewrite() -> None:
    req = range_request(TEXT, 15, 31, "python", FillSettings(strength=0.5), n=2)
    assert (req.kind, req.start, req.end, req.n, req.strength) == (HoleKind.RANGE, 15, 31, 2, 0.5)
    assert range_request(TEXT, 15, 31, "python", FillSettings(), strength=0.0).strength == 0.0
    assert range_request(TEXT, 15, 15, "python", FillSettings()).kind is None  # empty: a cursor


def test_server_settings_convert_field_by_field() -> None:
    s = Settings(candidates=5, line_budget=9, block_budget=30, draft_policy="score", min_confidence=0.2,
                 rewrite_strength=0.3)
    req = cursor_request(TEXT, CURSOR, "python", Trigger.INVOKED, s.fill_settings())
    assert (req.n, req.slots, req.draft_policy, req.min_confidence) == (5, 9, "score", 0.2)
    assert range_request(TEXT, 15, 31, "python", s.fill_settings()).strength == 0.3


def test_fit_keeps_a_budget_inside_the_canvas() -> None:
    req = cursor_request(TEXT, CURSOR, "python", Trigger.TYPED, FillSettings(line_budget=200))
    assert fit(req, 256).slots == 128 and fit(req, 512).slots == 200


@dataclass
class Denoiser:
    max_canvas: int = 512


@dataclass
class RecordingEngine:
    """Stands in for InfillEngine: records each request and fills nothing."""

    denoiser: Denoiser = field(default_factory=Denoiser)
    requests: list[FillRequest] = field(default_factory=list)

    def fill(self, req: FillRequest, stop: StopSignal | None = None) -> FillResult:
        self.requests.append(req)
        end = req.start if req.end is None else req.end
        return FillResult(start=req.start, end=end, kind=req.kind or HoleKind.LINE, candidates=[])


def test_eval_fills_as_an_invoked_request_and_says_so() -> None:
    engine = RecordingEngine()
    tasks = [{"prompt": TEXT[:CURSOR], "suffix": TEXT[CURSOR:], "canonical_solution": "2)"},
             {"prompt": "if x:\n", "suffix": "\n", "canonical_solution": "    y = 1\n    z = 2",
              "kind": "block"}]
    summary, _ = evaluate_tasks(engine, tasks, draft_policy="off",  # type: ignore[arg-type]
                                extra_drafts=lambda task: ("2)",))
    assert (summary["trigger"], summary["candidates"]) == ("invoked", 1)
    line, block = engine.requests
    settings = FillSettings(draft_policy="off")
    assert line == cursor_request(TEXT, CURSOR, "python", Trigger.INVOKED, settings, extra_drafts=("2)",))
    # A block task stays a block of several canvases, with its drafts, as before the builder.
    assert (block.kind, block.max_blocks, block.n, block.extra_drafts) == (
        HoleKind.BLOCK, MAX_BLOCKS_INVOKED, 1, ("2)",))


def test_markers_fill_each_hole_as_an_invoked_request_for_one_candidate() -> None:
    engine = RecordingEngine()
    text = f"x = {DEFAULT_MARKER}\ny = {DEFAULT_MARKER}\n"
    fill_markers(engine, text, DEFAULT_MARKER, language="python",  # type: ignore[arg-type]
                 settings=FillSettings(candidates=3, line_budget=400))
    assert len(engine.requests) == 2
    for req in engine.requests:
        assert (req.n, req.max_blocks, req.forbidden) == (1, MAX_BLOCKS_INVOKED, DEFAULT_MARKER)
        assert req.slots == 256  # kept inside the canvas
    assert engine.requests[0] == cursor_request("x = \ny = <|fill|>\n", 4, "python", Trigger.INVOKED,
                                                FillSettings(line_budget=256), forbidden=DEFAULT_MARKER)


@pytest.mark.parametrize("to", [None, "2:17"])
def test_cli_fill_builds_an_invoked_cursor_or_a_range_request(tmp_path: Path, capsys, monkeypatch,
                                                               to: str | None) -> None:
    engine = RecordingEngine()
    monkeypatch.setattr(cli, "load_engine", lambda args: engine)
    f = tmp_path / "a.py"
    f.write_text(TEXT)
    extra = ["--to", to] if to else []
    assert main(["fill", str(f), "--at", "2:5", *extra, "--n", "2", "--drafts", "off", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["edits"] == []
    settings = FillSettings(candidates=2, draft_policy="off")
    want = (cursor_request(TEXT, 19, "python", Trigger.INVOKED, settings) if to is None
            else range_request(TEXT, 19, 31, "python", settings))
    assert engine.requests == [want]
