from __future__ import annotations

import pytest

from diffill.infill.canvas import CanvasPlan, HealingIndex, build_canvas


def test_layout_prefix_slots_suffix(denoiser):
    tok, ids = denoiser.tokenizer, denoiser.ids
    text = "def add(a, b):\n    return a + b\n"
    cursor = text.index("return")
    cv = build_canvas(tok, ids, text, cursor, cursor, CanvasPlan(slots=12, max_canvas=64))
    assert cv.ids[0] == ids.bos and cv.ids[-1] == ids.eos  # whole file fits
    assert cv.ids[cv.slot_start : cv.slot_start + 12] == [ids.mask] * 12
    prefix = tok.decode(cv.ids[1 : cv.slot_start])
    suffix = tok.decode(cv.ids[cv.slot_start + 12 : -1])
    assert prefix + cv.healed == text[:cursor]
    assert suffix == text[cursor:]


def test_token_healing_backs_off_a_partial_word(denoiser):
    tok, ids = denoiser.tokenizer, denoiser.ids
    text = "import os\nresult = os.pa"
    cv = build_canvas(tok, ids, text, len(text), len(text), CanvasPlan(8, 64))
    assert cv.healed and text.endswith(cv.healed)
    allowed = HealingIndex(tok).allowed(cv.healed)
    path_ids = [i for i in range(tok.get_vocab_size()) if tok.decode([i]).startswith(cv.healed)]
    assert allowed.sum().item() == len(path_ids) >= 1


def test_no_healing_at_line_start(denoiser):
    text = "x = 1\n"
    cv = build_canvas(denoiser.tokenizer, denoiser.ids, text, len(text), len(text), CanvasPlan(8, 64))
    assert cv.healed == ""


def test_suffix_keeps_a_real_share_of_a_long_file(denoiser):
    tok, ids = denoiser.tokenizer, denoiser.ids
    text = "".join(f"value_{i} = compute({i})\n" for i in range(400))
    cursor = text.index("value_200")
    cv = build_canvas(tok, ids, text, cursor, cursor, CanvasPlan(slots=32, max_canvas=256))
    n_suffix = len(cv.ids) - cv.slot_start - 32
    assert len(cv.ids) <= 256
    assert n_suffix >= int((256 - 34) * 0.3) - 1
    assert cv.ids[0] != ids.bos and cv.ids[-1] != ids.eos  # truncated on both sides


def test_out_of_range_hole_is_rejected(denoiser):
    with pytest.raises(ValueError):
        build_canvas(denoiser.tokenizer, denoiser.ids, "abc", 2, 9, CanvasPlan(8, 64))
