from __future__ import annotations

from diffill.infill.following_lines import REACH_LINES, breaks_following_lines
from diffill.infill.syntax import StatementChecker


def breaks(template: str, fill: str) -> bool:
    cut = template.index("|")
    text = template[:cut] + template[cut + 1 :]
    judged = StatementChecker(text, cut, cut, "python").judge(fill)
    assert judged is not None and judged.ok, fill  # the fill's own line parses
    return breaks_following_lines(judged)


# The hole opens the bracket that the code below closes.
WIDTHS = ("def widths(headers, cols):\n    if headers:\n        pass\n    |\n"
          "        [len(h) for h in headers] if headers else [0] * len(cols)\n    )\n    return widths\n")


def test_a_fill_that_leaves_a_closing_bracket_unopened_breaks_the_lines_below():
    assert breaks(WIDTHS, "else:")
    assert breaks(WIDTHS, "if cols:")
    assert not breaks(WIDTHS, "widths = (")


TRY_BODY = "def run(self):\n    |\n        self.start()\n    self.stop()\n"


def test_a_try_needs_except_or_finally_after_its_body():
    assert breaks(TRY_BODY, "try:")
    assert not breaks(TRY_BODY, "if self.ready:")
    for partner in ("except OSError:", "except* ValueError:", "except:", "finally:"):
        text = TRY_BODY.replace("    self.stop()", f"    {partner}\n        pass")
        assert not breaks(text, "try:"), partner
    # Nothing after the body: the function ends inside the `try:`.
    assert breaks("def run(self):\n    |\n        self.start()\n\n\ndef other():\n    pass\n", "try:")


def test_errors_past_the_block_after_the_fill_are_the_buffers_not_the_fills():
    # The next function is being typed: its error lies beyond the line back at the fill's depth.
    typing = "def f(xs):\n    for x in xs:\n        |\n    return xs\n\n\ndef g(:\n    pass\n"
    assert not breaks(typing, "print(x)")


def test_comments_and_blank_lines_do_not_end_the_block():
    text = ("def run(self):\n    |\n        self.start()\n\n"
            "    # stop whatever happens\n    finally:\n        self.stop()\n")
    assert not breaks(text, "try:")


def test_a_body_longer_than_the_reach_is_not_judged():
    def steps(n: int) -> str:
        return "def run():\n    |\n" + "".join(f"        step{i}()\n" for i in range(n)) + "    done()\n"

    assert breaks(steps(3), "try:")
    assert not breaks(steps(REACH_LINES + 5), "try:")
