"""One call that trains the best denoiser it can in a fixed wall-clock budget, then evaluates it.

    python model/gpu_run.py --out OUT                  # NVIDIA GPU, 8 minutes, size `small`
    python model/gpu_run.py --out OUT2 --init OUT/model --lr 8e-4 --warmup 100   # continue it
    python model/gpu_run.py --out OUT --minutes 1 --size tiny --device cpu   # CPU smoke run

Runs from a plain checkout: it imports `diffill.model` from the folder it sits in, so nothing
needs installing beyond torch, transformers, safetensors, numpy and tokenizers (no
tree-sitter, no pygls). It needs the packed corpus (`diffill model pack`, default
`data/packed`, ~25 MB: the one git-ignored path to carry to the GPU machine), which holds the
tokenizer and, when it was packed with one, the held-out-repository tasks.

OUT receives:
  model/         the shippable checkpoint (bf16 when fp32 would exceed 40 MB; loads as fp32)
  train.log, steps.csv, log.csv, loss.png    the training log
  eval.json      the model alone on the held-out-repository tasks, beside the shipped default
  summary.json   what ran, on what, for how long, at what rate, and where it ended
The full engine evaluation (drafts, syntax checks, ranking) needs tree-sitter: back on the CPU,
`diffill eval --bench repos --model OUT/model`.

The budget counts from process start: imports, data and model setup, training, the final
checkpoint, export and evaluation all fit in `--minutes`.
"""

from __future__ import annotations

import time

STARTED = time.monotonic()

import argparse  # noqa: E402  (the clock starts before the imports it pays for)
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import types  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

HERE = Path(__file__).resolve().parent  # model/
ROOT = HERE.parent


def import_checkout() -> None:
    """Register this checkout's model/ folder as the `diffill.model` package."""
    if "diffill.model" in sys.modules:
        return
    # Run as a script, model/ is sys.path[0]: its modules (data, train, ...) must not shadow
    # top-level names other libraries import.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
    pkg = sys.modules.get("diffill")
    if pkg is None:
        pkg = types.ModuleType("diffill")
        pkg.__path__ = []
        sys.modules["diffill"] = pkg
    spec = importlib.util.spec_from_file_location(
        "diffill.model", HERE / "__init__.py", submodule_search_locations=[str(HERE)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["diffill.model"] = module
    spec.loader.exec_module(module)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--minutes", type=float, default=8.0, help="wall-clock budget of the whole call")
    p.add_argument("--corpus", type=Path, default=ROOT / "data" / "packed", help="packed corpus folder")
    p.add_argument("--bench", type=Path,
                   help="tasks (JSONL or packed .jsonl.xz); default: the corpus's bench.jsonl.xz, "
                        "else data/bench/repos.jsonl")
    p.add_argument("--bench-limit", type=int, help="evaluate only the first N tasks")
    p.add_argument("--baseline", default=str(HERE / "default"),
                   help="checkpoint evaluated beside the new one ('none' to skip)")
    # small and a 128-token canvas: what the CPU engine runs fast; at a few GPU-minutes small
    # also beat base (MODEL_CARD.md, "Compute").
    p.add_argument("--size", default="small", help="model size preset (model/presets.py) or JSON file")
    p.add_argument("--init", type=Path, help="fine-tune this checkpoint instead of a fresh model")
    p.add_argument("--canvas", type=int, default=128)
    p.add_argument("--batch", type=int, help="global batch (default: by device memory)")
    p.add_argument("--lr", type=float, default=1.5e-3)
    p.add_argument("--warmup", type=int, default=300)
    p.add_argument("--device", default="auto", help="auto, cuda or cpu")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                   help="torch.compile the encoder (default: on CUDA)")
    p.add_argument("--workers", type=int, help="data-loader processes (default: by CPU count)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--heldout-examples", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def auto_batch(device: str) -> int:
    import torch

    if device != "cuda":
        return 8
    gib = torch.cuda.get_device_properties(0).total_memory / 2**30
    return 256 if gib >= 40 else 128 if gib >= 16 else 64


def bench_tasks(args: argparse.Namespace) -> tuple[Path | None, list[dict[str, Any]]]:
    from diffill.model.packed import BENCH_FILE, read_bench

    candidates = [args.bench] if args.bench else [args.corpus / BENCH_FILE,
                                                   ROOT / "data" / "bench" / "repos.jsonl"]
    for path in candidates:
        if path is not None and path.is_file():
            tasks = read_bench(path)
            return path, tasks[: args.bench_limit] if args.bench_limit else tasks
    return None, []


def evaluate_checkpoint(path: Path, tasks: list[dict[str, Any]], device: str) -> dict[str, Any]:
    import torch

    from diffill.model.checkpoint import count_parameters, load_checkpoint
    from diffill.model.task_eval import evaluate_tasks

    model, tok, meta = load_checkpoint(path)
    model = model.to(device)  # type: ignore[arg-type]  # transformers types .to() oddly
    bf16 = device == "cuda" and torch.cuda.is_bf16_supported()
    t0 = time.monotonic()
    figures = evaluate_tasks(model, tok, meta, tasks, bf16=bf16) if tasks else {}
    return {
        "checkpoint": str(path),
        "parameters": count_parameters(model),
        "training": {k: meta.training.get(k) for k in (
            "steps", "tokens_seen", "cpu_hours", "gpu_hours", "heldout_loss", "heldout_token_acc",
            "heldout_content_acc")},
        "tasks": figures,
        "seconds": round(time.monotonic() - t0, 1),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import_checkout()
    import torch
    import transformers

    from diffill.model.noise import for_canvas
    from diffill.model.packed import is_packed
    from diffill.model.presets import export_checkpoint, resolve_size
    from diffill.model.train import TrainConfig, train

    budget = args.minutes * 60
    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else args.device
    device = "cpu" if device == "auto" else device
    if not is_packed(args.corpus):
        print(f"gpu_run: {args.corpus} is not a packed corpus. Build it with `diffill model "
              "corpus` (or `diffill model pack`) and carry data/packed to this machine.",
              file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    env = {
        "torch": torch.__version__, "transformers": transformers.__version__,
        "python": sys.version.split()[0], "device": device,
        "device_name": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
        "cuda_devices": torch.cuda.device_count() if device == "cuda" else 0,
        "cpu_cores": os.cpu_count(),
    }
    print(json.dumps(env), file=sys.stderr, flush=True)
    path, tasks = bench_tasks(args)
    batch = args.batch or auto_batch(device)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    workers = args.workers if args.workers is not None else (
        max(1, min(12, cores - 2)) if device == "cuda" else 0)
    # Kept for after training: the final checkpoint, export and evaluation (two models).
    reserve = 15 + 0.05 * budget
    run = Path(tempfile.mkdtemp(prefix="diffill-gpu-run-"))
    train_minutes = (budget - (time.monotonic() - STARTED) - reserve) / 60
    if train_minutes <= 0:
        print(f"gpu_run: {args.minutes} minutes leave no time to train", file=sys.stderr)
        return 2
    cfg = TrainConfig(
        corpus=args.corpus, out=run, init=args.init, minutes=train_minutes, batch=batch,
        lr=args.lr, warmup_steps=args.warmup, checkpoint_minutes=1e9,
        heldout_examples=args.heldout_examples, seed=args.seed, keep_snapshots=False,
        size=resolve_size(args.size), noise=for_canvas(args.canvas), device=device,
        compile=device == "cuda" if args.compile is None else args.compile, workers=workers,
        threads=args.threads, log_every=25,
    )
    train(cfg)
    shipped = args.out / "model"
    dtype = export_checkpoint(run / "last", shipped, "auto")
    for name in ("train.log", "steps.csv", "log.csv", "loss.png"):
        if (run / name).exists():
            shutil.copy(run / name, args.out / name)
    state = json.loads((run / "last" / "train_state.json").read_text())
    shutil.rmtree(run, ignore_errors=True)

    evaluation: dict[str, Any] = {
        "tasks_file": str(path) if path else None,
        "tasks": len(tasks),
        "note": "the model alone (model/task_eval.py); the full engine evaluation runs on the CPU: "
                f"diffill eval --bench repos --model {shipped}",
        "model": evaluate_checkpoint(shipped, tasks, device),
    }
    if args.baseline != "none" and tasks:
        evaluation["baseline"] = evaluate_checkpoint(Path(args.baseline), tasks, device)
    (args.out / "eval.json").write_text(json.dumps(evaluation, indent=2) + "\n")
    steps = int(state["step"])
    summary = {
        **env,
        "budget_minutes": args.minutes,
        "wall_seconds": round(time.monotonic() - STARTED, 1),
        "train_seconds": round(state["train_seconds"], 1),
        "size": args.size, "canvas": args.canvas, "batch": batch, "lr": args.lr,
        "compiled": cfg.compile, "loader_workers": workers,
        "steps": steps, "tokens_seen": int(state["tokens"]),
        "tokens_per_s_per_device": round(state["tokens"] / max(state["train_seconds"], 1e-9)),
        "gpu_hours": round(state.get("gpu_hours", 0.0), 4),
        "stored_dtype": dtype,
        "model_bytes": (shipped / "model.safetensors").stat().st_size,
        "eval_all": evaluation["model"]["tasks"].get("all"),
        "baseline_all": evaluation.get("baseline", {}).get("tasks", {}).get("all"),
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
