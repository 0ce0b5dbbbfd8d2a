"""Training loop for the denoiser: resumable, time-budgeted, one process or many (DDP).

`train(cfg)` trains from scratch, resumes from `cfg.out/last` when it exists, or fine-tunes
`cfg.init` (a user's own repository, see README). The learning-rate schedule is linear
warmup then cosine decay over the run's budget (minutes or steps), so a resumed run continues
on the same curve. Every `checkpoint_minutes` of training it measures the held-out loss,
writes the checkpoint (weights, optimizer state, both as safetensors), a CSV row and a PNG
loss curve, and calls `on_checkpoint(path)` so callers can add their own measurements.

Devices: the CPU (bf16 autocast only where the CPU has native bf16) or CUDA (bf16 autocast
where supported, TF32 matmuls, fused AdamW, optional `torch.compile` of the encoder, data
made by loader workers into pinned memory). Under `torchrun` or `accelerate launch` (their
RANK / WORLD_SIZE / LOCAL_RANK variables) it runs DistributedDataParallel: `cfg.batch` is the
global batch, each rank makes and trains on its own slots of it (see `data.py`), rank 0 writes
logs and checkpoints. Every run reports tokens per second per device.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from transformers import ModernBertForMaskedLM
from transformers.utils import logging as hf_logging

from .checkpoint import (
    DenoiserMeta,
    ModelSize,
    count_parameters,
    load_checkpoint,
    new_model,
    save_checkpoint,
)
from .data import StepBatches, heldout_batches, step_loader
from .devices import cpu_has_bf16
from .noise import NoiseConfig
from .packed import is_packed, open_split
from .tokenizer import BOS, EOS, MASK, NULL, PAD, load_tokenizer

# Ids a hole slot can never hold; their logits are -inf (MDLM's SUBS rule for the mask).
FORBIDDEN_IDS = (PAD, MASK, BOS, EOS)


@dataclass
class TrainConfig:
    corpus: Path  # packed folder (meta.json, *.u16.xz) or JSONL folder (train/heldout.jsonl)
    out: Path  # run folder: last/ checkpoint, log.csv, steps.csv, train.log, loss.png
    tokenizer: Path | None = None  # tokenizer.json for a fresh model
    init: Path | None = None  # checkpoint to fine-tune instead of a fresh model
    minutes: float | None = None  # training-time budget of the whole run (the cosine horizon)
    steps: int | None = None  # or a step budget
    batch: int = 32  # canvases per step, all processes together (a multiple of the world size)
    lr: float = 1e-3  # peak learning rate (2e-3 measured worse in short CPU runs)
    min_lr_ratio: float = 0.1  # cosine floor as a share of the peak
    warmup_steps: int = 200
    weight_decay: float = 0.01
    clip: float = 1.0
    checkpoint_minutes: float = 10.0  # of training time between checkpoints
    heldout_examples: int = 256
    seed: int = 0
    # bf16 autocast; None: on CUDA devices that support it, and on CPUs with native bf16
    # (avx512_bf16, AMX). On AVX2-only CPUs torch falls back to a scalar kernel: 14 steps in
    # 10 minutes here against 332 in fp32.
    bf16: bool | None = None
    threads: int = 0  # torch threads; 0 keeps torch's default
    keep_snapshots: bool = True  # copy every checkpoint to snapshots/step-N (weights only)
    size: ModelSize = field(default_factory=ModelSize)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    device: str = "auto"  # auto (CUDA when present), cpu, cuda
    compile: bool = False  # torch.compile the encoder (CUDA: ~1 min to compile, then faster)
    workers: int | None = None  # data-loader processes; None: 0 on the CPU, up to 8 on CUDA
    log_every: int = 50  # steps per steps.csv row and progress line


def masked_loss(
    model: ModernBertForMaskedLM,
    batch: dict[str, torch.Tensor],
    backbone: Callable[..., Any] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Weighted cross-entropy on positions with weight > 0; also per-token CE, hits, targets.

    `backbone` replaces `model.model` (the encoder), e.g. by its torch.compile'd form.
    """
    encoder: Callable[..., Any] = backbone or model.model
    out = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    hidden = out.last_hidden_state  # (B, T, D)
    sel = batch["weights"] > 0  # (B, T)
    logits = model.decoder(model.head(hidden[sel])).float()  # (N, V): only scored positions
    logits[:, list(FORBIDDEN_IDS)] = -math.inf
    targets = batch["targets"][sel]  # (N,)
    ce = F.cross_entropy(logits, targets, reduction="none")  # (N,)
    loss = (ce * batch["weights"][sel]).sum() / batch["input_ids"].shape[0]
    hits = (logits.argmax(-1) == targets).float()
    return loss, ce.detach(), hits, targets


class LossModule(torch.nn.Module):
    """The model and its loss as one module, so DistributedDataParallel sees the forward."""

    def __init__(self, model: ModernBertForMaskedLM) -> None:
        super().__init__()
        self.model = model
        self.backbone: list[Callable[..., Any]] = []  # a list: not registered as a submodule

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, targets: torch.Tensor,
        weights: torch.Tensor,
    ) -> torch.Tensor:
        batch = {"input_ids": input_ids, "attention_mask": attention_mask, "targets": targets,
                 "weights": weights}
        return masked_loss(self.model, batch, self.backbone[0] if self.backbone else None)[0]


@torch.no_grad()
def evaluate(
    model: ModernBertForMaskedLM, batches: list[dict[str, torch.Tensor]], bf16: bool
) -> dict[str, float]:
    model.eval()
    device = next(model.parameters()).device
    total_loss, ce_sum, hit_sum, n_tok = 0.0, 0.0, 0.0, 0
    content_hits, n_content = 0.0, 0
    for cpu_batch in batches:
        batch = {k: v.to(device) for k, v in cpu_batch.items()}
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss, ce, hits, targets = masked_loss(model, batch)
        total_loss += loss.item() * batch["input_ids"].shape[0]
        ce_sum += ce.sum().item()
        hit_sum += hits.sum().item()
        n_tok += ce.numel()
        content = targets != NULL
        content_hits += hits[content].sum().item()
        n_content += int(content.sum())
    model.train()
    n_ex = sum(b["input_ids"].shape[0] for b in batches)
    return {
        "heldout_loss": total_loss / n_ex,  # the weighted diffusion objective
        "heldout_token_ce": ce_sum / max(n_tok, 1),  # plain CE per scored token
        "heldout_token_acc": hit_sum / max(n_tok, 1),
        # Accuracy on real tokens only: null slots are easy and would flatter the figure.
        "heldout_content_acc": content_hits / max(n_content, 1),
    }


def lr_at(cfg: TrainConfig, step: int, progress: float) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = min(max(progress, 0.0), 1.0)
    floor = cfg.lr * cfg.min_lr_ratio
    return floor + (cfg.lr - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def save_optimizer(path: Path, opt: torch.optim.AdamW, params: list[torch.nn.Parameter]) -> None:
    tensors: dict[str, torch.Tensor] = {}
    for i, p in enumerate(params):
        state = opt.state.get(p)
        if state:
            tensors[f"{i}.exp_avg"] = state["exp_avg"].detach().cpu().contiguous()
            tensors[f"{i}.exp_avg_sq"] = state["exp_avg_sq"].detach().cpu().contiguous()
            tensors[f"{i}.step"] = torch.as_tensor(state["step"]).detach().cpu().reshape(1).float()
    save_file(tensors, str(path))


def load_optimizer(path: Path, opt: torch.optim.AdamW, params: list[torch.nn.Parameter]) -> None:
    tensors = load_file(str(path))
    # Fused AdamW keeps its step counters on the parameters' device, the others on the CPU.
    fused = bool(opt.defaults.get("fused"))
    for i, p in enumerate(params):
        if f"{i}.exp_avg" in tensors:
            opt.state[p] = {
                "exp_avg": tensors[f"{i}.exp_avg"].to(p.device),
                "exp_avg_sq": tensors[f"{i}.exp_avg_sq"].to(p.device),
                "step": tensors[f"{i}.step"].reshape(()).to(p.device if fused else "cpu"),
            }


def plot_curve(log_path: Path, png: Path) -> None:
    """Loss curve PNG from the CSV log (skipped quietly if matplotlib is absent)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    rows = list(csv.DictReader(log_path.open()))
    if not rows:
        return
    unit = "gpu_hours" if float(rows[-1].get("gpu_hours") or 0) > 0 else "cpu_hours"
    hours = [float(r.get(unit) or 0) for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(hours, [float(r["train_loss"]) for r in rows], label="train loss")
    ax.plot(hours, [float(r["heldout_loss"]) for r in rows], label="held-out loss")
    ax.set_xlabel(unit.replace("_", "-").upper().replace("-HOURS", "-hours"))
    ax.set_ylabel("weighted masked-diffusion loss")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)


def append_csv(path: Path, row: Mapping[str, object]) -> None:
    """Append a row; a log started by an older version keeps its own columns."""
    fieldnames = list(row)
    if path.exists():
        with path.open(newline="") as fh:
            header = next(csv.reader(fh), None)
        if header:
            fieldnames = header
    new_file = not path.exists()
    with path.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fieldnames, extrasaction="ignore")
        if new_file:
            writer.writeheader()
        writer.writerow(row)


_LOG_FILE: Path | None = None
_QUIET = False  # ranks other than 0 under DDP: rank 0 speaks for all


def log(msg: str) -> None:
    """A progress line on stderr (never stdout), and in the run's train.log, from rank 0 only."""
    if _QUIET:
        return
    print(msg, file=sys.stderr, flush=True)
    if _LOG_FILE is not None:
        with _LOG_FILE.open("a") as fh:
            fh.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}\n")


@dataclass(frozen=True)
class Placement:
    """Where this process trains: its device and its place among the launcher's processes."""

    device: torch.device
    rank: int = 0
    local_rank: int = 0
    world: int = 1
    backend: str | None = None  # None: a single process, no process group

    @property
    def main(self) -> bool:
        return self.rank == 0


def place(device: str) -> Placement:
    """Pick the device and, under torchrun / accelerate launch, join the process group."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    kind = device.split(":")[0]
    if kind == "auto":
        kind = "cuda" if torch.cuda.is_available() else "cpu"
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda, but torch sees no CUDA device")
    if kind == "cuda":
        index = int(device.split(":")[1]) if ":" in device else local_rank % torch.cuda.device_count()
        torch.cuda.set_device(index)
        dev = torch.device("cuda", index)
    else:
        dev = torch.device(kind)
    if world == 1:
        return Placement(dev)
    backend = "nccl" if kind == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend)
    return Placement(dev, rank, local_rank, world, backend)


def barrier(pl: Placement) -> None:
    if pl.world > 1:
        dist.barrier(device_ids=[pl.device.index] if pl.device.type == "cuda" else None)


def use_bf16(cfg: TrainConfig, device: torch.device) -> bool:
    if cfg.bf16 is not None:
        return cfg.bf16
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_bf16()


def default_workers(device: torch.device, world: int) -> int:
    if device.type != "cuda":
        return 0  # the CPU is busy training; loader processes would only compete with it
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    local = max(1, torch.cuda.device_count() if world > 1 else 1)
    return max(1, min(8, cores // local - 1))


def train(cfg: TrainConfig, on_checkpoint: Callable[[Path], dict[str, float]] | None = None) -> Path:
    """Run (or resume) training; returns the path of the last checkpoint."""
    global _LOG_FILE, _QUIET
    if cfg.minutes is None and cfg.steps is None:
        raise ValueError("give a budget: minutes or steps")
    pl = place(cfg.device)
    if cfg.batch % pl.world:
        raise ValueError(f"--batch {cfg.batch} is not a multiple of the world size {pl.world}")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    if pl.device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    bf16 = use_bf16(cfg, pl.device)
    hf_logging.disable_progress_bar()  # save_pretrained's bars would fill the log
    cfg.out.mkdir(parents=True, exist_ok=True)
    _LOG_FILE = cfg.out / "train.log" if pl.main else None
    _QUIET = not pl.main
    last = cfg.out / "last"
    state: dict[str, float] = {"step": 0, "train_seconds": 0.0, "tokens": 0, "cpu_hours": 0.0,
                               "gpu_hours": 0.0}
    if (last / "model.safetensors").exists():
        model, tok, meta = load_checkpoint(last)
        state.update(json.loads((last / "train_state.json").read_text()))
        log(f"resuming {last} at step {int(state['step'])} (saved by world size "
            f"{int(state.get('world_size', 1))}, now {pl.world})")
    elif cfg.init is not None:
        model, tok, meta = load_checkpoint(cfg.init)
        meta.training = {"init": str(cfg.init), "init_training": meta.training}
        log(f"fine-tuning {cfg.init}")
    else:
        tok_path = cfg.tokenizer or (cfg.corpus / "tokenizer.json" if is_packed(cfg.corpus) else None)
        if tok_path is None:
            raise ValueError("a fresh model needs --tokenizer (a packed corpus carries its own)")
        tok = load_tokenizer(tok_path)
        model = new_model(tok.get_vocab_size(), cfg.size, max_positions=max(512, cfg.noise.canvas))
        meta = DenoiserMeta(
            canvas=cfg.noise.canvas,
            line_budget=cfg.noise.line_budget,
            block_budget=cfg.noise.block_budget,
        )
    if is_packed(cfg.corpus) and load_tokenizer(cfg.corpus / "tokenizer.json").get_vocab() != tok.get_vocab():
        raise ValueError(f"{cfg.corpus} was packed with another tokenizer than the model's: pack it "
                         "again with `diffill model pack --tokenizer <the model's tokenizer.json>`")
    state["world_size"] = pl.world
    model = model.float().to(pl.device)  # type: ignore[arg-type]  # transformers types .to() oddly
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
        betas=(0.9, 0.98),
        eps=1e-8,
        fused=pl.device.type == "cuda",
    )
    if (last / "optimizer.safetensors").exists():
        load_optimizer(last / "optimizer.safetensors", opt, params)

    module = LossModule(model)
    if cfg.compile:
        module.backbone.append(torch.compile(model.model))
    runner: torch.nn.Module = module
    if pl.world > 1:
        ids = [pl.device.index] if pl.device.type == "cuda" else None
        runner = torch.nn.parallel.DistributedDataParallel(module, device_ids=ids)

    workers = cfg.workers if cfg.workers is not None else default_workers(pl.device, pl.world)
    if is_packed(cfg.corpus):
        open_split(cfg.corpus, "train")  # unpacked once here, not by every loader worker at once
    dataset = StepBatches(cfg.corpus, tok, cfg.noise, cfg.seed, cfg.batch, pl.rank, pl.world,
                          int(state["step"]))
    batches = iter(step_loader(dataset, workers, pin=pl.device.type == "cuda"))
    held = heldout_batches(cfg.corpus, tok, cfg.noise, cfg.heldout_examples,
                           cfg.batch // pl.world) if pl.main else []
    steps_path = cfg.out / "steps.csv"
    log_path = cfg.out / "log.csv"
    dev_name = torch.cuda.get_device_name(pl.device) if pl.device.type == "cuda" else "cpu"
    log(f"world size {pl.world}{f' ({pl.backend})' if pl.backend else ''}, device {pl.device} "
        f"({dev_name}), global batch {cfg.batch} = {pl.world} x {cfg.batch // pl.world}, canvas "
        f"{cfg.noise.canvas}, {'bf16' if bf16 else 'fp32'}{', compiled' if cfg.compile else ''}, "
        f"{workers} loader workers, {torch.get_num_threads()} threads")
    log(f"model {count_parameters(model) / 1e6:.2f}M params, corpus {cfg.corpus} "
        f"({'packed ids' if is_packed(cfg.corpus) else 'JSONL texts'})")

    def progress() -> float:
        if cfg.steps is not None:
            return state["step"] / cfg.steps
        assert cfg.minutes is not None
        return state["train_seconds"] / (cfg.minutes * 60)

    run_tokens, run_seconds = 0.0, 0.0  # this invocation only, for its tokens/s

    def per_device_rate(tokens: float, seconds: float) -> float:
        return tokens / max(seconds, 1e-9) / pl.world

    def checkpoint(train_loss: float) -> None:
        if pl.main:
            metrics = evaluate(model, held, bf16)
            meta.training = {
                **{k: v for k, v in meta.training.items() if k.startswith("init")},
                "steps": int(state["step"]),
                "tokens_seen": int(state["tokens"]),
                "cpu_hours": round(state["cpu_hours"], 3),
                **({"gpu_hours": round(state["gpu_hours"], 4), "device": dev_name}
                   if state["gpu_hours"] else {}),
                "world_size": pl.world,
                "train_loss": round(train_loss, 4),
                **{k: round(v, 4) for k, v in metrics.items()},
                "noise": asdict(cfg.noise),
                "size": asdict(size_of(model)),
            }
            save_checkpoint(last, model, tok, meta)
            save_optimizer(last / "optimizer.safetensors", opt, params)
            (last / "train_state.json").write_text(json.dumps(state) + "\n")
            if cfg.keep_snapshots:
                # Weights-only copies, so exact match can be measured per checkpoint later.
                snap = cfg.out / "snapshots" / f"step-{int(state['step']):07d}"
                shutil.copytree(last, snap, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("optimizer*"))
            extra = on_checkpoint(last) if on_checkpoint else {}
            row = {"step": int(state["step"]), "tokens": int(state["tokens"]),
                   "cpu_hours": round(state["cpu_hours"], 4), "gpu_hours": round(state["gpu_hours"], 4),
                   "world_size": pl.world, "train_loss": round(train_loss, 4),
                   **{k: round(v, 4) for k, v in metrics.items()},
                   "tokens_per_s_per_device": round(per_device_rate(run_tokens, run_seconds)), **extra}
            append_csv(log_path, row)
            plot_curve(log_path, cfg.out / "loss.png")
            log(json.dumps(row))
        barrier(pl)

    running, n_running = 0.0, 0  # loss since the last checkpoint
    window_loss, window_steps, window_tokens, window_seconds = 0.0, 0, 0.0, 0.0  # since the last row
    next_ckpt = state["train_seconds"] + cfg.checkpoint_minutes * 60
    mark = time.monotonic()
    while progress() < 1.0:
        lr = lr_at(cfg, int(state["step"]), progress())
        for group in opt.param_groups:
            group["lr"] = lr
        step, cpu_batch = next(batches)
        assert step == int(state["step"]), (step, state["step"])
        batch = {k: v.to(pl.device, non_blocking=True) for k, v in cpu_batch.items()}
        try:
            with torch.autocast(pl.device.type, dtype=torch.bfloat16, enabled=bf16):
                loss = runner(**batch)
        except Exception as exc:  # torch.compile fails on some stacks: train uncompiled instead
            if not module.backbone:
                raise
            log(f"torch.compile failed ({type(exc).__name__}: {str(exc)[:200]}); continuing uncompiled")
            module.backbone.clear()
            with torch.autocast(pl.device.type, dtype=torch.bfloat16, enabled=bf16):
                loss = runner(**batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, cfg.clip)
        opt.step()
        now = time.monotonic()
        # One reduction per step: mean loss, tokens of all ranks, mean step time (so every rank
        # agrees on the budget and the schedule).
        stats = torch.tensor([loss.item(), float(batch["attention_mask"].sum()), now - mark],
                             dtype=torch.float64, device=pl.device)  # NCCL reduces GPU tensors only
        mark = now
        if pl.world > 1:
            dist.all_reduce(stats)
            stats[0] /= pl.world
            stats[2] /= pl.world
        step_loss, tokens, dt = float(stats[0]), float(stats[1]), float(stats[2])
        state["step"] += 1
        state["train_seconds"] += dt
        if pl.device.type == "cuda":
            state["gpu_hours"] += dt * pl.world / 3600
        else:
            state["cpu_hours"] += dt * torch.get_num_threads() * pl.world / 3600
        state["tokens"] += int(tokens)
        run_tokens += tokens
        run_seconds += dt
        window_tokens += tokens
        window_seconds += dt
        window_loss += step_loss
        window_steps += 1
        running += step_loss
        n_running += 1
        if int(state["step"]) % cfg.log_every == 0 and pl.main:
            rate = per_device_rate(window_tokens, window_seconds)
            append_csv(steps_path, {
                "step": int(state["step"]), "loss": round(window_loss / window_steps, 6),
                "last_loss": round(step_loss, 6), "lr": lr, "tokens": int(state["tokens"]),
                "seconds": round(state["train_seconds"], 3), "world_size": pl.world,
                "tokens_per_s_per_device": round(rate)})
            log(f"step {int(state['step'])} loss {window_loss / window_steps:.4f} lr {lr:.2e} "
                f"{window_seconds / window_steps:.3f}s/step {rate:,.0f} tokens/s per device")
        if int(state["step"]) % cfg.log_every == 0:
            window_loss, window_steps, window_tokens, window_seconds = 0.0, 0, 0.0, 0.0
        if state["train_seconds"] >= next_ckpt:
            checkpoint(running / max(n_running, 1))
            running, n_running = 0.0, 0
            next_ckpt = state["train_seconds"] + cfg.checkpoint_minutes * 60
            mark = time.monotonic()  # checkpoint time is not training time
    del batches  # stops the loader workers
    checkpoint(running / max(n_running, 1))
    log(f"done at step {int(state['step'])}: {run_tokens:,.0f} tokens in {run_seconds:.1f}s, "
        f"{per_device_rate(run_tokens, run_seconds):,.0f} tokens/s per device "
        f"(world size {pl.world}, {dev_name})")
    barrier(pl)
    _LOG_FILE, _QUIET = None, False
    return last


def size_of(model: ModernBertForMaskedLM) -> ModelSize:
    """The ModelSize a model was built with (read back from its config)."""
    c = model.config
    types = list(getattr(c, "layer_types", None) or [])
    global_every = next((i for i, t in enumerate(types[1:], 1) if t == "full_attention"), len(types) or 1)
    return ModelSize(hidden=c.hidden_size, layers=c.num_hidden_layers, heads=c.num_attention_heads,
                     intermediate=c.intermediate_size, local_window=c.local_attention,
                     global_every=global_every)


__all__ = ["TrainConfig", "train", "evaluate", "masked_loss", "lr_at"]
