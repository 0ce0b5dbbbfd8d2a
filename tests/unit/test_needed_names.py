"""The names the code below a hole needs its line to bind (infill.needed_names)."""

from diffill.infill.needed_names import names_needed_below, needed_bound
from diffill.infill.py_scopes import names_in_scope

HOLE = "<|fill|>"


def needed(code: str) -> tuple[str, ...]:
    start = code.index(HOLE)
    text = code.replace(HOLE, "")
    return names_needed_below(text, start, start, names_in_scope(text, start, start))


def test_a_loop_body_needs_its_loop_variables() -> None:
    code = (
        "def show(d):\n"
        f"    {HOLE}\n"
        "        print(key, value)\n"
        "    return len(d)\n"
    )
    assert needed(code) == ("key", "value")


def test_names_bound_elsewhere_in_the_function_are_not_needed() -> None:
    code = (
        "import os\n\n"
        "def total(items, scale):\n"
        "    count = 0\n"
        f"    {HOLE}\n"
        "    for item in items:\n"
        "        count += item * scale\n"
        "    return os.sep, count, len(items)\n"
    )
    assert needed(code) == ()


def test_an_accumulator_read_below_is_needed() -> None:
    code = (
        "def evens(xs):\n"
        f"    {HOLE}\n"
        "    for x in xs:\n"
        "        if x % 2 == 0:\n"
        "            result.append(x)\n"
        "    return result\n"
    )
    assert needed(code) == ("result",)


def test_module_level_and_the_next_function_need_nothing() -> None:
    assert needed(f"{HOLE}\nprint(undefined_here)\n") == ()
    code = (
        "def first():\n"
        f"    {HOLE}\n\n"
        "def second():\n"
        "    return missing\n"
    )
    assert needed(code) == ()


def test_needed_bound_counts_what_a_line_binds() -> None:
    wanted = ("key", "value")
    assert needed_bound("    for key, value in d.items():", wanted) == (2, 0)
    assert needed_bound("    for key in d:", wanted) == (1, 1)
    assert needed_bound("    print('key, value = 1')", wanted) == (0, 2)  # a string binds nothing
    assert needed_bound("    return d", ()) == (0, 0)


def test_a_with_target_is_bound() -> None:
    code = (
        "def read(path):\n"
        f"    {HOLE}\n"
        "        return f.read()\n"
    )
    wanted = needed(code)
    assert wanted == ("f",)
    assert needed_bound("    with open(path) as f:", wanted) == (1, 0)


def test_a_store_into_a_name_reads_it_first() -> None:
    # `counts[w] += 1` and `total += n` need counts and total bound before them.
    code = (
        "def tally(words):\n"
        f"    {HOLE}\n"
        "    total = 0\n"
        "    for w in words:\n"
        "        counts[w] = counts.get(w, 0) + 1\n"
        "        total += 1\n"
        "    return counts, total\n"
    )
    assert needed(code) == ("counts",)  # total is bound below before its first store
