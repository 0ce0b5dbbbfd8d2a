"""`diffill train` and `diffill model …`: corpus, tokenizer, training and checkpoint info."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import CheckpointError
from .paths import DEFAULT_CHECKPOINT, MANIFEST_PATH

DEFAULT_DATA = Path("data")


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    train = sub.add_parser(
        "train", help="train or fine-tune a denoiser (resumable; runs under torchrun for many GPUs)")
    train.add_argument("--corpus", type=Path, required=True,
                       help="packed corpus folder (diffill model pack) or JSONL folder with "
                            "train.jsonl and heldout.jsonl (diffill model corpus)")
    train.add_argument("--out", type=Path, required=True, help="run folder (resumes if present)")
    train.add_argument("--tokenizer", type=Path,
                       help="tokenizer.json for a fresh model (default: the packed corpus's own)")
    train.add_argument("--init", type=Path, help="checkpoint to fine-tune (e.g. the default)")
    budget = train.add_mutually_exclusive_group(required=True)
    budget.add_argument("--minutes", type=float, help="training-time budget of the whole run")
    budget.add_argument("--steps", type=int, help="step budget of the whole run")
    train.add_argument("--size", default="small",
                       help="model size for a fresh model: tiny, small (the 6M default), base "
                            "(20M, ships as bf16), large (45M), or a JSON file of ModelSize fields")
    train.add_argument("--batch", type=int, default=32,
                       help="global batch: canvases per step over all processes")
    train.add_argument("--lr", type=float, default=1e-3)
    train.add_argument("--warmup", type=int, default=200, help="linear warmup steps")
    train.add_argument("--canvas", type=int, default=128)
    train.add_argument("--checkpoint-minutes", type=float, default=10.0)
    train.add_argument("--heldout-examples", type=int, default=256)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--threads", type=int, default=0)
    train.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda")
    train.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=None,
                       help="bf16 autocast (default: on CUDA devices with bf16, and on CPUs with "
                            "native bf16 matmuls, avx512_bf16 or AMX; elsewhere it is many times "
                            "slower than fp32)")
    train.add_argument("--compile", action=argparse.BooleanOptionalAction, default=False,
                       help="torch.compile the encoder (worth it on GPUs; falls back if it fails)")
    train.add_argument("--workers", type=int,
                       help="data-loader processes (default: 0 on the CPU, up to 8 per GPU)")
    train.add_argument("--log-every", type=int, default=50, help="steps per steps.csv row")
    train.add_argument("--snapshots", action=argparse.BooleanOptionalAction, default=True,
                       help="keep a weights-only copy of every checkpoint under snapshots/")
    train.add_argument("--noise", action="append", default=[], metavar="FIELD=VALUE",
                       help="override a NoiseConfig field (model/noise.py), e.g. p_context_mask=0")
    train.set_defaults(func=run_train)

    model = sub.add_parser("model", help="inspect checkpoints, build the corpus and tokenizer")
    msub = model.add_subparsers(dest="model_command", required=True)
    info = msub.add_parser("info", help="parameters, vocabulary and provenance of a checkpoint")
    info.add_argument("--model", type=Path, default=DEFAULT_CHECKPOINT)
    info.add_argument("--json", action="store_true")
    info.set_defaults(func=run_info)
    corpus = msub.add_parser("corpus", help="rebuild the training corpus from the manifest")
    corpus.add_argument("--out", type=Path, default=DEFAULT_DATA / "corpus")
    corpus.add_argument("--cache", type=Path, default=DEFAULT_DATA / "sdists")
    corpus.add_argument("--manifest", type=Path, default=MANIFEST_PATH,
                        help="pinned sources (default: the shipped model's; "
                             "model/corpus_manifest_next.json: the next training run's)")
    corpus.add_argument("--pack", type=Path, default=DEFAULT_DATA / "packed",
                        help="also write the packed token ids here (see diffill model pack)")
    corpus.add_argument("--no-pack", dest="pack", action="store_const", const=None)
    corpus.set_defaults(func=run_corpus)
    pack = msub.add_parser("pack", help="pre-tokenize a JSONL corpus: compressed uint16 ids "
                                        "for fast training (what a GPU run carries)")
    pack.add_argument("--corpus", type=Path, default=DEFAULT_DATA / "corpus")
    pack.add_argument("--tokenizer", type=Path, default=DEFAULT_CHECKPOINT / "tokenizer.json")
    pack.add_argument("--out", type=Path, default=DEFAULT_DATA / "packed")
    pack.add_argument("--max-train-tokens", type=int,
                      help="keep a fixed pseudo-random share of the train files up to this many tokens")
    pack.add_argument("--bench", type=Path, default=DEFAULT_DATA / "bench" / "repos.jsonl",
                      help="held-out-repository tasks to carry along, trimmed (if the file exists)")
    pack.set_defaults(func=run_pack)
    mine = msub.add_parser("corpus-from", help="a fine-tuning corpus from your own repository")
    mine.add_argument("root", type=Path)
    mine.add_argument("--out", type=Path, required=True)
    mine.add_argument("--ext", nargs="+", default=[".py"], help="file extensions to include")
    mine.set_defaults(func=run_corpus_from)
    tok = msub.add_parser("tokenizer", help="train the BPE tokenizer and report compression")
    tok.add_argument("--corpus", type=Path, default=DEFAULT_DATA / "corpus")
    tok.add_argument("--vocab", type=int, nargs="+", default=[8192])
    tok.add_argument("--out", type=Path, default=DEFAULT_DATA)
    tok.set_defaults(func=run_tokenizer)
    export = msub.add_parser("export", help="copy a checkpoint's weights for shipping")
    export.add_argument("checkpoint", type=Path)
    export.add_argument("--out", type=Path, default=DEFAULT_CHECKPOINT)
    export.add_argument("--dtype", choices=("auto", "fp32", "bf16"), default="auto",
                        help="stored weights; auto: fp32 unless that exceeds 40 MB, then bf16 "
                             "(loads as fp32 either way)")
    export.set_defaults(func=run_export)


def run_train(args: argparse.Namespace) -> int:
    from .noise import for_canvas, with_overrides
    from .presets import resolve_size
    from .train import TrainConfig, train

    try:
        noise = with_overrides(for_canvas(args.canvas), args.noise)
        size = resolve_size(args.size)
    except ValueError as exc:
        print(f"diffill: {exc}", file=sys.stderr)
        return 2
    cfg = TrainConfig(
        corpus=args.corpus, out=args.out, tokenizer=args.tokenizer, init=args.init,
        minutes=args.minutes, steps=args.steps, batch=args.batch, lr=args.lr,
        warmup_steps=args.warmup, checkpoint_minutes=args.checkpoint_minutes,
        heldout_examples=args.heldout_examples, seed=args.seed, threads=args.threads,
        noise=noise, size=size, device=args.device, bf16=args.bf16, compile=args.compile,
        workers=args.workers, log_every=args.log_every, keep_snapshots=args.snapshots,
    )
    on_checkpoint = getattr(args, "on_checkpoint", None)
    try:
        train(cfg, on_checkpoint)
    except (ValueError, FileNotFoundError) as exc:
        print(f"diffill: {exc}", file=sys.stderr)
        return 2
    return 0


def checkpoint_info(path: Path) -> dict[str, object]:
    from .checkpoint import count_parameters, lineage_totals, load_checkpoint

    model, tok, meta = load_checkpoint(path)
    cfg = model.config
    lineage = lineage_totals(meta.training)
    return {
        "path": str(path),
        "architecture": type(model).__name__,
        "parameters": count_parameters(model),
        "vocabulary": tok.get_vocab_size(),
        "hidden": cfg.hidden_size,
        "layers": cfg.num_hidden_layers,
        "canvas": meta.canvas,
        "special_ids": {"pad": meta.pad_id, "mask": meta.mask_id, "null": meta.null_id,
                        "bos": meta.bos_id, "eos": meta.eos_id},
        "tokens_seen": meta.training.get("tokens_seen"),
        "cpu_hours": meta.training.get("cpu_hours"),
        "gpu_hours": meta.training.get("gpu_hours"),
        # Including the checkpoints it was fine-tuned from (`--init`).
        "total_tokens_seen": int(lineage["tokens_seen"]),
        "total_cpu_hours": lineage["cpu_hours"],
        "total_gpu_hours": lineage["gpu_hours"],
        "heldout_loss": meta.training.get("heldout_loss"),
        "heldout_token_acc": meta.training.get("heldout_token_acc"),
    }


def run_info(args: argparse.Namespace) -> int:
    try:
        info = checkpoint_info(args.model)
    except CheckpointError as exc:
        print(f"diffill: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        for key, value in info.items():
            print(f"{key:>18}: {value}")
    return 0


def run_corpus(args: argparse.Namespace) -> int:
    from .corpus import CorpusError, build_corpus

    try:
        summary = build_corpus(args.out, args.cache, args.manifest)
    except CorpusError as exc:
        print(f"diffill: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2))
    if args.pack is not None:
        from .packed import pack_bench, pack_corpus

        meta = pack_corpus(args.out, DEFAULT_CHECKPOINT / "tokenizer.json", args.pack)
        bench = DEFAULT_DATA / "bench" / "repos.jsonl"
        if bench.is_file():  # the held-out-repository tasks travel with the packed corpus
            meta["bench"] = pack_bench(bench, args.pack)
        print(json.dumps({k: meta[k] for k in ("splits", "bench") if k in meta}, indent=2))
    return 0


def run_pack(args: argparse.Namespace) -> int:
    from .packed import pack_bench, pack_corpus

    if not (args.corpus / "train.jsonl").is_file():
        print(f"diffill: {args.corpus} has no train.jsonl: build it with `diffill model corpus`",
              file=sys.stderr)
        return 2
    meta = pack_corpus(args.corpus, args.tokenizer, args.out, args.max_train_tokens)
    if args.bench.is_file():
        meta["bench"] = pack_bench(args.bench, args.out)
    print(json.dumps(meta, indent=2))
    return 0


def run_corpus_from(args: argparse.Namespace) -> int:
    from .corpus import corpus_from_dir

    if not args.root.is_dir():
        print(f"diffill: {args.root} is not a folder", file=sys.stderr)
        return 2
    summary = corpus_from_dir(args.root, args.out, tuple(args.ext))
    if not summary["files"]:
        print(f"diffill: no {' '.join(args.ext)} files under {args.root}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2))
    return 0


def run_tokenizer(args: argparse.Namespace) -> int:
    from .corpus import iter_texts
    from .tokenizer import bytes_per_token, round_trip_failures, train_tokenizer

    held = list(iter_texts(args.corpus / "heldout.jsonl"))
    for vocab in args.vocab:
        tok = train_tokenizer(iter_texts(args.corpus / "train.jsonl"), vocab)
        out = args.out / f"tokenizer-{vocab}.json"
        tok.save(str(out))
        print(json.dumps({
            "vocab": vocab, "path": str(out),
            "heldout_bytes_per_token": round(bytes_per_token(tok, held), 3),
            "heldout_round_trip_failures": len(list(round_trip_failures(tok, held))),
        }))
    return 0


def run_export(args: argparse.Namespace) -> int:
    from .presets import export_checkpoint

    try:
        export_checkpoint(args.checkpoint, args.out, args.dtype)
    except CheckpointError as exc:
        print(f"diffill: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(checkpoint_info(args.out), indent=2))
    return 0
