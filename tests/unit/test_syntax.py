from __future__ import annotations

import pytest

from diffill.infill.syntax import (
    GRAMMARS,
    HoleKind,
    StatementChecker,
    error_count,
    introduces_errors,
    language_for,
    parser_for,
    plan_hole,
    python_block_fits,
    statement_ok,
    statement_window,
    syntax_window,
)


@pytest.mark.parametrize("language", sorted(GRAMMARS))
def test_every_grammar_loads_offline(language):
    assert parser_for(language) is not None


@pytest.mark.parametrize(("path", "lang_id", "expected"), [
    ("a.py", None, "python"), ("a.tsx", None, "typescriptreact"), ("x.rs", None, "rust"),
    ("m.lua", None, "lua"), (None, "javascriptreact", "javascript"), ("a.unknown", None, None),
    (None, "cobol", None), ("a.go", "go", "go"),
])
def test_language_detection(path, lang_id, expected):
    assert language_for(path, lang_id) == expected


def test_errors_counted_and_compared():
    assert error_count("def f(:\n", "python") >= 1
    assert error_count("x = 1\n", "python") == 0
    assert introduces_errors("x = 1\n", "x = (1\n", "python")
    assert not introduces_errors("x = (\n", "x = (1)\n", "python")
    assert not introduces_errors("whatever", "whatever ((", None)  # plain text: no opinion


def test_hole_kinds_from_cursor():
    text = "def f(x):\n    \n"
    assert plan_hole(text, text.index("\n    \n") + 5, "python").kind == HoleKind.BLOCK
    text = "x = compute("
    assert plan_hole(text, len(text), "python").kind == HoleKind.REST_OF_LINE
    text = "x = 1\n\ny = 2\n"
    assert plan_hole(text, 6, "python").kind == HoleKind.LINE


def test_block_header_with_existing_body_is_a_line_hole():
    text = "def f(x):\n    \n    return x\n"
    assert plan_hole(text, text.index("\n    \n") + 5, "python").kind == HoleKind.LINE


def test_braces_open_a_block_in_c_like_languages():
    text = "function f(x) {\n  \n}\n"
    assert plan_hole(text, text.index("{\n") + 4, "javascript").kind == HoleKind.BLOCK


def test_syntax_window_is_the_whole_of_a_small_file():
    text = "def f():\n    return 1\n"
    assert syntax_window(text, 10, 10) == (0, len(text))


def test_syntax_window_cuts_large_files_at_unindented_lines():
    block = "def f{i}(x):\n    y = x + {i}\n    return y\n\n"
    text = "".join(block.format(i=i) for i in range(2000))
    hole = text.index("def f1000(")
    lo, hi = syntax_window(text, hole + 20, hole + 20, reach=500)
    assert 0 < lo < hole < hi < len(text)
    assert text[lo:].startswith("def ") and text[hi:].startswith("def ")
    assert error_count(text[lo:hi], "python") == 0


def fill_at(code: str, fill: str) -> tuple[str, int, int]:
    start = code.index("HOLE")
    return code.replace("HOLE", fill), start, start + len(fill)


AFTER_IF = "def f(x):\n    if x:\n        a = 1\n    HOLE\n        b = 2\n    return b\n"
AFTER_STATEMENT = "def f(x):\n    a = 1\n    HOLE\n    return a\n"


@pytest.mark.parametrize(("code", "fill", "fits"), [
    (AFTER_IF, "else:", True),  # opens the deeper block below
    (AFTER_IF, "b = 2", False),  # unexpected indent below
    (AFTER_STATEMENT, "if a:  # comment", False),  # expected an indented block
    (AFTER_STATEMENT, "a += 1", True),
    ("x = foo(\n    HOLE\n)\n", "b = 2", None),  # inside brackets: indentation is free
    ("x = [HOLE\n    1]\n", "b = 2", None),  # the line continues a bracket
    ("def f():\n    HOLE", "return 1", None),  # nothing follows
])
def test_python_block_fits_reads_the_next_lines_indentation(code, fill, fits):
    assert python_block_fits(*fill_at(code, fill)) is fits


def test_statement_ok_rejects_indentation_errors_tree_sitter_accepts():
    assert statement_ok(*fill_at(AFTER_IF, "b = 2"), "python") is False
    assert statement_ok(*fill_at(AFTER_IF, "else:"), "python") is True
    assert statement_ok(*fill_at(AFTER_STATEMENT, "if a:"), "python") is False


def test_syntax_window_never_starts_at_a_closing_bracket_or_inside_a_string():
    head = "def f(\n    a,\n    b,\n):\n" + "    x = 1\n" * 400
    doc = 'def g():\n    """Doc\nflush left\n"""\n' + "    y = 2\n" * 10
    text = head + doc + "    return y\n"
    start = len(text) - len("y\n")
    lo, _ = syntax_window(text, start, start, reach=len(doc) + 20)
    assert text[lo:].startswith("def f(")  # not at "):", nor at "flush left" in the docstring
    assert statement_ok(text[:start] + "y" + text[start + 1 :], start, start + 1, "python") is True


def test_statement_checker_judges_fills_as_statement_ok_does():
    text = "def f(x):\n    if x:\n        a = 1\n    \n        b = 2\n    return b\n" * 3
    start = text.index("    \n") + 4
    checker = StatementChecker(text, start, start, "python")
    for fill in ("else:", "b = 2", "if a:", "return (", "x = [1,\n 2]", "é = 'ü'"):
        filled = text[:start] + fill + text[start:]
        assert checker.ok(fill) == statement_ok(filled, start, start + len(fill), "python"), fill
    assert checker.ok("else:") is True and checker.ok("b = 2") is False


def big_class(methods: int = 400) -> str:
    method = "    def m{i}(self, x):\n        if x:\n            return self.a + {i}\n        return x\n\n"
    return "class Big:\n    a = 1\n\n" + "".join(method.format(i=i) for i in range(methods)) + "x = Big()\n"


def test_a_hole_in_a_large_class_parses_its_neighbouring_methods_not_the_class():
    text = big_class()
    line = text.index("            return self.a + 200\n")
    start = line + len("            ")
    end = text.index("\n", start)
    lo, hi, wrap = statement_window(text, start, end, "python", reach=300)
    assert wrap and 0 < lo < start < end < hi < len(text) - 1000
    assert text[lo:].startswith("    def m") and text[hi:].startswith("    def m")
    assert error_count(wrap + text[lo:hi], "python") == 0
    # The verdicts are those of parsing the whole file.
    checker = StatementChecker(text[:start] + text[end:], start, start, "python")
    assert checker.ok("return x") is True
    assert checker.ok("return (x") is False
    assert checker.ok("else:") is False  # opens a block nothing is indented under


def test_a_quoted_triple_quote_does_not_turn_the_rest_of_the_file_into_a_string():
    table = 'FORMATS = {"moin": Row(header="\'\'\'", sep="||")}\n\n'
    text = table + "".join(f"def f{i}(x):\n    y = x + {i}\n    return y\n\n" for i in range(500))
    hole = text.index("def f250(") + len("def f250(x):\n    ")
    lo, hi = syntax_window(text, hole, hole, reach=500)
    assert hi - lo < 2000 and text[lo:].startswith("def f")
