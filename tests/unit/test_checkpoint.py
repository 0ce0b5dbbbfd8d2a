from __future__ import annotations

import shutil

import pytest
import torch
from transformers import AutoModelForMaskedLM

from diffill.model.checkpoint import DEFAULT_CHECKPOINT, CheckpointError, load_checkpoint
from diffill.model.denoiser import MaskedLMDenoiser


def test_shipped_checkpoint_loads_with_plain_transformers():
    model = AutoModelForMaskedLM.from_pretrained(DEFAULT_CHECKPOINT, use_safetensors=True)
    assert type(model).__name__ == "ModernBertForMaskedLM"
    assert sum(p.numel() for p in model.parameters()) < 10_000_000  # fits the 40 MB budget


def test_shipped_checkpoint_is_small_enough():
    size = sum(f.stat().st_size for f in DEFAULT_CHECKPOINT.iterdir() if f.is_file())
    assert size <= 40 * 1024 * 1024


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope")


def test_incomplete_checkpoint_names_the_missing_file(tmp_path):
    shutil.copytree(DEFAULT_CHECKPOINT, tmp_path / "ck")
    (tmp_path / "ck" / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="model.safetensors"):
        load_checkpoint(tmp_path / "ck")


def test_corrupt_weights_are_a_clear_error(tmp_path):
    shutil.copytree(DEFAULT_CHECKPOINT, tmp_path / "ck")
    (tmp_path / "ck" / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match="could not be loaded"):
        load_checkpoint(tmp_path / "ck")


def test_corrupt_metadata_is_a_clear_error(tmp_path):
    shutil.copytree(DEFAULT_CHECKPOINT, tmp_path / "ck")
    (tmp_path / "ck" / "diffill.json").write_text("{ not json")
    with pytest.raises(CheckpointError, match="diffill.json"):
        load_checkpoint(tmp_path / "ck")


@pytest.mark.parametrize("field, value",
                         [("line_canvas", 40), ("line_canvas", 4096), ("line_suffix_share", 1.5)])
def test_a_line_canvas_shape_that_cannot_work_is_a_clear_error(tmp_path, field, value):
    import json

    shutil.copytree(DEFAULT_CHECKPOINT, tmp_path / "ck")
    meta = json.loads((tmp_path / "ck" / "diffill.json").read_text())
    meta[field] = value
    (tmp_path / "ck" / "diffill.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=field):
        MaskedLMDenoiser(tmp_path / "ck", device="cpu")


def test_pickle_weights_are_never_loaded(tmp_path):
    # A checkpoint that only has a pickle (pytorch_model.bin) must be refused, not executed.
    shutil.copytree(DEFAULT_CHECKPOINT, tmp_path / "ck")
    (tmp_path / "ck" / "model.safetensors").unlink()
    torch.save({}, tmp_path / "ck" / "pytorch_model.bin")
    with pytest.raises(CheckpointError):
        MaskedLMDenoiser(tmp_path / "ck", device="cpu")


def test_lineage_totals_add_up_fine_tuned_runs():
    from diffill.model.checkpoint import lineage_totals

    base = {"cpu_hours": 3.0, "tokens_seen": 100}
    tuned = {"init": "a", "init_training": base, "cpu_hours": 1.5, "tokens_seen": 40}
    again = {"init": "b", "init_training": tuned, "cpu_hours": 0.25, "gpu_hours": 0.5, "tokens_seen": 5}
    assert lineage_totals(again) == {"cpu_hours": 4.75, "gpu_hours": 0.5, "tokens_seen": 145.0, "runs": 3}
    assert lineage_totals({}) == {"cpu_hours": 0.0, "gpu_hours": 0.0, "tokens_seen": 0.0, "runs": 0}
