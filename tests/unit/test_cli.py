from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from diffill.lsp.cli import main

CODE = "def add(a, b):\n    return a + b\n\n\ndef twice(x):\n    return <|fill|>\n"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "diffill.lsp.cli", *args], input=stdin,
                          capture_output=True, text=True, timeout=300)


def test_fill_json_reports_edits_and_metadata(tmp_path: Path, capsys):
    f = tmp_path / "a.py"
    f.write_text("def add(a, b):\n    return a + b\n\nx = add(1, \n")
    assert main(["fill", str(f), "--at", "4:12", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["range"]["start"] == {"line": 4, "col": 12}
    assert {"steps", "tokens_per_forward", "ms", "edits"} <= out.keys()


def test_fill_prints_whole_file(tmp_path: Path, capsys):
    f = tmp_path / "a.py"
    f.write_text("x = 1\ny = x\n")
    assert main(["fill", str(f), "--at", "2:6"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("x = 1\ny = x")


def test_holes_check_write_and_diff(tmp_path: Path, capsys):
    f = tmp_path / "m.py"
    f.write_text(CODE)
    # Every hole filled (however unsure), so the diff has a line to show.
    assert main(["fill", str(f), "--holes", "--check", "--min-confidence", "0"]) == 1
    assert "<|fill|>" in f.read_text()  # --check writes nothing
    assert "-    return <|fill|>" in capsys.readouterr().out
    # A hole the engine is not sure about stays marked, and stderr says so.
    assert main(["fill", str(f), "--holes", "--write", "--min-confidence", "1"]) == 0
    assert f.read_text() == CODE
    assert "1 of 1 holes left marked" in capsys.readouterr().err
    assert main(["fill", str(tmp_path), "--holes", "--write", "--min-confidence", "0"]) == 0
    assert "<|fill|>" not in f.read_text()
    assert main(["fill", str(f), "--holes", "--check"]) == 0


@pytest.mark.parametrize(("content", "message"), [
    (b"\xff\xfe bad", "UTF-8"), (b"abc\x00def", "binary"),
])
def test_bad_files_are_clear_errors(tmp_path: Path, capsys, content, message):
    f = tmp_path / "bad.py"
    f.write_bytes(content)
    assert main(["fill", str(f), "--at", "1:1"]) == 2
    assert message in capsys.readouterr().err


def test_huge_file_is_refused(tmp_path: Path, capsys):
    f = tmp_path / "big.py"
    f.write_text("x = 1\n" * 400_000)
    assert main(["fill", str(f), "--at", "1:1"]) == 2
    assert "larger than" in capsys.readouterr().err


@pytest.mark.parametrize("at", ["9:1", "1:99", "x:y", "0:1"])
def test_bad_positions_are_clear_errors(tmp_path: Path, capsys, at):
    f = tmp_path / "a.py"
    f.write_text("x = 1\n")
    assert main(["fill", str(f), "--at", at]) == 2
    assert "diffill:" in capsys.readouterr().err


def test_missing_model_is_exit_3(tmp_path: Path, capsys):
    f = tmp_path / "a.py"
    f.write_text("x = 1\n")
    assert main(["fill", str(f), "--at", "1:1", "--model", str(tmp_path / "none")]) == 3
    assert "does not exist" in capsys.readouterr().err


def test_stdin_input_and_model_info():
    proc = run("fill", "-", "--at", "1:5", stdin="x = 1\n")
    assert proc.returncode == 0 and proc.stdout.startswith("x = ")
    info = run("model", "info", "--json")
    data = json.loads(info.stdout)
    assert data["architecture"] == "ModernBertForMaskedLM" and data["vocabulary"] >= 8000


def test_eval_on_tasks(tmp_path: Path, capsys):
    tasks = tmp_path / "t.jsonl"
    tasks.write_text(json.dumps({"task_id": "t/0", "prompt": "def f(x):\n    return ",
                                 "suffix": "\n", "canonical_solution": "x",
                                 "test": "def check(f):\n    assert f(1) == 1\n",
                                 "entry_point": "f"}) + "\n")
    out = tmp_path / "s.jsonl"
    assert main(["eval", str(tasks), "--exec", "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["tasks"] == 1 and summary["pass_at_1"] in (0.0, 1.0)
    assert json.loads(out.read_text())["task_id"] == "t/0"


def test_holes_take_drafts_from_the_other_files(tmp_path: Path, capsys, monkeypatch):
    # Without the corpus index, whose counts depend on the packages installed (a fresh CI
    # venv's corpus made `seed=0` outrank the other file's value): the subject is the workspace.
    monkeypatch.setenv("DIFFILL_CORPUS_INDEX", "0")
    (tmp_path / "helper.py").write_text(
        "def helper(buffer):\n    value = zeta_checksum(buffer, seed=0x5EED)\n    return value\n")
    f = tmp_path / "main.py"
    # After `seed=` only the other file knows the value: no other source can write it.
    f.write_text("def main(buffer):\n    value = zeta_checksum(buffer, seed=<|fill|>)\n    return value\n")
    assert main(["fill", str(tmp_path), "--holes", "--no-index", "--diff"]) == 0
    assert "0x5EED)" not in capsys.readouterr().out  # the model alone cannot know it
    # With the index the other file's line is a candidate; this tiny model is not sure of
    # it (its own score of `0x5EED` is low), so the engine would leave the hole marked.
    assert main(["fill", str(tmp_path), "--holes", "--write", "--min-confidence", "0"]) == 0
    assert "    value = zeta_checksum(buffer, seed=0x5EED)\n" in f.read_text()


def test_range_rewrite_strength(tmp_path: Path, capsys):
    f = tmp_path / "a.py"
    f.write_text("def add(a, b):\n    return a + b\n")
    # Strength 0 keeps the range as it is; an out-of-range strength is an input error.
    assert main(["fill", str(f), "--at", "2:12", "--to", "2:17", "--strength", "0"]) == 0
    assert capsys.readouterr().out == "def add(a, b):\n    return a + b\n"
    assert main(["fill", str(f), "--at", "2:12", "--to", "2:17", "--strength", "2"]) == 2
    assert "--strength" in capsys.readouterr().err


def test_zero_candidates_is_an_input_error(tmp_path: Path, capsys):
    f = tmp_path / "a.py"
    f.write_text("def add(a, b):\n    return a + b\n")
    assert main(["fill", str(f), "--at", "2:12", "--n", "0"]) == 2
    assert "--n" in capsys.readouterr().err


def write_tasks(path: Path, n: int) -> None:
    rows = [{"task_id": f"t/{i}", "prompt": f"def f{i}(x):\n    return ", "suffix": "\n",
             "canonical_solution": "x"} for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_sweep_and_curve_take_a_sample(tmp_path: Path, capsys):
    from diffill.model.paths import DEFAULT_CHECKPOINT

    tasks = tmp_path / "t.jsonl"
    write_tasks(tasks, 5)
    assert main(["sweep", str(tasks), "--sample", "2", "--thresholds", "0.5", "1.01",
                 "--drafts", "off", "--no-null-tail", "--line-max-steps", "64"]) == 0
    rows = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [r["threshold"] for r in rows] == [0.5, 1.01] and all(r["tasks"] == 2 for r in rows)
    # One-token-per-step decoding (threshold above 1) commits at most one slot per pass.
    assert rows[1]["tokens_per_forward_mean"] <= 1.0

    run = tmp_path / "run"
    (run / "snapshots").mkdir(parents=True)
    (run / "snapshots" / "step-0000001").symlink_to(DEFAULT_CHECKPOINT)
    assert main(["curve", str(run), "--tasks", str(tasks), "--sample", "3", "--drafts", "off"]) == 0
    curve = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [r["snapshot"] for r in curve] == ["step-0000001"]
    assert (run / "em_curve.csv").exists()

    # A shared --out CSV keeps earlier runs' rows and keys snapshots by run folder.
    shared = tmp_path / "lineage.csv"
    shared.write_text("snapshot,drafts,cpu_hours,exact_match\nstep-0000001,off,1.0,0.5\n")
    assert main(["curve", str(run), "--tasks", str(tasks), "--sample", "3", "--drafts", "off",
                 "--out", str(shared)]) == 0
    curve = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [(r.get("run", ""), r["snapshot"]) for r in curve] == [("", "step-0000001"),
                                                                ("run", "step-0000001")]
    # The shipped model's lineage compute (two GPU runs), not the snapshot run's own.
    assert float(curve[1]["gpu_hours"]) >= 0.17


def test_eval_kind_block_fills_several_lines(tmp_path: Path, capsys):
    tasks = tmp_path / "t.jsonl"
    tasks.write_text(json.dumps({"task_id": "t/0", "prompt": "def f(x):\n", "suffix": "\n\nprint(f(2))\n",
                                 "canonical_solution": "    y = x\n    return y\n"}) + "\n")
    out = tmp_path / "s.jsonl"
    assert main(["eval", str(tasks), "--kind", "block", "--drafts", "off", "--max-steps", "8",
                 "--out", str(out)]) == 0
    row = json.loads(out.read_text())
    assert row["steps"] >= 1  # a block hole: the engine ran its block loop on the model
    with pytest.raises(SystemExit):
        main(["eval", str(tasks), "--kind", "sideways"])
