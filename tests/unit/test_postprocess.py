from __future__ import annotations

from diffill.infill.postprocess import drop_suffix_overlap, is_noise, reindent, single_line


def test_single_line_keeps_first_line():
    assert single_line("return x\n    y = 2", "", at_line_start=False) == "return x"


def test_single_line_before_existing_code_ends_with_newline():
    assert single_line("    x = 1\n    y", "    return x", at_line_start=True) == "    x = 1\n"


def test_drop_repeat_of_rest_of_line():
    # The editor auto-closed the call: the fill must not close it again.
    assert drop_suffix_overlap("total(x))", ")\n") == "total(x)"
    assert drop_suffix_overlap("range(n):", ":\n    pass\n") == "range(n)"


def test_overlap_never_deletes_everything():
    assert drop_suffix_overlap(")", ")\n") == ")"


def test_drop_repeated_following_lines():
    fill = "x = 1\n    return x\n"
    after = "\n    return x\n"
    assert drop_suffix_overlap(fill, after) == "x = 1\n"


def test_noise_fills():
    assert is_noise("   ")
    assert is_noise(")")
    assert is_noise("})")
    assert not is_noise("x)")


def test_reindent_body_below_block_indent():
    # The model dedented the block: shift it under the cursor line, keeping its shape.
    fill = "if x:\n    y()\nz()"
    assert reindent(fill, "        ", True) == "if x:\n            y()\n        z()"


def test_reindent_leaves_correct_indentation():
    fill = "if x:\n        y()"
    assert reindent(fill, "    ", True) == fill
