from __future__ import annotations

from diffill.infill.drafts.analogy import analogous_lines, rename

DIRS = (
    "class Dirs:\n"
    "    def user_dir(self):\n"
    "        path = self.user_root\n"
    '        return path / "user"\n'
    "\n"
    "    def site_dir(self):\n"
    "        path = self.site_root\n"
    "        "
)


def texts(prefix: str, suffix: str = "\n") -> list[str]:
    return [a.text for a in analogous_lines(prefix, suffix)]


def test_the_line_after_a_same_shaped_context_is_copied_with_its_names_renamed():
    found = analogous_lines(DIRS, "\n")
    assert found[0].text == 'return path / "site"'  # `user` in the string follows user_dir -> site_dir
    assert found[0].renames == 2 and found[0].matched >= 4


def test_a_match_after_the_hole_counts_too():
    prefix = "def area_of(box):\n    w = box.width\n    "
    suffix = "\n    return w * h\n\n\ndef perimeter_of(rect):\n    w = rect.width\n    h = rect.height\n"
    assert "h = box.height" in texts(prefix, suffix)


def test_a_match_whose_names_all_agree_adds_nothing():
    # What followed the same text is a buffer draft already.
    prefix = "def a(x):\n    y = x.b\n    return y\n\n\ndef c(x):\n    y = x.b\n    "
    assert texts(prefix) == []


def test_a_name_renamed_two_ways_is_no_analogy():
    prefix = "pair(a, a)\nuse(a)\npair(b, c)\n"
    assert texts(prefix) == []


def test_too_short_a_context_gives_nothing():
    assert texts("x = 1\ny = ") == []


def test_the_spaces_the_cursor_follows_are_not_repeated():
    prefix = "x_low = clamp(x_raw)\nx_high = limit(x_raw)\ny_low = clamp(y_raw)\ny_high = "
    assert texts(prefix) == ["limit(y_raw)"]


def test_a_rename_changes_the_same_part_inside_longer_names():
    assert rename("MIN_WIDTH + min_width + width", {"WIDTH": "HEIGHT"}) == "MIN_HEIGHT + min_width + width"
    # A one-letter change is too weak a hint to apply inside other names.
    assert rename("a + ab + xa", {"a": "b"}) == "b + ab + xa"


def test_a_long_match_is_measured_to_its_first_token():
    found = analogous_lines("a1 = f(x1)\nb1 = g(x1)\na2 = f(x2)\nb2 = ", "\n")
    # After `a2 =` the shapes match back to the file's first token (16 tokens; the match
    # after `b1 =` is 9 long and gives the same line, so it adds nothing).
    assert [(a.text, a.matched) for a in found] == [("g(x2)", 16)]


def test_a_file_of_identical_lines_offers_nothing_new():
    prefix = "x = y\n" * 3000 + "x = "
    assert texts(prefix, "\n" + "x = y\n" * 3000) == []


def test_a_whole_line_hole_takes_the_line_whose_next_lines_match_its_own():
    # Nothing before the hole has the shape of another place (`zzz = 9`); what follows it does.
    prefix = "start(alpha)\nvalue_a = read(alpha)\ncheck(value_a, alpha)\nzzz = 9\n"
    found = analogous_lines(prefix, "\ncheck(value_b, beta)\n")
    assert [(a.text, a.matched, a.after) for a in found] == [("value_b = read(beta)", 1, 8)]


def test_only_a_whole_line_hole_is_matched_from_after_it():
    prefix = "start(alpha)\nvalue_a = read(alpha)\ncheck(value_a, alpha)\nzzz = 9\nvalue_b = "
    assert "value_b = read(beta)" not in texts(prefix, "\ncheck(value_b, beta)\n")
