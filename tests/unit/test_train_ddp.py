"""DDP under torchrun on the CPU (gloo): the same curve as one process, resume across world
sizes, the issue's target command, and the one-call GPU script's CPU smoke run."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from test_train_data import packed_corpus

from diffill.model.checkpoint import load_checkpoint

BIN = Path(sys.executable).parent
DIFFILL = shutil.which("diffill", path=str(BIN)) or shutil.which("diffill")
TORCHRUN = shutil.which("torchrun", path=str(BIN)) or shutil.which("torchrun")
ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not (DIFFILL and TORCHRUN), reason="needs the diffill and torchrun scripts")


def tiny_args(corpus: Path, out: Path, steps: int) -> list[str]:
    return ["train", "--corpus", str(corpus), "--out", str(out), "--size", "tiny", "--steps", str(steps),
            "--batch", "8", "--canvas", "64", "--threads", "1", "--log-every", "1", "--no-bf16",
            "--heldout-examples", "8", "--warmup", "100", "--lr", "0.3", "--no-snapshots"]


def run(cmd: list[str], timeout: int = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def single(args: list[str]) -> None:
    run([str(DIFFILL), *args])


def ddp(args: list[str], n: int = 2) -> None:
    run([str(TORCHRUN), "--standalone", "--nproc-per-node", str(n), str(DIFFILL), *args])


def losses(out: Path) -> list[float]:
    return [float(r["last_loss"]) for r in csv.DictReader((out / "steps.csv").open())]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return packed_corpus(tmp_path_factory.mktemp("ddp"), n=12)


def test_two_processes_follow_the_one_process_curve_and_resume_across_world_sizes(corpus, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    single(tiny_args(corpus, one, 4))
    ddp(tiny_args(corpus, two, 4))
    a, b = losses(one), losses(two)
    assert len(a) == len(b) == 4
    assert a[-1] != a[0]  # the model moved
    assert b == pytest.approx(a, rel=1e-4)
    wa = load_file(str(one / "last" / "model.safetensors"))
    wb = load_file(str(two / "last" / "model.safetensors"))
    assert all(torch.allclose(wa[k], wb[k], atol=1e-5) for k in wa)
    log = (two / "train.log").read_text()
    assert "world size 2 (gloo)" in log and "tokens/s per device" in log
    assert json.loads((two / "last" / "diffill.json").read_text())["training"]["world_size"] == 2
    # Resume both to step 6: the two-process run continues as one process, the other as two.
    single(tiny_args(corpus, two, 6))
    ddp(tiny_args(corpus, one, 6))
    a, b = losses(one), losses(two)
    assert len(a) == len(b) == 6 and b == pytest.approx(a, rel=1e-4)
    assert "resuming" in (two / "train.log").read_text().split("world size 2 (gloo)")[-1]


def test_issue_target_command_fine_tunes_the_default_under_torchrun(tmp_path):
    corpus = packed_corpus(tmp_path / "c", n=8).parent / "jsonl"  # the JSONL form works too
    out = tmp_path / "run"
    ddp(["train", "--corpus", str(corpus), "--init", str(ROOT / "model" / "default"), "--out", str(out),
         "--steps", "4", "--batch", "8", "--threads", "1", "--heldout-examples", "8", "--no-snapshots"])
    assert "world size 2" in (out / "train.log").read_text()
    info = json.loads(run([str(DIFFILL), "model", "info", "--model", str(out / "last"), "--json"]).stdout)
    assert info["parameters"] == 6_106_624 and info["tokens_seen"] > 0


def test_gpu_script_smoke_run_on_the_cpu_within_one_minute(corpus, tmp_path):
    out = tmp_path / "out"
    bench = tmp_path / "tasks.jsonl"
    tasks = [{"task_id": "t1", "kind": "whole_line", "prompt": "def add(a, b):\n    ",
              "canonical_solution": "return a + b", "suffix": "\n\n\nprint(add(1, 2))\n"},
             {"task_id": "t2", "kind": "block", "prompt": "for i in range(3):\n",
              "canonical_solution": "    x = i\n    print(x)\n", "suffix": "print('done')\n"}]
    bench.write_text("".join(json.dumps(t) + "\n" for t in tasks))
    # A plain interpreter, as on the GPU machine: the script imports model/ from the checkout.
    done = run([sys.executable, "-I", str(ROOT / "model" / "gpu_run.py"), "--out", str(out), "--minutes", "1",
                "--size", "tiny", "--canvas", "64", "--device", "cpu", "--corpus", str(corpus),
                "--bench", str(bench), "--baseline", "none", "--threads", "1",
                "--heldout-examples", "16"], timeout=120)
    summary = json.loads(done.stdout)
    assert summary["wall_seconds"] <= 60 and summary["steps"] > 0 and summary["tokens_per_s_per_device"] > 0
    assert {"model", "train.log", "steps.csv", "eval.json", "summary.json"} <= {p.name for p in out.iterdir()}
    figures = json.loads((out / "eval.json").read_text())["model"]["tasks"]
    assert figures["all"]["tasks"] == 2 and figures["all"]["single_line_tasks"] == 1
    assert 0 <= figures["all"]["hole_token_acc"] <= 1 and figures["block"]["single_line_tasks"] == 0
    model, _, meta = load_checkpoint(out / "model")
    assert meta.canvas == 64 and meta.training["steps"] == summary["steps"]
