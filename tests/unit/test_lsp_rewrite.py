"""Rewrites keep the shape of the range they replace."""

from __future__ import annotations

from diffill.infill.api import Candidate, FillResult
from diffill.infill.syntax import HoleKind
from diffill.lsp.rewrite import fit_to_range, fitted


def test_one_line_gets_one_line_back():
    assert fit_to_range("    total = a - b\n\n", "    total = a + b") == "    total = a - b"
    assert fit_to_range("    total = a - b\n    x = 1\n", "    total = a + b\n") == "    total = a - b\n"
    assert fit_to_range("x = 1\r\n", "x = 2\r\n") == "x = 1\r\n"


def test_multi_line_ranges_lose_only_added_blank_lines():
    old = "def f():\n    return 1\n"
    assert fit_to_range("def f():\n    return 2\n\n\n", old) == "def f():\n    return 2\n"
    assert fit_to_range("def f():\n    pass", old) == "def f():\n    pass\n"
    assert fit_to_range("a\nb\n", "a\nb") == "a\nb"


def test_candidates_that_become_equal_merge():
    result = FillResult(0, 5, HoleKind.RANGE, [Candidate("y = 2\n\n", -1.0, True),
                                                Candidate("y = 2\nz = 3\n", -2.0, True)])
    assert [c.text for c in fitted(result, "y = 1").candidates] == ["y = 2"]
