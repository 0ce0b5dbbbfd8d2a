"""Rewrites keep the shape of the range they replace."""

from __future__ import annotations

from diffill.infill.api import FillRequest
from diffill.infill.postprocess import fit_to_range


def test_one_line_gets_one_line_back():
    assert fit_to_range("    total = a - b\n\n", "    total = a + b") == "    total = a - b"
    assert fit_to_range("    total = a - b\n    x = 1\n", "    total = a + b\n") == "    total = a - b\n"
    assert fit_to_range("x = 1\r\n", "x = 2\r\n") == "x = 1\r\n"


def test_multi_line_ranges_lose_only_added_blank_lines():
    old = "def f():\n    return 1\n"
    assert fit_to_range("def f():\n    return 2\n\n\n", old) == "def f():\n    return 2\n"
    assert fit_to_range("def f():\n    pass", old) == "def f():\n    pass\n"
    assert fit_to_range("a\nb\n", "a\nb") == "a\nb"


def test_engine_rewrites_keep_the_shape_of_the_range(engine):
    # The engine fits every rewrite (CLI and server alike); equal fitted texts merge.
    text = "def f(a, b):\n    total = a + b\n    return total\n"
    start = text.index("    total")
    end = text.index("\n", start)
    res = engine.fill(FillRequest(text=text, start=start, end=end, language="python", n=3))
    texts = [c.text for c in res.candidates]
    assert texts and all("\n" not in t for t in texts) and len(texts) == len(set(texts))
