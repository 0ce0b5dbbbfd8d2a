"""Training batches that do not depend on how many processes make them.

Every canvas of a step is fixed by (seed, step, slot), where slot is its index in the global
batch: its random generator is seeded with exactly that. Slot `i` of `B` draws from the i-th
of `B` equal, contiguous shards of the corpus (counted in tokens for a packed corpus, in
characters for JSONL), so under DistributedDataParallel rank `r` of `W` (slots `r*B/W` to
`(r+1)*B/W`) reads only its own contiguous `1/W` of the token stream. One process with batch
`B` and `W` processes with `B/W` each train on the same canvases; a run resumed at step `s`
with any world size continues with the canvases it would have seen.

Two corpus forms: a packed folder (`packed.py`, ids memory-mapped, canvases cut from id
windows: fast enough to feed a GPU) or a JSONL folder (texts, tokenized per canvas: the
original CPU path).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import replace
from itertools import count
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer

from .corpus import read_jsonl
from .noise import Example, ExampleMaker, NoiseConfig, collate
from .packed import file_bounds, is_packed, open_split
from .stream import StreamExampleMaker

MAX_TRIES = 1000  # draws per canvas before giving up (a corpus with no usable hole)


class TextSource:
    """Canvases from JSONL texts; a file is drawn with probability proportional to its length."""

    def __init__(self, corpus: Path, split: str, tok: Tokenizer, noise: NoiseConfig) -> None:
        self.texts = [f.text for f in read_jsonl(corpus / f"{split}.jsonl")]
        if not self.texts:
            raise ValueError(f"{corpus / f'{split}.jsonl'} holds no files")
        self.cum: list[int] = []
        total = 0
        for t in self.texts:
            total += len(t)
            self.cum.append(total)
        self.maker = ExampleMaker(tok, noise, seed=0)
        self.size = total

    def draw(self, pos: int) -> Example | None:
        return self.maker.make(self.texts[bisect.bisect_right(self.cum, pos)])


class StreamSource:
    """Canvases from a packed split: a window of up to 2 canvases of one file around `pos`."""

    def __init__(self, corpus: Path, split: str, tok: Tokenizer, noise: NoiseConfig) -> None:
        self.ids = open_split(corpus, split)  # (N,) uint16 memory map
        self.starts, self.ends = file_bounds(self.ids)
        if not len(self.starts):
            raise ValueError(f"{corpus}: split {split} holds no files")
        self.maker = StreamExampleMaker(tok, noise, seed=0)
        self.size = int(len(self.ids))
        self.half = noise.canvas

    def draw(self, pos: int) -> Example | None:
        f = int(np.searchsorted(self.starts, pos, side="right")) - 1
        start, end = int(self.starts[f]), int(self.ends[f])
        if end - start < 16:
            return None
        pos = min(max(pos, start), end - 1)
        lo, hi = max(start, pos - self.half), min(end, pos + self.half)
        window = self.ids[lo:hi].tolist()
        return self.maker.make_window(window, at_start=lo == start, at_end=hi == end)


Source = TextSource | StreamSource


def open_source(corpus: Path, split: str, tok: Tokenizer, noise: NoiseConfig) -> Source:
    if is_packed(corpus):
        return StreamSource(corpus, split, tok, noise)
    if (corpus / f"{split}.jsonl").is_file():
        return TextSource(corpus, split, tok, noise)
    raise FileNotFoundError(
        f"{corpus} is neither a packed corpus (meta.json, train.u16.xz) nor a JSONL corpus "
        f"({split}.jsonl): build one with `diffill model corpus`"
    )


def make_example(source: Source, seed: int, step: int, slot: int, slots: int) -> Example:
    """The canvas of global slot `slot` (of `slots`) at `step`: the same in every process."""
    rng = source.maker.rng
    rng.seed(f"{seed}:{step}:{slot}")  # str seeds hash with SHA-512: same in every process
    lo, hi = source.size * slot // slots, source.size * (slot + 1) // slots
    for _ in range(MAX_TRIES):
        ex = source.draw(rng.randrange(lo, max(hi, lo + 1)))
        if ex is not None:
            return ex
    raise ValueError(f"no usable canvas in {MAX_TRIES} draws: is the corpus too small?")


def rank_slots(batch: int, rank: int, world: int) -> range:
    if batch % world:
        raise ValueError(f"global batch {batch} is not a multiple of the world size {world}")
    per = batch // world
    return range(rank * per, (rank + 1) * per)


class StepBatches(torch.utils.data.IterableDataset):  # type: ignore[type-arg]
    """(step, this rank's batch) for steps `start`, `start + 1`, ... (workers take turns)."""

    def __init__(
        self, corpus: Path, tok: Tokenizer, noise: NoiseConfig, seed: int, batch: int,
        rank: int, world: int, start: int,
    ) -> None:
        self.corpus, self.tok, self.noise, self.seed = corpus, tok, noise, seed
        self.batch, self.slots, self.start = batch, rank_slots(batch, rank, world), start

    def __iter__(self) -> Iterator[tuple[int, dict[str, torch.Tensor]]]:
        # Opened here, in the worker: a memory map is not copied into each worker.
        source = open_source(self.corpus, "train", self.tok, self.noise)
        info = torch.utils.data.get_worker_info()
        wid, workers = (info.id, info.num_workers) if info else (0, 1)
        # DataLoader reads workers round-robin, so steps come out in order.
        for step in count(self.start + wid, workers):
            examples = [make_example(source, self.seed, step, s, self.batch) for s in self.slots]
            yield step, collate(examples, self.noise.canvas)


def step_loader(
    dataset: StepBatches, workers: int, pin: bool
) -> torch.utils.data.DataLoader:  # type: ignore[type-arg]
    return torch.utils.data.DataLoader(
        dataset, batch_size=None, num_workers=workers, pin_memory=pin,
        prefetch_factor=4 if workers else None, persistent_workers=False,
    )


def heldout_batches(
    corpus: Path, tok: Tokenizer, noise: NoiseConfig, n: int, batch: int
) -> list[dict[str, torch.Tensor]]:
    """A fixed held-out set (same seed every time) so losses are comparable across runs."""
    # Masked hole tokens only: context masking, noisy and drafted slots are training aids,
    # not what the engine asks for from an all-mask hole.
    noise = replace(noise, p_context_mask=0.0, p_replace_example=0.0, p_draft_example=0.0)
    source = open_source(corpus, "heldout", tok, noise)
    examples = [make_example(source, 12345, 0, i, n) for i in range(n)]
    return [collate(examples[i : i + batch], noise.canvas) for i in range(0, n, batch)]

