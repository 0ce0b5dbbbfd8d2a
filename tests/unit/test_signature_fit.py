from __future__ import annotations

from diffill.infill.py_scopes import names_in_scope
from diffill.infill.signature_fit import BodyNames, body_names, signature_misfit


def body_at(template: str) -> tuple[BodyNames | None, str]:
    cut = template.index("|")
    text = template[:cut] + template[cut + 1 :]
    head = text[text.rfind("\n", 0, cut) + 1 : cut]
    return body_names(text, cut, cut, names_in_scope(text, cut, cut)), head


PROJECTION = (
    "import json\n\n\n|\n"
    "    return {'type': 'projection', 'children': [left, right], 'at': json.dumps(depth)}\n"
)


def test_a_name_the_body_reads_and_nothing_binds_must_be_a_parameter():
    body, head = body_at(PROJECTION)
    assert body is not None and body.free == ("left", "right", "depth")
    assert signature_misfit(head + "def projection(left, right, depth):", body) == (0, 0)
    assert signature_misfit(head + "def projection(left, right):", body) == (1, 0)
    assert signature_misfit(head + "def projection(left, right, depth, extra=None):", body) == (0, 1)


def test_self_underscored_and_star_parameters_are_read_as_parameters():
    body, head = body_at("class A:\n    def run(|):\n        return self.go(*args, **kwargs)\n")
    assert body is not None
    assert signature_misfit("    def run(self, *args, **kwargs):", body) == (0, 0)
    assert signature_misfit("    def run(self, _unused, *args, **kwargs):", body) == (0, 0)
    assert signature_misfit("    def run(self):", body) == (2, 0)


def test_a_stub_body_leaves_parameters_unread_on_purpose():
    body, _ = body_at("class Base:\n    def area(|):\n        raise NotImplementedError\n")
    assert body is not None and body.stub
    assert signature_misfit("    def area(self, scale):", body) == (0, 0)


def test_other_lines_and_lines_without_a_body_are_not_judged():
    body, _ = body_at(PROJECTION)
    assert body is not None
    assert signature_misfit("x = projection(left, right)", body) is None
    assert signature_misfit("def projection(left,", body) is None  # the signature goes on
    assert body_at("def f(a):\n    return a\n|\n")[0] is None


def test_a_method_signature_starts_with_self_or_cls_as_its_decorators_say():
    from diffill.infill.signature_fit import implicit_parameter

    text = ("class A:\n    x = 1\n\n    def f(self):\n        pass\n\n    @classmethod\n    def make():\n"
            "        pass\n\n    @staticmethod\n    def s():\n        pass\n\n    def g():\n"
            "        def inner():\n            pass\n\n\ndef top():\n    pass\n")
    at = {name: text.index(f"def {name}(") for name in ("make", "s", "g", "inner", "top")}
    starts = {name: text.rfind("\n", 0, i) + 1 for name, i in at.items()}
    assert implicit_parameter(text, starts["make"]) == "cls"
    assert implicit_parameter(text, starts["s"]) is None
    assert implicit_parameter(text, starts["g"]) == "self"
    assert implicit_parameter(text, starts["inner"]) is None
    assert implicit_parameter(text, starts["top"]) is None
