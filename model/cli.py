"""`diffill train` and `diffill model …`: corpus, tokenizer, training and checkpoint info."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import CheckpointError
from .paths import DEFAULT_CHECKPOINT

DEFAULT_DATA = Path("data")


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    train = sub.add_parser("train", help="train or fine-tune a denoiser (resumable)")
    train.add_argument("--corpus", type=Path, required=True,
                       help="folder with train.jsonl and heldout.jsonl (diffill model corpus)")
    train.add_argument("--out", type=Path, required=True, help="run folder (resumes if present)")
    train.add_argument("--tokenizer", type=Path, help="tokenizer.json for a fresh model")
    train.add_argument("--init", type=Path, help="checkpoint to fine-tune (e.g. the default)")
    budget = train.add_mutually_exclusive_group(required=True)
    budget.add_argument("--minutes", type=float, help="training-time budget of the whole run")
    budget.add_argument("--steps", type=int, help="step budget of the whole run")
    train.add_argument("--batch", type=int, default=32)
    train.add_argument("--lr", type=float, default=1e-3)
    train.add_argument("--canvas", type=int, default=128)
    train.add_argument("--checkpoint-minutes", type=float, default=10.0)
    train.add_argument("--threads", type=int, default=0)
    train.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=None,
                       help="bf16 autocast (default: only on CPUs with native bf16 matmuls, "
                            "avx512_bf16 or AMX; elsewhere it is many times slower than fp32)")
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
    corpus.set_defaults(func=run_corpus)
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
    export.set_defaults(func=run_export)


def run_train(args: argparse.Namespace) -> int:
    from .noise import for_canvas, with_overrides
    from .train import TrainConfig, train

    try:
        noise = with_overrides(for_canvas(args.canvas), args.noise)
    except ValueError as exc:
        print(f"diffill: {exc}", file=sys.stderr)
        return 2
    cfg = TrainConfig(
        corpus=args.corpus, out=args.out, tokenizer=args.tokenizer, init=args.init,
        minutes=args.minutes, steps=args.steps, batch=args.batch, lr=args.lr,
        checkpoint_minutes=args.checkpoint_minutes, threads=args.threads, noise=noise,
        **({} if args.bf16 is None else {"bf16": args.bf16}),
    )
    on_checkpoint = getattr(args, "on_checkpoint", None)
    train(cfg, on_checkpoint)
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
        # Including the checkpoints it was fine-tuned from (`--init`).
        "total_tokens_seen": int(lineage["tokens_seen"]),
        "total_cpu_hours": lineage["cpu_hours"],
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
        summary = build_corpus(args.out, args.cache)
    except CorpusError as exc:
        print(f"diffill: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2))
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
    from .checkpoint import load_checkpoint, save_checkpoint

    model, tok, meta = load_checkpoint(args.checkpoint)
    save_checkpoint(args.out, model, tok, meta)
    print(json.dumps(checkpoint_info(args.out), indent=2))
    return 0
