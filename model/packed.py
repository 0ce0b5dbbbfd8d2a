"""Pre-tokenized corpus: token ids as uint16, compressed to travel, memory-mapped to train.

Layout of a packed folder (`diffill model pack`, or `diffill model corpus` by default):
  meta.json         format, tokenizer sha256, vocabulary, token and document counts per split
  tokenizer.json    the tokenizer the ids belong to
  train.u16.xz      the train split: every file's ids followed by one separator (eos) id,
  heldout.u16.xz    as little-endian uint16, LZMA-compressed (stdlib, no extra package):
                    0.57 bytes a token on this corpus (splitting low and high bytes into two
                    planes first was measured 42% larger)

`open_split` decompresses a split once into a user cache (~/.cache/diffill/packed, moved by
DIFFILL_CACHE; a temp folder if neither is writable) and memory-maps it, so every data-loader
worker shares the same pages.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from .corpus import iter_paths, iter_texts
from .tokenizer import EOS

FORMAT = "diffill-packed-2"  # 1 stored byte planes (an earlier commit of this session)
SEPARATOR = EOS  # never produced by encoding text (special tokens are encoded as text)
SPLITS = ("train", "heldout")


def subset_within(ids: np.ndarray, paths: Iterator[str], max_tokens: int) -> np.ndarray:
    """The files of packed ids (each ending in the separator) that fit max_tokens, in their order.

    Files are taken in the order of a hash of their path, so the subset spreads over every
    project (the first files by path would be the alphabetically first projects) and the same
    corpus and budget always give the same subset.
    """
    starts, seps = file_bounds(ids)
    ends = seps + 1  # each file keeps its separator
    names = list(paths)
    if len(names) != len(ends):
        raise ValueError(f"{len(names)} paths for {len(ends)} packed files")
    order = sorted(range(len(names)), key=lambda i: hashlib.sha256(names[i].encode()).digest())
    keep = np.zeros(len(names), dtype=bool)
    total = 0
    for i in order:
        size = int(ends[i] - starts[i])
        if total + size <= max_tokens:
            keep[i] = True
            total += size
    if not total:
        return ids[:0]
    kept: np.ndarray = np.concatenate([ids[starts[i] : ends[i]] for i in np.flatnonzero(keep)])
    return kept


def is_packed(folder: Path) -> bool:
    return (folder / "meta.json").is_file() and (folder / "train.u16.xz").is_file()


def encode_files(tok: Tokenizer, texts: Iterator[str], chunk: int = 512) -> np.ndarray:
    """All texts' ids, each followed by the separator (encode_batch runs on every core)."""
    parts: list[np.ndarray] = []
    batch: list[str] = []

    def flush() -> None:
        for enc in tok.encode_batch(batch):
            parts.append(np.asarray(enc.ids + [SEPARATOR], dtype=np.uint16))
        batch.clear()

    for text in texts:
        batch.append(text)
        if len(batch) >= chunk:
            flush()
    flush()
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint16)


def pack_corpus(
    corpus: Path, tokenizer: Path, out: Path, max_train_tokens: int | None = None
) -> dict[str, object]:
    """Tokenize a JSONL corpus folder (train.jsonl, heldout.jsonl) into a packed folder.

    `max_train_tokens` keeps a fixed pseudo-random share of the train files (`subset_within`)
    up to that many tokens, for a folder that must travel within a size limit.
    """
    from .tokenizer import load_tokenizer

    tok = load_tokenizer(tokenizer)
    if tok.get_vocab_size() > 65536:
        raise ValueError(f"vocabulary {tok.get_vocab_size()} does not fit uint16 ids")
    out.mkdir(parents=True, exist_ok=True)
    meta: dict[str, object] = {
        "format": FORMAT,
        "dtype": "uint16",
        "byte_order": "little",
        "separator": SEPARATOR,
        "vocab": tok.get_vocab_size(),
        "tokenizer_sha256": hashlib.sha256(tokenizer.read_bytes()).hexdigest(),
        "splits": {},
    }
    for split in SPLITS:
        ids = encode_files(tok, iter_texts(corpus / f"{split}.jsonl"))
        if split == "train" and max_train_tokens is not None and len(ids) > max_train_tokens:
            ids = subset_within(ids, iter_paths(corpus / f"{split}.jsonl"), max_train_tokens)
        data = lzma.compress(ids.astype("<u2").tobytes(), preset=9 | lzma.PRESET_EXTREME)
        name = f"{split}.u16.xz"
        (out / name).write_bytes(data)
        meta["splits"][split] = {  # type: ignore[index]
            "file": name,
            "tokens": int(len(ids)),
            "files": int((ids == SEPARATOR).sum()),
            "compressed_bytes": len(data),
            "raw_sha256": hashlib.sha256(ids.astype("<u2").tobytes()).hexdigest(),
        }
    shutil.copyfile(tokenizer, out / "tokenizer.json")
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def read_meta(folder: Path) -> dict[str, object]:
    meta = json.loads((folder / "meta.json").read_text())
    if meta.get("format") != FORMAT:
        raise ValueError(f"{folder}: packed format {meta.get('format')!r}, expected {FORMAT!r}")
    return meta  # type: ignore[no-any-return]


def cache_dir() -> Path:
    """Where unpacked splits live: outside the packed folder, so it stays small to carry."""
    xdg = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    base = Path(os.environ.get("DIFFILL_CACHE") or xdg / "diffill") / "packed"  # as infill's caches
    try:
        base.mkdir(parents=True, exist_ok=True)
        probe = base / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
        return base
    except OSError:
        fallback = Path(tempfile.gettempdir()) / "diffill-packed"
        fallback.mkdir(parents=True, exist_ok=True)
        return fallback


def open_split(folder: Path, split: str) -> np.ndarray:
    """The split's ids as a read-only memory map (unpacked on first use; safe under torchrun)."""
    meta = read_meta(folder)
    info = meta["splits"][split]  # type: ignore[index]
    digest = info["raw_sha256"]
    # Named by the content and the format: copies of one corpus share it.
    target = cache_dir() / f"{split}-{FORMAT}-{digest[:16]}.u16"
    if not target.exists() or target.stat().st_size != 2 * info["tokens"]:
        raw = lzma.decompress((folder / info["file"]).read_bytes())
        if hashlib.sha256(raw).hexdigest() != digest:
            raise ValueError(f"{folder / info['file']} does not hold the ids meta.json describes: "
                             "pack the corpus again (diffill model pack)")
        # Every rank may unpack at once: write a private file, then rename it into place.
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(raw)
        os.replace(tmp, target)
    return np.memmap(target, dtype="<u2", mode="r")


def file_bounds(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of every file in a split, separators excluded."""
    seps = np.flatnonzero(np.asarray(ids) == SEPARATOR)
    starts = np.concatenate([[0], seps[:-1] + 1]) if len(seps) else np.zeros(0, dtype=np.int64)
    return starts.astype(np.int64), seps.astype(np.int64)


BENCH_FILE = "bench.jsonl.xz"
BENCH_CONTEXT_CHARS = 4000  # of prompt and of suffix: more than any canvas holds


def pack_bench(tasks: Path, out: Path) -> dict[str, object]:
    """Held-out-repository tasks, with prompt and suffix trimmed to what a canvas can hold.

    The full task file carries whole files (tens of MB); the denoiser sees at most a canvas
    of context, so the trimmed copy travels with the packed corpus at a fraction of the size.
    """
    rows = []
    with tasks.open() as fh:
        for line in fh:
            if not line.strip():
                continue
            task = json.loads(line)
            prompt, suffix = task["prompt"], task["suffix"]
            rows.append({
                "task_id": task.get("task_id", ""),
                "kind": task.get("kind", ""),
                "prompt": prompt[-BENCH_CONTEXT_CHARS:],
                "prompt_whole": len(prompt) <= BENCH_CONTEXT_CHARS,
                "canonical_solution": task["canonical_solution"],
                "suffix": suffix[:BENCH_CONTEXT_CHARS],
                "suffix_whole": len(suffix) <= BENCH_CONTEXT_CHARS,
            })
    data = lzma.compress("".join(json.dumps(r) + "\n" for r in rows).encode())
    (out / BENCH_FILE).write_bytes(data)
    info = {"file": BENCH_FILE, "tasks": len(rows), "compressed_bytes": len(data),
            "source": str(tasks), "source_sha256": hashlib.sha256(tasks.read_bytes()).hexdigest()}
    meta_path = out / "meta.json"
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        meta["bench"] = info
        meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return info


def read_bench(path: Path) -> list[dict[str, object]]:
    """Tasks from a packed bench.jsonl.xz or a plain tasks .jsonl."""
    raw = lzma.decompress(path.read_bytes()).decode() if path.suffix == ".xz" else path.read_text()
    return [json.loads(line) for line in raw.splitlines() if line.strip()]
