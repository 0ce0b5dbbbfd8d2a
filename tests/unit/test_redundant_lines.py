"""Lines that add nothing: a definition its block has, a name assigned to itself, an endless recursion."""

from __future__ import annotations

from diffill.infill.api import FillRequest
from diffill.infill.engine import InfillEngine
from diffill.infill.ranking import FEATURE_NAMES, Ranker
from diffill.infill.redundant_lines import (
    assigns_itself,
    calls_itself,
    cuts_off,
    first_statement_of,
    function_mentions,
    next_code_indent,
    operates_on_itself,
    redefines,
    stores_unread,
)
from diffill.model.denoiser import MaskedLMDenoiser

HOLE = "<|hole|>"

CLASS = '''class Box:
    """A box; def __len__(self): in a docstring is not a definition."""

    def __init__(self, size):
        self.size = size

    def __repr__(self):
        return "Box(%d)" % self.size

    {hole}

    @property
    def width(self):
        return self.size

    @width.setter
    def width(self, value):
        self.size = value


def __repr__():
    return "module"
'''


def flagged(code: str, candidate: str) -> bool:
    start = code.index(HOLE)
    return redefines(code.replace(HOLE, ""), start, start, candidate)


def test_a_method_the_class_has_is_a_redefinition() -> None:
    code = CLASS.format(hole=HOLE)
    assert flagged(code, "def __repr__(self):")
    assert flagged(code, "async def __init__(self, size):")
    assert not flagged(code, "def __len__(self):")  # named only in a docstring
    assert not flagged(code, "def area(self):")
    assert not flagged(code, "return self.size")


def test_the_block_is_the_scope() -> None:
    # The module-level __repr__ is in another block; so is a method of another class.
    code = "class A:\n    def run(self):\n        pass\n\n\nclass B:\n    " + HOLE + "\n"
    assert not flagged(code, "def run(self):")
    module = CLASS.format(hole="pass").replace('def __repr__():\n    return "module"\n', HOLE + "\n")
    assert flagged(module, "class Box:")
    assert not flagged(module, "def __repr__(self):")  # the class's method, not the module's


def test_decorated_definitions_may_share_a_name() -> None:
    # A property's setter, overload stubs: one name defined on purpose several times.
    code = CLASS.format(hole=HOLE)
    assert not flagged(code, "def width(self):")  # the existing ones are decorated
    setter = CLASS.format(hole="@width.deleter\n    " + HOLE)
    assert not flagged(setter, "def __repr__(self):")  # the hole's own decorator decides
    overloads = ("from typing import overload\n\n\n@overload\ndef f(x: int) -> int: ...\n"
                 "@overload\ndef f(x: str) -> str: ...\n" + HOLE + "\n")
    assert not flagged(overloads, "def f(x):")


def test_a_definition_typed_mid_line_is_read_with_its_head() -> None:
    code = CLASS.format(hole="def " + HOLE)
    assert flagged(code, "__repr__(self):")
    assert not flagged(code, "__str__(self):")


def test_an_annotated_name_the_block_declares_is_a_redefinition() -> None:
    fields = ("@dataclass\nclass Point:\n    x: float\n    " + HOLE
              + "\n\n    def norm(self):\n        return 0\n")
    assert flagged(fields, "x: int")
    assert not flagged(fields, "y: float")
    assert not flagged(fields, "else: pass")  # a keyword, not a name
    signature = "def move(\n    point: Point,\n    " + HOLE + "\n) -> None:\n    pass\n"
    assert flagged(signature, "point: Point,")
    assert not flagged(signature, "dx: float,")
    nested = "class A:\n    x: int\n\n    def f(self):\n        " + HOLE + "\n"
    assert not flagged(nested, "x: int = 0")  # a local in a method, not the class's field


def test_a_name_assigned_to_itself() -> None:
    assert assigns_itself("    ", "index = index")
    assert assigns_itself("    self.size = ", "self.size")
    assert assigns_itself("", "x = x  # keep")
    assert not assigns_itself("    ", "index = index + 1")
    assert not assigns_itself("    ", "self.size = size")
    assert not assigns_itself("    ", "x == x")


def test_the_engine_never_shows_a_redefinition(denoiser) -> None:
    code = CLASS.format(hole=HOLE + '\n        return "a box"')  # the body follows: the def parses
    start = code.index(HOLE)
    text = code.replace(HOLE, "")
    # A ranker sure of the workspace's best draft, and the workspace offers the existing
    # method again: without the check it would be first and shown.
    weights = tuple(20.0 if name == "workspace_top" else 0.0 for name in FEATURE_NAMES)
    engine = InfillEngine(denoiser, ranker=Ranker(weights, -10.0, 0.5))
    result = engine.fill(FillRequest(text=text, start=start, language="python", n=8,
                                     extra_drafts=("def __repr__(self):",)))
    texts = [c.text for c in result.candidates]
    assert "def __repr__(self):" in texts
    assert texts[0] != "def __repr__(self):"
    assert not result.candidates[texts.index("def __repr__(self):")].shown


def test_a_function_s_first_statement_calling_it_with_its_own_parameters_is_flagged() -> None:
    text = 'def subtract(a, b):\n    """Difference."""\n    \n\n\nprint(subtract(5, 3))\n'
    at = text.index("    \n") + 4
    func = first_statement_of(text, at, at)
    assert calls_itself("    return subtract(a, b)", func)
    assert not calls_itself("    return subtract(b, a)", func)  # a recursion that changes something
    assert not calls_itself("    return a - b", func)
    method = "class Box:\n    def grow(self, by):\n        \n"
    at = method.index("        \n") + 8
    assert calls_itself("        return self.grow(by)", first_statement_of(method, at, at))
    assert not calls_itself("        return self.grow(by - 1)", first_statement_of(method, at, at))
    # Later in the body the state may have changed: the same call can be right there.
    later = "class Box:\n    def grow(self, by):\n        self.resize()\n        \n"
    at = later.index("        \n") + 8
    assert first_statement_of(later, at, at) is None



def test_an_endless_recursion_is_never_shown() -> None:
    text = "def subtract(a, b):\n    \n"
    at = text.index("    \n") + 4
    engine = InfillEngine(MaskedLMDenoiser())
    result = engine.fill(FillRequest(text=text, start=at, language="python", n=40, min_confidence=0.01,
                                     extra_drafts=("return subtract(a, b)", "return a - b")))
    by_text = {c.text.strip(): c for c in result.candidates}
    assert not by_text["return subtract(a, b)"].shown
    assert result.candidates.index(by_text["return subtract(a, b)"]) > result.candidates.index(
        by_text["return a - b"])


def test_an_operand_compared_with_itself_is_flagged_but_a_square_is_not() -> None:
    assert operates_on_itself("        return self.width == self.", "width")
    assert operates_on_itself("    if x < ", "x:")
    assert operates_on_itself("    return a - ", "a")
    assert not operates_on_itself("        return self.width == self.", "height")
    assert not operates_on_itself("    return a * ", "a")  # a square
    assert not operates_on_itself("    z = lo - hi - ", "hi")  # (lo - hi) - hi
    assert not operates_on_itself("    return a + b == ", "b")  # (a + b) == b
    assert not operates_on_itself("    return a == ", "a.b")


def cursor(template: str) -> tuple[str, int, int]:
    """The text without its `|`, and the hole there."""
    cut = template.index("|")
    return template[:cut] + template[cut + 1 :], cut, cut


def mentions_at(template: str) -> frozenset[str] | None:
    return function_mentions(*cursor(template))


def test_a_local_nothing_else_in_its_function_mentions_is_stored_unread():
    loop = "def total(prices):\n    result = 0\n    for p in prices:\n        |\n    return result\n"
    mentions = mentions_at(loop)
    assert stores_unread("        result += p", mentions) is False  # not an assignment of a new name
    assert stores_unread("        result = result + p", mentions) is False
    assert stores_unread("        subtotal = result + p", mentions) is True
    assert stores_unread("        _ = p", mentions) is False  # a deliberate discard
    # A name the function reads above (a loop carries it) or in an f-string below is read.
    carried = "def f(xs):\n    last = 0\n    for x in xs:\n        use(last)\n        |\n    return 1\n"
    assert stores_unread("        last = x", mentions_at(carried)) is False
    shown = 'def f(x):\n    |\n    return f"{label}: {x}"\n'
    assert stores_unread("    label = str(x)", mentions_at(shown)) is False


def test_new_names_at_a_functions_end_or_outside_functions_are_not_judged():
    # Code written top down reads its new names later: the function's last line is left alone.
    assert mentions_at("def load(path):\n    |\n\n\ndef other():\n    pass\n") is None
    assert mentions_at("import os\n|\nprint(os)\n") is None  # module level
    assert mentions_at("def f(a):\n    x = g(\n        |\n    )\n    return x\n") is None  # in brackets


def next_indent_at(template: str) -> int | None:
    return next_code_indent(*cursor(template))


def test_a_jump_with_code_after_it_in_its_block_cuts_that_code_off():
    middle = "def f(xs):\n    for x in xs:\n        |\n        # why\n        print(x)\n    return 0\n"
    at = next_indent_at(middle)
    assert at == 8  # the comment is not code
    for line in ("        return x", "        raise ValueError(x)", "        continue", "        break"):
        assert cuts_off(line, at), line
    assert not cuts_off("        print(x)", at)
    assert not cuts_off("        return f(x,", at)  # the statement goes on below
    assert not cuts_off("        return (", at)
    # At a block's end the jump is what ends it.
    end = next_indent_at("def f(xs):\n    for x in xs:\n        |\n    return 0\n")
    assert end == 4 and not cuts_off("        continue", end)
    assert next_indent_at("def f(x):\n    |\n") is None
    assert next_indent_at("x = g(\n    a,\n    |\n)\n") is None  # a closing bracket follows
