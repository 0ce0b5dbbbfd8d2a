from __future__ import annotations

from diffill.infill.drafts.names import name_drafts
from diffill.infill.py_scopes import names_in_scope

WRITE = 'def save(path, text):\n    with open(path, "w") as f:\n        f.write()\n'


def at(text: str, marker: str) -> list[str]:
    cursor = text.index(marker) + len(marker)
    return name_drafts(text, cursor, cursor, names_in_scope(text, cursor, cursor))


def test_a_closed_bracket_gets_the_names_in_scope_most_recent_first():
    assert at(WRITE, "f.write(")[:3] == ["f", "path", "text"]


def test_an_open_bracket_at_the_line_end_gets_its_closer():
    text = WRITE.replace("f.write()", "print(")
    assert at(text, "print(")[:3] == ["f)", "path)", "text)"]
    nested = WRITE.replace("f.write()", "print(len(")
    assert at(nested, "print(len(")[0] == "f))"


def test_after_a_comma_the_arguments_already_given_are_not_offered_again():
    text = WRITE.replace("f.write()", "print(text, )")
    found = at(text, "print(text, ")
    assert "text" not in found and found[:2] == ["f", "path"]


def test_the_callee_is_not_its_own_argument():
    text = "def run(job, jobs):\n    for job in jobs:\n        run()\n"
    assert "run" not in at(text, "run(")


def test_names_no_scope_binds_are_not_offered():
    text = "def f(a):\n    return g()\n\n\ndef h(b):\n    return b\n"
    found = at(text, "g(")
    assert found[0] == "a" and "b" not in found  # b is h's


def test_only_at_the_start_of_an_argument():
    assert at(WRITE, "with open(path") == []  # inside a name
    assert at(WRITE, 'with open(path, "w") as ') == []  # not in brackets
    assert at("x = 1\ny = (1 + 2)\nprint(x\n", "print(x") == []


def test_a_line_that_closes_brackets_opened_above_gets_nothing_at_its_end():
    text = "def f(a):\n    g(\n        1), h(\n"
    assert at(text, "h(") == []  # which brackets the line must close is unknown


def test_after_self_dot_the_class_attributes_named_last_come_with_their_closers():
    from diffill.infill.drafts.names import attribute_drafts

    text = ("class Box:\n    def __init__(self, width, height):\n        self.width = width\n"
            "        self.height = height\n\n    def area(self):\n        return self.width * self.\n")
    cursor = text.index("* self.") + len("* self.")
    # The attribute its line named already comes last, if at all: `self.width * self.width`.
    assert attribute_drafts(text, cursor, cursor, ["width", "height"]) == ["height"]
    call = text.replace("return self.width * self.", "print(self.")
    cursor = call.index("print(self.") + len("print(self.")
    assert attribute_drafts(call, cursor, cursor, ["height", "width"]) == ["height)", "width)"]
    assert attribute_drafts(call, cursor - 5, cursor - 5, ["height"]) == []  # not after `self.`


def test_a_signature_gets_the_names_its_body_reads_and_nothing_binds():
    from diffill.infill.drafts.names import parameter_drafts
    from diffill.infill.signature_fit import body_names

    def drafts(template: str) -> list[str]:
        cut = template.index("|")
        text = template[:cut] + template[cut + 1 :]
        scope = names_in_scope(text, cut, cut)
        return parameter_drafts(text, cut, cut, lambda: body_names(text, cut, cut, scope))

    method = "import os\n\n\nclass Store:\n    def save(|):\n        os.write(fd, self.encode(data))\n"
    assert drafts(method) == ["self, fd, data"]  # `os` is bound; `encode` is an attribute
    assert drafts("class A:\n    @classmethod\n    def make(|):\n        return cls(size)\n") == ["cls, size"]
    assert drafts("def pair(|):\n    return [left, right]\n") == ["left, right"]
    # Only inside the brackets of a signature with its body below.
    assert drafts("def pair(|\n    return [left, right]\n") == []
    assert drafts("pair(|)\n") == []
