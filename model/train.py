"""Training loop for the default denoiser: resumable, time-budgeted, CPU-friendly.

`train(cfg)` trains from scratch, resumes from `cfg.out/last` when it exists, or fine-tunes
`cfg.init` (a user's own repository, see README). The learning-rate schedule is linear
warmup then cosine decay over the run's budget (minutes or steps), so a resumed run continues
on the same curve. Every `checkpoint_minutes` it measures the held-out loss, writes the
checkpoint (weights, optimizer state, both as safetensors), a CSV row and a PNG loss curve,
and calls `on_checkpoint(path)` so callers can add their own measurements (held-out exact
match, see `diffill.infill.heldout`).
"""

from __future__ import annotations

import csv
import json
import math
import random
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer
from transformers import ModernBertForMaskedLM

from .checkpoint import (
    DenoiserMeta,
    ModelSize,
    count_parameters,
    load_checkpoint,
    new_model,
    save_checkpoint,
)
from .corpus import read_jsonl
from .denoiser import cpu_has_bf16
from .noise import Example, ExampleMaker, NoiseConfig, collate
from .tokenizer import BOS, EOS, MASK, NULL, PAD, load_tokenizer

# Ids a hole slot can never hold; their logits are -inf (MDLM's SUBS rule for the mask).
FORBIDDEN_IDS = (PAD, MASK, BOS, EOS)


@dataclass
class TrainConfig:
    corpus: Path  # folder with train.jsonl and heldout.jsonl (diffill model corpus)
    out: Path  # run folder: last/ checkpoint, log.csv, loss.png
    tokenizer: Path | None = None  # tokenizer.json for a fresh model
    init: Path | None = None  # checkpoint to fine-tune instead of a fresh model
    minutes: float | None = None  # wall-clock budget of the whole run (the cosine horizon)
    steps: int | None = None  # or a step budget
    batch: int = 32  # canvases per step
    lr: float = 1e-3  # peak learning rate (2e-3 measured worse in short runs)
    min_lr_ratio: float = 0.1  # cosine floor as a share of the peak
    warmup_steps: int = 200
    weight_decay: float = 0.01
    clip: float = 1.0
    checkpoint_minutes: float = 10.0
    heldout_examples: int = 256
    seed: int = 0
    # bf16 autocast: ~2x faster matmuls on CPUs with native bf16 (avx512_bf16, AMX); on
    # AVX2-only CPUs torch falls back to a scalar kernel: 14 steps in 10 minutes here against
    # 332 in fp32.
    bf16: bool = field(default_factory=cpu_has_bf16)
    threads: int = 0  # torch threads; 0 keeps torch's default
    keep_snapshots: bool = True  # copy every checkpoint to snapshots/step-N (weights only)
    size: ModelSize = field(default_factory=ModelSize)
    noise: NoiseConfig = field(default_factory=NoiseConfig)


def masked_loss(
    model: ModernBertForMaskedLM, batch: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Weighted cross-entropy on positions with weight > 0; also per-token CE, hits, targets."""
    hidden = model.model(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
    ).last_hidden_state  # (B, T, D)
    sel = batch["weights"] > 0  # (B, T)
    logits = model.decoder(model.head(hidden[sel])).float()  # (N, V): only scored positions
    logits[:, list(FORBIDDEN_IDS)] = -math.inf
    targets = batch["targets"][sel]  # (N,)
    ce = F.cross_entropy(logits, targets, reduction="none")  # (N,)
    loss = (ce * batch["weights"][sel]).sum() / batch["input_ids"].shape[0]
    hits = (logits.argmax(-1) == targets).float()
    return loss, ce.detach(), hits, targets


class TextSampler:
    """Draws files with probability proportional to their length (so tokens are uniform)."""

    def __init__(self, texts: list[str], rng: random.Random) -> None:
        self.texts = texts
        self.rng = rng
        self.cum: list[int] = []
        total = 0
        for t in texts:
            total += len(t)
            self.cum.append(total)

    def draw(self) -> str:
        import bisect

        x = self.rng.randrange(self.cum[-1])
        return self.texts[bisect.bisect_right(self.cum, x)]


def make_batch(maker: ExampleMaker, sampler: TextSampler, n: int, canvas: int) -> dict[str, torch.Tensor]:
    examples: list[Example] = []
    while len(examples) < n:
        ex = maker.make(sampler.draw())
        if ex is not None:
            examples.append(ex)
    return collate(examples, canvas)


def heldout_batches(cfg: TrainConfig, tok: Tokenizer) -> list[dict[str, torch.Tensor]]:
    """A fixed held-out set (same seed every time) so losses are comparable across runs."""
    texts = [f.text for f in read_jsonl(cfg.corpus / "heldout.jsonl")]
    # Masked hole tokens only: context masking, noisy and drafted slots are training aids,
    # not what the engine asks for from an all-mask hole.
    noise = replace(cfg.noise, p_context_mask=0.0, p_replace_example=0.0, p_draft_example=0.0)
    maker = ExampleMaker(tok, noise, seed=12345)
    sampler = TextSampler(texts, random.Random(12345))
    batches = []
    for start in range(0, cfg.heldout_examples, cfg.batch):
        n = min(cfg.batch, cfg.heldout_examples - start)
        batches.append(make_batch(maker, sampler, n, cfg.noise.canvas))
    return batches


@torch.no_grad()
def evaluate(
    model: ModernBertForMaskedLM, batches: list[dict[str, torch.Tensor]], bf16: bool
) -> dict[str, float]:
    model.eval()
    total_loss, ce_sum, hit_sum, n_tok = 0.0, 0.0, 0.0, 0
    content_hits, n_content = 0.0, 0
    for batch in batches:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
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
            tensors[f"{i}.exp_avg"] = state["exp_avg"].contiguous()
            tensors[f"{i}.exp_avg_sq"] = state["exp_avg_sq"].contiguous()
            tensors[f"{i}.step"] = torch.as_tensor(state["step"]).reshape(1).float()
    save_file(tensors, str(path))


def load_optimizer(path: Path, opt: torch.optim.AdamW, params: list[torch.nn.Parameter]) -> None:
    tensors = load_file(str(path))
    for i, p in enumerate(params):
        if f"{i}.exp_avg" in tensors:
            opt.state[p] = {
                "exp_avg": tensors[f"{i}.exp_avg"],
                "exp_avg_sq": tensors[f"{i}.exp_avg_sq"],
                "step": tensors[f"{i}.step"].reshape(()),
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
    hours = [float(r["cpu_hours"]) for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(hours, [float(r["train_loss"]) for r in rows], label="train loss")
    ax.plot(hours, [float(r["heldout_loss"]) for r in rows], label="held-out loss")
    ax.set_xlabel("CPU-hours")
    ax.set_ylabel("weighted masked-diffusion loss")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def train(cfg: TrainConfig, on_checkpoint: Callable[[Path], dict[str, float]] | None = None) -> Path:
    """Run (or resume) training; returns the path of the last checkpoint."""
    if cfg.minutes is None and cfg.steps is None:
        raise ValueError("give a budget: minutes or steps")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    cfg.out.mkdir(parents=True, exist_ok=True)
    last = cfg.out / "last"
    state: dict[str, float] = {"step": 0, "train_seconds": 0.0, "tokens": 0, "cpu_hours": 0.0}
    if (last / "model.safetensors").exists():
        model, tok, meta = load_checkpoint(last)
        state.update(json.loads((last / "train_state.json").read_text()))
        log(f"resuming {last} at step {int(state['step'])}")
    elif cfg.init is not None:
        model, tok, meta = load_checkpoint(cfg.init)
        meta.training = {"init": str(cfg.init), "init_training": meta.training}
        log(f"fine-tuning {cfg.init}")
    else:
        if cfg.tokenizer is None:
            raise ValueError("a fresh model needs --tokenizer")
        tok = load_tokenizer(cfg.tokenizer)
        model = new_model(tok.get_vocab_size(), cfg.size, max_positions=max(512, cfg.noise.canvas))
        meta = DenoiserMeta(
            canvas=cfg.noise.canvas,
            line_budget=cfg.noise.line_budget,
            block_budget=cfg.noise.block_budget,
        )
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
        betas=(0.9, 0.98),
        eps=1e-8,
    )
    if (last / "optimizer.safetensors").exists():
        load_optimizer(last / "optimizer.safetensors", opt, params)

    texts = [f.text for f in read_jsonl(cfg.corpus / "train.jsonl")]
    rng = random.Random(cfg.seed * 1_000_003 + int(state["step"]))
    maker = ExampleMaker(tok, cfg.noise, seed=rng.randrange(2**31))
    sampler = TextSampler(texts, rng)
    held = heldout_batches(cfg, tok)
    log_path = cfg.out / "log.csv"
    n_threads = torch.get_num_threads()
    log(f"model {count_parameters(model) / 1e6:.2f}M params, {len(texts)} files, {n_threads} threads")

    def progress() -> float:
        if cfg.steps is not None:
            return state["step"] / cfg.steps
        assert cfg.minutes is not None
        return state["train_seconds"] / (cfg.minutes * 60)

    def checkpoint(train_loss: float) -> None:
        metrics = evaluate(model, held, cfg.bf16)
        meta.training = {
            **{k: v for k, v in meta.training.items() if k.startswith("init")},
            "steps": int(state["step"]),
            "tokens_seen": int(state["tokens"]),
            "cpu_hours": round(state["cpu_hours"], 3),
            "train_loss": round(train_loss, 4),
            **{k: round(v, 4) for k, v in metrics.items()},
            "noise": asdict(cfg.noise),
            "size": asdict(cfg.size),
        }
        save_checkpoint(last, model, tok, meta)
        save_optimizer(last / "optimizer.safetensors", opt, params)
        (last / "train_state.json").write_text(json.dumps(state) + "\n")
        if cfg.keep_snapshots:
            # Weights-only copies, so exact match can be measured per checkpoint later.
            snap = cfg.out / "snapshots" / f"step-{int(state['step']):07d}"
            shutil.copytree(last, snap, dirs_exist_ok=True, ignore=shutil.ignore_patterns("optimizer*"))
        extra = on_checkpoint(last) if on_checkpoint else {}
        row = {"step": int(state["step"]), "tokens": int(state["tokens"]),
               "cpu_hours": round(state["cpu_hours"], 4), "train_loss": round(train_loss, 4),
               **{k: round(v, 4) for k, v in metrics.items()}, **extra}
        new_file = not log_path.exists()
        with log_path.open("a", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(row))
            if new_file:
                writer.writeheader()
            writer.writerow(row)
        plot_curve(log_path, cfg.out / "loss.png")
        log(json.dumps(row))

    running, n_running = 0.0, 0
    last_ckpt = time.monotonic()
    while progress() < 1.0:
        t0 = time.monotonic()
        lr = lr_at(cfg, int(state["step"]), progress())
        for group in opt.param_groups:
            group["lr"] = lr
        batch = make_batch(maker, sampler, cfg.batch, cfg.noise.canvas)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
            loss, _, _, _ = masked_loss(model, batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, cfg.clip)
        opt.step()
        dt = time.monotonic() - t0
        state["step"] += 1
        state["train_seconds"] += dt
        state["cpu_hours"] += dt * n_threads / 3600
        state["tokens"] += int(batch["attention_mask"].sum())
        running += loss.item()
        n_running += 1
        if int(state["step"]) % 50 == 0:
            log(f"step {int(state['step'])} loss {running / n_running:.4f} lr {lr:.2e} "
                f"{dt:.2f}s/step tokens {int(state['tokens'])}")
        if time.monotonic() - last_ckpt >= cfg.checkpoint_minutes * 60:
            checkpoint(running / max(n_running, 1))
            running, n_running = 0.0, 0
            last_ckpt = time.monotonic()
    checkpoint(running / max(n_running, 1))
    return last
