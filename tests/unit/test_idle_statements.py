from __future__ import annotations

from diffill.infill.idle_statements import idle_statement
from diffill.infill.syntax import StatementChecker


def idle(template: str, fill: str) -> bool:
    cut = template.index("|")
    text = template[:cut] + template[cut + 1 :]
    judged = StatementChecker(text, cut, cut, "python").judge(fill)
    assert judged is not None and judged.ok, fill
    return idle_statement(judged)


BODY = "def f(a, b):\n    |\n    return a\n"


def test_an_expression_thrown_away_is_idle():
    for fill in ("a", "a.b", "a[0]", "a == b", "a + 1", "not a", "a, b", "len(a)", "lambda: 0",
                 "os.path.dirname(a)", "math.sqrt(a)"):
        assert idle(BODY, fill), fill


def test_statements_that_call_assign_await_or_yield_are_not_idle():
    for fill in ("print(a)", "a.b()", "x = 1", "a += 1", "x: int", "yield a", "await a", "(x := a)",
                 "list(map(print, a))", "a and b.close()", "os.makedirs(a)"):
        assert not idle(BODY, fill), fill


def test_docstrings_and_ellipsis_are_not_idle():
    assert not idle(BODY, '"""What f does."""')
    assert not idle(BODY, "...")


def test_the_whole_statement_is_judged_not_the_fill_alone():
    store = "class C:\n    def set(self, key, value):\n        self._store[|\n"
    assert idle(store, "key]")
    assert not idle(store, "key] = value")
    # Inside a call's brackets opened above, a bare argument is part of a call.
    assert not idle("x = foo(\n    |\n)\n", "a.b,")
    assert not idle("def f(o):\n    return o.cents == |\n", "other.cents")


def test_any_line_of_a_block_fill_can_be_idle():
    assert idle(BODY, "a\n    b = 1")
    assert not idle(BODY, "b = a\n    print(b)")
