"""Lines binding what the code under a hole needs (infill.drafts.bindings)."""

from __future__ import annotations

from diffill.infill.drafts.bindings import binding_drafts
from diffill.infill.needed_names import names_needed_below
from diffill.infill.py_scopes import names_in_scope

HOLE = "<|fill|>"


def drafts(*lines: str) -> list[str]:
    code = "\n".join(lines) + "\n"
    start = code.index(HOLE)
    text = code.replace(HOLE, "")
    scope = names_in_scope(text, start, start)
    return binding_drafts(text, start, start, names_needed_below(text, start, start, scope), scope)


def test_a_loop_over_the_collection_its_variable_is_one_of() -> None:
    assert drafts("def shout(entries):", f"    {HOLE}", "        print(entry)") == ["for entry in entries:"]
    in_class = drafts(
        "class Box:",
        "    def show(self):",
        f"        {HOLE}",
        "            print(item)",
        "",
        "    def add(self, x):",
        "        self.items.append(x)",
    )
    assert in_class == ["for item in self.items:"]


def test_an_index_name_makes_it_enumerate() -> None:
    loops = drafts("def show(items):", f"    {HOLE}", "        print(i, item)")
    assert loops[0] == "for i, item in enumerate(items):"


def test_lines_of_an_opened_file() -> None:
    loops = drafts(
        "def count(path):",
        "    n = 0",
        "    with open(path) as f:",
        f"        {HOLE}",
        "            n += len(line)",
        "    return n",
    )
    assert loops == ["for line in f:"]


def test_what_the_code_below_fills_starts_empty() -> None:
    def start_of(store: str) -> list[str]:
        return drafts("def build(xs):", f"    {HOLE}", "    for x in xs:", f"        {store}", "    return o")

    assert start_of("o.append(x)") == ["o = []"]
    assert start_of("o[x] = 1") == ["o = {}"]
    assert start_of("o.add(x)") == ["o = set()"]
    assert start_of("o += 1") == ["o = 0"]
    assert start_of("print(o)") == []  # read, not filled: its start is not plain


def test_a_local_alias_of_the_classs_attribute() -> None:
    alias = drafts(
        "class Tree:",
        "    def walk(self):",
        f"        {HOLE}",
        "        return len(nodes)",
        "",
        "    def add(self, n):",
        "        self.nodes.append(n)",
    )
    assert alias == ["nodes = self.nodes"]


def test_nothing_without_a_needed_name_mid_line_or_at_module_level() -> None:
    assert drafts("def shout(words):", f"    {HOLE}", "    return words") == []
    assert drafts("def shout(words):", f"    x = {HOLE}", "        print(word)") == []
    assert drafts(HOLE, "    print(word)", "words = []") == []
