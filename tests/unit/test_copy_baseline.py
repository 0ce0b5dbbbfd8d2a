from __future__ import annotations

from diffill.infill.drafts.copy_floor import copy_continuation, longest_tail_match


def test_copies_continuation_of_longest_match():
    prefix = "self.name = name\nself.size = size\n\ndef clone(self):\n    self.na"
    assert copy_continuation(prefix, "\n") == "me = name"


def test_prefers_longer_context():
    prefix = "a.x = 1\nb.x = 2\nb.x"
    assert copy_continuation(prefix, "") == " = 2"


def test_match_at_cursor_is_excluded():
    assert longest_tail_match("unique_tail", "unique_tail", exclude=11) is None


def test_uses_suffix_too():
    # "foo = ba" recurs in the suffix: what follows it there is copied.
    assert copy_continuation("foo = ba", "r\nx = 1\nfoo = baz(1)\n") == "z(1)"
