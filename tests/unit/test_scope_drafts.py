"""Scope drafts: imports for unbound names, __init__ assignments, returns at a body's end."""

from __future__ import annotations

from diffill.infill.drafts.scope import import_table, scope_drafts
from diffill.infill.py_scopes import bound_names

HOLE = "<|hole|>"


def drafts(code: str) -> list[str]:
    start = code.index(HOLE)
    return list(scope_drafts(code.replace(HOLE, ""), start, start))


def kinds(code: str) -> list[str]:
    start = code.index(HOLE)
    return list(scope_drafts(code.replace(HOLE, ""), start, start).values())


def test_import_for_a_module_used_but_never_imported() -> None:
    code = f"{HOLE}\nimport sys\n\nprint(os.getcwd(), sys.argv)\n"
    assert drafts(code)[0] == "import os"
    assert kinds(code)[0] == "import"


def test_from_import_for_a_class_the_file_calls() -> None:
    code = f'"""Config paths."""\n{HOLE}\n\n\ndef home():\n    return Path.home() / ".config"\n'
    assert drafts(code) == ["from pathlib import Path"]


def test_no_import_for_names_already_bound() -> None:
    code = (f"import os\n{HOLE}\n\n\ndef f(path, *, json=None):\n    data = load(path)\n"
            "    for re in data:\n        pass\n    with open(path) as fh:\n"
            "        return os.sep, json, re, fh\n\n"
            "def load(p):\n    return p\n")
    assert drafts(code) == []


def test_no_import_below_a_star_import_or_outside_the_import_block() -> None:
    assert drafts(f"from os.path import *\n{HOLE}\nprint(json.dumps(join('a', 'b')))\n") == []
    body = f"def f():\n    x = 1\n    {HOLE}\n    return json.dumps(x)\n"
    assert not any(d.startswith(("import", "from")) for d in drafts(body))


def test_names_in_strings_comments_and_keyword_arguments_are_not_uses() -> None:
    code = f'import sys\n{HOLE}\n# os.getcwd() in a comment\nprint("os.sep", sys.argv, sep="")\n'
    assert drafts(code) == []


def test_init_assigns_the_next_unused_parameters_in_the_methods_style() -> None:
    code = (f"class Rect:\n    def __init__(self, x, y, width, height=0):\n        self._x = x\n"
            f"        self._y = y\n        {HOLE}\n")
    assert drafts(code) == ["self._width = width", "self._height = height"]
    assert kinds(code) == ["init", "init"]


def test_init_skips_parameters_used_after_the_hole() -> None:
    code = (f"class C:\n    def __init__(self, name, email):\n        {HOLE}\n"
            f"        self.email = email.lower()\n\n    def f(self):\n        return name\n")
    assert drafts(code) == ["self.name = name"]


def test_return_at_the_end_of_a_body_names_the_accumulated_local_first() -> None:
    code = (f"def squares(numbers):\n    result = []\n    for n in numbers:\n        result.append(n * n)\n"
            f"    {HOLE}\n\n\ndef other():\n    pass\n")
    assert drafts(code)[0] == "return result"
    assert "return n" not in drafts(code)  # a loop variable is rarely returned


def test_no_return_mid_body_in_init_in_a_generator_or_a_none_function() -> None:
    assert drafts(f"def f(a):\n    b = a\n    {HOLE}\n    c = b\n    return c\n") == []
    assert drafts(f"class C:\n    def __init__(self):\n        self.a = 1\n        {HOLE}\n") == []
    assert drafts(f"def g(a):\n    yield a\n    {HOLE}\n") == []
    assert drafts(f"def h(a) -> None:\n    print(a)\n    {HOLE}\n") == []


def test_nothing_inside_a_signature_or_mid_line() -> None:
    assert drafts(f"def f(\n    a,\n    {HOLE}\n):\n    return a\n") == []
    assert drafts(f"import sys\nx = {HOLE}\nprint(os.sep)\n") == []


def test_names_imported_in_parentheses_are_bound() -> None:
    code = (f"from typing import (\n    Any,\n    Optional as Opt,\n)\n{HOLE}\n\n"
            "x: Any = None\ny: Opt[int] = None\n")
    assert drafts(code) == []


def test_bound_names_cover_the_binding_forms() -> None:
    code = ("import a.b as c\nfrom d import (e, f as g)\nh: int = 1\ni, j = 1, 2\nk += 1\n"
            "with m() as n:\n    pass\nfor o, p in q:\n    pass\nif (r := 3):\n    pass\n"
            "def s(t, u=1, *v, **w):\n    pass\nclass X:\n    pass\n")
    expected = {"c", "e", "g", "h", "i", "j", "k", "n", "o", "p", "r", "s", "t", "u", "v", "w", "X"}
    assert expected <= bound_names(code)
    assert "q" not in bound_names(code) and "m" not in bound_names(code)


def test_the_import_table_knows_common_names() -> None:
    table = import_table()
    assert table["os"] == "import os"
    assert table["Path"] == "from pathlib import Path"


def test_script_guard_above_the_files_last_indented_block() -> None:
    code = (f"import sys\n\n\ndef run(argv):\n    return len(argv)\n\n\n{HOLE}\n"
            "    sys.exit(run(sys.argv[1:]))\n")
    assert drafts(code) == ['if __name__ == "__main__":']
    not_the_end = code.replace("\n    sys.exit", "\n    sys.exit(0)\nrun([])\n    x")
    assert drafts(not_the_end) == []


def test_else_where_a_block_must_open_after_an_if_chain() -> None:
    code = (f"def sign(x):\n    if x > 0:\n        return 1\n    elif x < 0:\n        return -1\n    {HOLE}\n"
            "        return 0\n")
    assert drafts(code) == ["else:"] and kinds(code) == ["else"]
    assert drafts(code.replace("        return 0\n", "    return 0\n")) == []  # no block opens
    loops = code.replace("    if x > 0:", "    for y in x:").replace("    elif x < 0:", "    while x:")
    assert drafts(loops) == []


def test_try_where_a_block_must_open_before_an_except() -> None:
    code = (f"def load(path):\n    {HOLE}\n        with open(path) as f:\n            return f.read()\n"
            "    except OSError:\n        return None\n")
    assert drafts(code) == ["try:"] and kinds(code) == ["try"]
    assert drafts(code.replace("    except OSError:", "    finally:")) == ["try:"]
    # No block under the hole, or the block is not closed by except/finally: no try.
    assert drafts(code.replace("        with open(path) as f:\n            return f.read()\n",
                               "    x = 1\n")) == []
    assert drafts(code.replace("    except OSError:\n        return None\n", "    return None\n")) == []
    # An `except` deeper than the hole belongs to a try inside the block, not to the hole.
    inner = (f"def f():\n    {HOLE}\n        try:\n            g()\n        except OSError:\n"
             "            pass\n    return 1\n")
    assert drafts(inner) == []
