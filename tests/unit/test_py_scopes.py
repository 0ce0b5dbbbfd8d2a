"""Names in scope and unbound names: a candidate that uses a name nothing around it binds."""

from __future__ import annotations

from diffill.infill.py_scopes import fresh_uses, names_in_scope, unbound_names, unused_bindings

HOLE = "<|hole|>"


def unbound(code: str, candidate: str) -> int:
    start = code.index(HOLE)
    text = code.replace(HOLE, "")
    head = text[text.rfind("\n", 0, start) + 1 : start]
    return unbound_names(head, candidate, names_in_scope(text, start, start))


CLASS = (
    "import os\n\n\nclass Box:\n    limit = 3\n\n    def __init__(self, size):\n        self._size = size\n\n"
    "    @property\n    def size(self):\n        {hole}\n\n\n"
    "def helper(path):\n    return os.path.join(path)\n"
)


def test_a_local_of_another_method_is_unbound() -> None:
    code = CLASS.format(hole=HOLE)
    assert unbound(code, "self._size = size") == 1  # `size` is __init__'s parameter
    assert unbound(code, "return limit") == 1  # class-level names are not visible in methods
    assert unbound(code, "return self._size") == 0
    assert unbound(code, "return helper(os.sep)") == 0  # module-level names are
    assert unbound(code, "return len(str(self))") == 0  # builtins


def test_parameters_locals_and_the_candidates_own_bindings_are_bound() -> None:
    code = f"def f(a, *args, key=None, **kw):\n    b = a\n    {HOLE}\n    return c\n"
    assert unbound(code, "c = a + b + len(args) + len(kw) + key") == 0
    assert unbound(code, "for x in args: print(x)") == 0
    assert unbound(code, "c = [y for y in args if y is not missing]") == 1


def test_nested_functions_see_the_enclosing_functions_names() -> None:
    code = f"def outer(items):\n    total = 0\n\n    def inner(x):\n        {HOLE}\n\n    return inner\n"
    assert unbound(code, "return x + total + len(items)") == 0


def test_nothing_is_counted_where_names_are_new_or_unknowable() -> None:
    assert unbound(f"from m import *\n\ndef f():\n    {HOLE}\n", "return thing") == 0  # star import
    assert unbound(f"def f(\n    a,\n    {HOLE}\n):\n    pass\n", "b: int = c") == 0  # in a signature
    assert unbound(f"def f():\n    {HOLE}\n", "def g(z): return z") == 0  # a def line
    assert unbound(f"def f():\n    x = call(\n        {HOLE}\n", "y") == 0  # in brackets above


def test_the_text_before_the_candidate_on_its_line_is_context() -> None:
    code = f"def f(value):\n    va{HOLE}\n"
    assert unbound(code, "lue") == 0  # completes the name typed before it
    code = f"def f(obj):\n    return obj.{HOLE}\n"
    assert unbound(code, "missing_attribute") == 0  # an attribute, not a name
    code = f"def f(obj):\n    print(obj, {HOLE}\n"
    assert unbound(code, "sep='')") == 0  # a keyword argument's name


def unused(code: str) -> frozenset[str]:
    start = code.index(HOLE)
    return unused_bindings(code.replace(HOLE, ""), start, start)


def test_names_bound_and_not_yet_used_are_the_fresh_ones() -> None:
    code = (f"def total(prices, tax):\n    result = 0\n    for price in prices:\n        {HOLE}\n"
            "    return result * tax\n")
    assert unused(code) == {"price"}  # prices, result and tax are used elsewhere
    assert unused(f"def read(path):\n    with open(path) as f:\n        {HOLE}\n") == {"f"}
    assert unused(f"def add(a, b):\n    {HOLE}\n") == {"a", "b"}
    # A method's receiver, the throwaway name and keywords are never fresh; module level has none.
    assert unused(f"class C:\n    def m(self, _):\n        {HOLE}\n") == frozenset()
    assert unused(f"x = 1\n{HOLE}\n") == frozenset()
    # A string that spells the name is not a use of it.
    assert unused(f"def g(name):\n    {HOLE}\n    print('name')\n") == {"name"}


def test_a_candidate_counts_the_fresh_names_it_reads() -> None:
    fresh = frozenset({"f", "price"})
    assert fresh_uses("        ", "return f.read()", fresh) == 1
    assert fresh_uses("        ", "result += price * f", fresh) == 2
    assert fresh_uses("        ", "return 'f'", fresh) == 0  # inside a string
    assert fresh_uses("        return ", "price.f", fresh) == 1  # `.f` is an attribute, not the name
    assert fresh_uses("        ", "return f", frozenset()) == 0
