from __future__ import annotations

import os
import subprocess
import sys

from diffill.infill.drafts.index import DraftIndex

HELPER = (
    "import zlib\n\n\n"
    "def helper(buffer):\n"
    "    value = zeta_checksum(buffer, seed=0x5EED)\n"
    "    return value\n"
)
CURSOR = "def main(data):\n    value = zeta_checksum("  # ends with HELPER's context


def test_continuation_from_another_document_is_found():
    index = DraftIndex()
    index.update("b.py", HELPER)
    assert index.drafts(CURSOR, "\n", exclude="a.py") == ["buffer, seed=0x5EED)"]


def test_the_document_being_edited_is_excluded():
    index = DraftIndex()
    index.update("b.py", HELPER)
    assert index.drafts(CURSOR, "\n", exclude="b.py") == []


def test_indentation_and_spacing_do_not_prevent_a_match():
    index = DraftIndex()
    index.update("b.py", HELPER)
    cursor = "class Main:\n        value   =   zeta_checksum  (  "
    assert index.drafts(cursor, "\n") == ["buffer, seed=0x5EED)"]


def test_a_partly_typed_word_completes_the_word():
    index = DraftIndex()
    index.update("b.py", HELPER)
    assert index.drafts("def main(data):\n    value = zeta_chec", "\n") == ["ksum(buffer, seed=0x5EED)"]


def test_a_fresh_line_gets_the_next_line_of_the_match():
    index = DraftIndex()
    index.update("b.py", HELPER)
    typed = "def main(buffer):\n    value = zeta_checksum(buffer, seed=0x5EED)\n"
    assert index.drafts(typed + "        ", "\n") == ["return value"]
    assert index.drafts(typed, "\n") == ["    return value"]  # at column 0 the indentation comes too


def test_longest_context_wins_over_a_shorter_one():
    index = DraftIndex()
    # Both share "total = compute(" (4 tokens); only "long" shares the line before as well.
    index.update("long", "for item in cart_items:\n    total = compute(long_path)\n")
    index.update("short", "def other():\n    total = compute(short_path)\n")  # the newer one
    cursor = "for item in cart_items:\n    total = compute("
    assert index.drafts(cursor, "\n") == ["long_path)", "short_path)"]
    assert index.drafts(cursor, "\n", limit=1) == ["long_path)"]


def test_recently_updated_document_wins_a_tie():
    index = DraftIndex()
    index.update("old", "x = build_widget(first_choice)\n")
    index.update("new", "x = build_widget(second_choice)\n")
    assert index.drafts("y = 2\nx = build_widget(", "\n") == ["second_choice)", "first_choice)"]


def test_draft_contradicted_by_the_suffix_is_dropped():
    index = DraftIndex()
    index.update("b.py", "if ready:\n    result = combine(left, right):\n    other = combine(a, b)\n")
    cursor = "def f():\n    result = combine("
    assert index.drafts(cursor, "\n") == ["left, right):"]
    assert index.drafts(cursor, "):\n") == ["left, right):"]  # ends like the line: kept whole
    assert index.drafts(cursor, ")\n") == []  # would leave "):" before ")"
    assert index.drafts(cursor, "left, right):\n") == []  # adds nothing to the line


def test_update_replaces_and_remove_drops_old_entries():
    new = HELPER.replace("buffer, seed=0x5EED", "payload")
    fresh = DraftIndex()
    fresh.update("b.py", new)
    index = DraftIndex()
    index.update("b.py", HELPER)
    index.update("b.py", new)
    assert index.drafts(CURSOR, "\n") == ["payload)"]
    assert index.stats() == fresh.stats()  # nothing of the old version is left
    assert index.remove("b.py") and not index.remove("b.py")
    assert index.drafts(CURSOR, "\n") == []
    stats = index.stats()
    assert (stats.docs, stats.entries, stats.bytes) == (0, 0, 0)


def test_update_without_replace_keeps_the_indexed_text():
    index = DraftIndex()
    index.update("b.py", HELPER)
    index.update("b.py", HELPER.replace("buffer, seed=0x5EED", "payload"), replace=False)
    assert index.drafts(CURSOR, "\n") == ["buffer, seed=0x5EED)"]


def test_memory_cap_evicts_least_recently_updated_documents():
    one = DraftIndex()
    one.update("d0", "def f0():\n    return compute_0(alpha, beta)\n")
    per_doc = one.stats().entries
    index = DraftIndex(max_entries=3 * per_doc)
    for i in range(5):
        index.update(f"d{i}", f"def f{i}():\n    return compute_{i}(alpha, beta)\n")
    stats = index.stats()
    assert stats.docs == 3 and stats.entries <= 3 * per_doc
    assert "d0" not in index and "d1" not in index and "d4" in index
    assert index.drafts("def g():\n    return compute_0(", "\n") == []  # evicted
    assert index.drafts("def g():\n    return compute_4(", "\n") == ["alpha, beta)"]
    # Re-indexing an old document makes it the most recent one: d2 is evicted next, not d3.
    index.update("d3", "def f3():\n    return compute_3(alpha, gamma)\n")
    index.update("d5", "def f5():\n    return compute_5(alpha, beta)\n")
    assert "d2" not in index and "d3" in index


def test_byte_cap_evicts_too():
    small = DraftIndex()
    small.update("a", HELPER)
    index = DraftIndex(max_bytes=small.stats().bytes * 2 + 10)
    for name in "abcd":
        index.update(name, HELPER)
    assert index.stats().docs == 2 and index.stats().bytes <= small.stats().bytes * 2 + 10


def test_binary_and_huge_texts_are_not_indexed():
    index = DraftIndex(max_doc_chars=10_000)
    assert not index.update("bin", HELPER + "\x00\x01\x02")
    assert not index.update("huge", HELPER + "x = 1\n" * 2000)
    assert index.stats().docs == 0
    assert index.update("b.py", HELPER)
    assert not index.update("b.py", HELPER + "\x00")  # a binary new version removes the old one
    assert index.stats().docs == 0 and index.drafts(CURSOR, "\n") == []


def test_accepted_suggestions_come_back_as_drafts():
    index = DraftIndex()
    index.add_accepted("import os\n\ndef load(path):\n    handle = open_resource(", "path, mode='rb')")
    assert index.drafts("def save(p):\n    handle = open_resource(", "\n") == ["path, mode='rb')"]
    assert index.stats().accepted == 1 and index.stats().docs == 0


def test_accepted_suggestion_ranks_first_in_a_tie():
    index = DraftIndex()
    index.update("b.py", "def load(path):\n    handle = open_resource(path)\n")
    index.add_accepted("def load(path):\n    handle = open_resource(", "path, mode='rb')")
    cursor = "def load(path):\n    handle = open_resource("
    assert index.drafts(cursor, "\n") == ["path, mode='rb')", "path)"]


def test_accepted_ring_is_bounded():
    index = DraftIndex(accepted=2)
    for i in range(4):
        index.add_accepted(f"x = 1\nvalue_{i} = make_thing(", f"arg_{i})")
    assert index.stats().accepted == 2
    assert index.drafts("y = 0\nvalue_0 = make_thing(", "") == []
    assert index.drafts("y = 0\nvalue_3 = make_thing(", "") == ["arg_3)"]


def test_no_draft_for_a_short_or_unknown_context():
    index = DraftIndex()
    index.update("b.py", HELPER)
    assert index.drafts("x(", "\n") == []  # fewer tokens than the shortest window
    assert index.drafts("def main():\n    nothing_alike = (", "\n") == []


SCRIPT = """
from diffill.infill.drafts.index import DraftIndex
index = DraftIndex()
for i in range(30):
    index.update(f"d{i % 7}", f"def f{i}():\\n    out = combine(part_{i}, extra_{i % 3})\\n" * 3)
index.add_accepted("def g():\\n    out = combine(", "accepted_part)")
print(index.drafts("def h():\\n    out = combine(", "\\n", limit=5))
"""


def test_results_are_deterministic_across_processes():
    # Different string hash seeds must not change anything (the index hashes with crc32).
    outs = {subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout
            for seed in ("1", "2", "3")}
    assert len(outs) == 1
    first = outs.pop()
    assert first.startswith("['accepted_part)', 'part_29, extra_2)'")


def test_the_index_does_not_import_torch():
    code = "import sys, diffill.infill.drafts.index; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
