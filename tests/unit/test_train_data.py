"""Packed corpus, id-window canvases, world-size-independent batches, presets and export."""

from __future__ import annotations

import json
import random
import sysconfig
from pathlib import Path

import numpy as np
import pytest
import torch

from diffill.model.checkpoint import (
    DenoiserMeta,
    count_parameters,
    load_checkpoint,
    new_model,
    save_checkpoint,
)
from diffill.model.data import StepBatches, make_example, open_source, rank_slots
from diffill.model.noise import for_canvas
from diffill.model.packed import file_bounds, is_packed, open_split, pack_corpus, read_meta
from diffill.model.paths import DEFAULT_CHECKPOINT
from diffill.model.presets import SHIP_LIMIT_BYTES, SIZES, export_checkpoint, resolve_size
from diffill.model.stream import StreamExampleMaker
from diffill.model.tokenizer import EOS, load_tokenizer

TOKENIZER = DEFAULT_CHECKPOINT / "tokenizer.json"


def stdlib_texts(n: int) -> list[tuple[str, str]]:
    root = Path(sysconfig.get_paths()["stdlib"])
    files = [f for f in sorted(root.glob("*.py")) if 2_000 < f.stat().st_size < 40_000][:n]
    return [(f.name, f.read_text(encoding="utf-8")) for f in files]


def write_corpus(folder: Path, n: int = 24) -> Path:
    """JSONL corpus: every sixth file held out."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "train.jsonl").open("w") as train, (folder / "heldout.jsonl").open("w") as held:
        for i, (name, text) in enumerate(stdlib_texts(n)):
            (held if i % 6 == 0 else train).write(json.dumps({"path": name, "text": text}) + "\n")
    return folder


def packed_corpus(base: Path, n: int = 24) -> Path:
    jsonl = write_corpus(base / "jsonl", n)
    pack_corpus(jsonl, TOKENIZER, base / "packed")
    return base / "packed"



@pytest.fixture(scope="module")
def tok():
    return load_tokenizer(TOKENIZER)


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    return packed_corpus(tmp_path_factory.mktemp("corpus"))


def test_packed_split_is_every_file_then_a_separator(packed, tok):
    assert is_packed(packed) and (packed / "tokenizer.json").is_file()
    ids = open_split(packed, "train")
    texts = [json.loads(line)["text"] for line in (packed.parent / "jsonl" / "train.jsonl").open()]
    expected = np.concatenate([np.array(tok.encode(t).ids + [EOS]) for t in texts])
    assert ids.dtype == np.uint16 and np.array_equal(np.asarray(ids), expected)
    starts, ends = file_bounds(ids)
    assert len(starts) == len(texts) and tok.decode(ids[starts[1] : ends[1]].tolist()) == texts[1]
    meta = read_meta(packed)
    split = meta["splits"]["train"]
    assert split["tokens"] == len(ids) and split["files"] == len(texts)
    # uint16 is 2 bytes a token; LZMA brings it under 1 (0.68 on these files, 0.57 on the corpus).
    assert split["compressed_bytes"] < 0.9 * len(ids)


def test_canvas_edges_are_encoded_as_the_engine_encodes_them(tok):
    """Prefix, middle and suffix ids cut from stored ids equal separate encodings."""
    maker = StreamExampleMaker(tok, for_canvas(256), seed=0)
    same = total = 0
    for _, text in stdlib_texts(8):
        ids = tok.encode(text).ids
        view, offsets = maker.view(ids)
        starts = maker.line_starts(view)
        maker.holes.lines = starts
        for _ in range(60):
            span, _budget = maker.pick_hole(view, starts)
            if span is None:
                continue
            b, e = span
            got = maker.cut(ids, view, offsets, span)
            real = [view[a:z].encode("latin-1").decode("utf-8", errors="replace")
                    for a, z in ((0, b), (b, e), (e, len(view)))]
            want = tuple(tok.encode(part).ids for part in real)
            total += 1
            same += got == want
    assert total > 300 and same / total > 0.99


def test_canvases_depend_on_seed_step_and_slot_only(packed, tok):
    noise = for_canvas(64)
    a = open_source(packed, "train", tok, noise)
    b = open_source(packed, "train", tok, noise)
    for slot in (0, 5, 7):
        x, y = make_example(a, 3, 11, slot, 8), make_example(b, 3, 11, slot, 8)
        assert (x.input_ids, x.targets, x.weights) == (y.input_ids, y.targets, y.weights)
    assert make_example(a, 3, 11, 0, 8).input_ids != make_example(a, 3, 12, 0, 8).input_ids


def test_two_ranks_together_make_the_one_process_batch(packed, tok):
    noise = for_canvas(64)
    assert list(rank_slots(8, 1, 2)) == [4, 5, 6, 7]
    with pytest.raises(ValueError, match="multiple of the world size"):
        rank_slots(9, 0, 2)

    def first(rank: int, world: int) -> dict[str, torch.Tensor]:
        step, batch = next(iter(StepBatches(packed, tok, noise, 0, 8, rank, world, start=5)))
        assert step == 5
        return batch

    one = first(0, 1)
    two = [first(0, 2), first(1, 2)]
    for key in one:
        assert torch.equal(one[key], torch.cat([two[0][key], two[1][key]]))


def test_each_rank_reads_its_own_part_of_the_stream(packed, tok):
    source = open_source(packed, "train", tok, for_canvas(64))
    drawn: list[int] = []
    source.draw = lambda pos: drawn.append(pos)  # type: ignore[method-assign]
    with pytest.raises(ValueError):  # draw returns None: every try is recorded, then it gives up
        make_example(source, 0, 0, 1, 2)
    assert drawn and all(source.size // 2 <= p < source.size for p in drawn)


def test_jsonl_and_packed_corpora_both_feed_training(packed, tok):
    for corpus in (packed, packed.parent / "jsonl"):
        source = open_source(corpus, "heldout", tok, for_canvas(64))
        ex = make_example(source, 0, 0, 0, 4)
        assert len(ex.input_ids) <= 64 and any(t != -100 for t in ex.targets)


def test_presets_base_ships_as_bf16_large_does_not(tmp_path):
    with torch.device("meta"):  # shapes only: no memory, no initialisation
        params = {name: count_parameters(new_model(8192, size, 512)) for name, size in SIZES.items()}
    assert params["small"] == 6_106_624  # the shipped default's size
    assert 19e6 < params["base"] and 2 * params["base"] < SHIP_LIMIT_BYTES < 4 * params["base"]
    assert 40e6 < params["large"] < 50e6 and 2 * params["large"] > SHIP_LIMIT_BYTES
    custom = tmp_path / "size.json"
    custom.write_text(json.dumps({"hidden": 96, "layers": 3, "heads": 3}))
    assert resolve_size(str(custom)).hidden == 96 and resolve_size("tiny") == SIZES["tiny"]
    with pytest.raises(ValueError, match="--size"):
        resolve_size("huge")


def test_bf16_export_halves_the_file_and_loads_as_fp32(tmp_path, tok):
    torch.manual_seed(0)
    model = new_model(tok.get_vocab_size(), SIZES["tiny"], 512)
    save_checkpoint(tmp_path / "run", model, tok, DenoiserMeta(canvas=64))
    assert export_checkpoint(tmp_path / "run", tmp_path / "fp32", "auto") == "fp32"  # small: fp32
    assert export_checkpoint(tmp_path / "run", tmp_path / "bf16", "bf16") == "bf16"
    full = (tmp_path / "fp32" / "model.safetensors").stat().st_size
    half = (tmp_path / "bf16" / "model.safetensors").stat().st_size
    assert half < 0.55 * full
    loaded, _, meta = load_checkpoint(tmp_path / "bf16")
    assert meta.canvas == 64
    for (name, p), q in zip(loaded.named_parameters(), model.parameters(), strict=True):
        assert p.dtype == torch.float32, name
        assert torch.allclose(p, q, rtol=1e-2, atol=1e-2), name


def test_seeds_are_strings_hashed_the_same_everywhere():
    a, b = random.Random(), random.Random()
    a.seed("0:1:2")
    b.seed("0:1:2")
    assert a.random() == b.random()


def test_bench_tasks_travel_trimmed_and_make_engine_shaped_canvases(packed, tok, tmp_path):
    from diffill.model.packed import BENCH_FILE, pack_bench, read_bench
    from diffill.model.task_eval import is_single_line, task_canvas
    from diffill.model.tokenizer import BOS, MASK

    long_prompt = "x = 1\n" * 2000 + "def f():\n    "
    tasks = [{"task_id": "a", "kind": "whole_line", "prompt": "def f():\n    ",
              "canonical_solution": "return 1\n", "suffix": "\nprint(f())\n"},
             {"task_id": "b", "kind": "block", "prompt": long_prompt,
              "canonical_solution": "a = 1\n    b = 2\n", "suffix": ""}]
    src = tmp_path / "tasks.jsonl"
    src.write_text("".join(json.dumps(t) + "\n" for t in tasks))
    info = pack_bench(src, packed)
    assert read_meta(packed)["bench"]["tasks"] == info["tasks"] == 2
    back = read_bench(packed / BENCH_FILE)
    assert back[0]["prompt"] == tasks[0]["prompt"] and back[0]["prompt_whole"]
    assert len(back[1]["prompt"]) < len(long_prompt) and not back[1]["prompt_whole"]
    assert [is_single_line(t) for t in back] == [True, False]
    c = task_canvas(tok, back[0], canvas=64, slots=8)
    assert c.ids[0] == BOS and c.ids[c.slot_start : c.slot_start + 8] == [MASK] * 8
    assert c.ids[c.slot_start - 1] != MASK and c.middle == tok.encode("return 1\n").ids
    trimmed = task_canvas(tok, back[1], canvas=64, slots=8)
    assert len(trimmed.ids) <= 64 and trimmed.ids[0] != BOS  # the file's start is not in view


def test_a_corpus_packed_with_another_tokenizer_is_refused(tmp_path):
    from diffill.model.tokenizer import train_tokenizer
    from diffill.model.train import TrainConfig, train

    texts = [text for _, text in stdlib_texts(6)]
    other = tmp_path / "other.json"
    train_tokenizer(texts, 400).save(str(other))
    jsonl = write_corpus(tmp_path / "jsonl", 6)
    pack_corpus(jsonl, other, tmp_path / "packed")
    cfg = TrainConfig(corpus=tmp_path / "packed", out=tmp_path / "run", init=DEFAULT_CHECKPOINT, steps=1)
    with pytest.raises(ValueError, match="another tokenizer"):
        train(cfg)


def test_loader_workers_deliver_the_same_steps_in_order(packed, tok):
    from diffill.model.data import step_loader

    def steps(workers: int) -> list[tuple[int, torch.Tensor]]:
        dataset = StepBatches(packed, tok, for_canvas(64), 0, 4, 0, 1, start=2)
        it = iter(step_loader(dataset, workers, pin=False))
        return [(step, batch["input_ids"]) for step, batch in (next(it) for _ in range(4))]

    inline, forked = steps(0), steps(2)
    assert [s for s, _ in forked] == [2, 3, 4, 5]
    assert all(a == c and torch.equal(b, d) for (a, b), (c, d) in zip(inline, forked, strict=True))


def test_a_token_budget_keeps_whole_files_spread_over_the_corpus(tmp_path):
    jsonl = write_corpus(tmp_path / "jsonl", 24)
    total = pack_corpus(jsonl, TOKENIZER, tmp_path / "full")["splits"]["train"]["tokens"]
    capped = pack_corpus(jsonl, TOKENIZER, tmp_path / "capped", max_train_tokens=total // 2)
    kept = open_split(tmp_path / "capped", "train")
    assert 0 < len(kept) == capped["splits"]["train"]["tokens"] <= total // 2
    # every kept file is one whole file of the corpus, in corpus order
    paths = [json.loads(line)["path"] for line in (jsonl / "train.jsonl").read_text().splitlines()]
    texts = [json.loads(line)["text"] for line in (jsonl / "train.jsonl").read_text().splitlines()]
    tok = load_tokenizer(TOKENIZER)
    starts, ends = file_bounds(kept)
    files = [list(kept[s:e]) for s, e in zip(starts, ends, strict=True)]
    whole = [tok.encode(t).ids for t in texts]
    positions = [whole.index(f) for f in files]
    assert positions == sorted(positions)
    # not merely the first files by path (the alphabetically first projects)
    assert positions != list(range(len(positions))) and max(positions) >= len(paths) // 2
    # the same corpus and budget give the same subset
    again = pack_corpus(jsonl, TOKENIZER, tmp_path / "again", max_train_tokens=total // 2)
    assert again["splits"]["train"]["raw_sha256"] == capped["splits"]["train"]["raw_sha256"]
