"""Attributes of the enclosing class, and candidates that name ones it never mentions."""

from diffill.infill.class_scope import class_attributes, foreign_attributes
from diffill.infill.line_candidates import Hole


def hole_at(text: str) -> tuple[str, int]:
    at = text.index("@")
    return text[:at] + text[at + 1 :], at


SHAPES = (
    "class Circle:\n"
    "    radius: float\n"
    "\n"
    "    def perimeter(self):\n"
    "        return 2 * math.pi * self.radius\n"
    "\n"
    "\n"
    "class Rectangle:\n"
    "    width: float\n"
    "\n"
    "    def perimeter(self):\n"
    "        return @\n"
    "\n"
    "    def scale(self, k):\n"
    "        self.height *= k\n"
    "\n"
    "\n"
    "def total(shapes):\n"
    "    return sum(s.radius for s in shapes)\n"
)


def test_the_class_body_before_and_after_the_hole_counts_and_no_other_class_does():
    text, at = hole_at(SHAPES)
    known = class_attributes(text, at, at)
    assert known is not None
    assert {"width", "height", "perimeter", "scale"} <= known
    assert "radius" not in known  # Circle's, and the module function's after the class
    assert foreign_attributes("2 * math.pi * self.radius", known) == 1
    assert foreign_attributes("2 * (self.width + self.height)", known) == 0


def test_outside_a_class_nothing_is_foreign():
    text, at = hole_at("def f(self):\n    return @\n")
    assert class_attributes(text, at, at) is None
    assert foreign_attributes("self.anything", None) == 0


def test_a_nested_block_inside_a_method_still_finds_the_class():
    text, at = hole_at(
        "class Cache:\n"
        "    def get(self, key):\n"
        "        if key in self.items:\n"
        "            for k in self.order:\n"
        "                @\n"
    )
    known = class_attributes(text, at, at)
    assert known is not None and {"items", "order", "get"} <= known


def test_the_hole_knows_its_class_for_the_ranker():
    text, at = hole_at(SHAPES)
    hole = Hole.of(text, at, at, "python")
    assert hole.attributes is not None and "width" in hole.attributes


def test_a_candidate_naming_another_class_attribute_is_never_shown():
    from diffill.infill.api import FillRequest
    from diffill.infill.engine import InfillEngine
    from diffill.model.denoiser import MaskedLMDenoiser

    text, at = hole_at(SHAPES)
    engine = InfillEngine(MaskedLMDenoiser())
    result = engine.fill(FillRequest(text=text, start=at, language="python", n=8, min_confidence=0.01,
                                     extra_drafts=("2 * math.pi * self.radius",)))
    foreign = [c for c in result.candidates if c.text.strip() == "2 * math.pi * self.radius"]
    assert foreign and not foreign[0].shown
    assert foreign[0].syntax_ok and foreign[0].confidence >= 0.01  # hidden by the attribute rule alone
    # At a threshold of 0 the user asked for everything: it may be shown then.
    everything = engine.fill(FillRequest(text=text, start=at, language="python", n=8, min_confidence=0.0,
                                         extra_drafts=("2 * math.pi * self.radius",)))
    assert any(c.shown and "self.radius" in c.text for c in everything.candidates)


BAG = ("class Bag:\n    def __init__(self):\n        self.items = []\n        self.count = 0\n\n"
       "    def add(self, item):\n        self.items.append(item)\n        self.clear()\n\n"
       "    def __iter__(self):\n        return @\n")


def test_recent_attributes_are_the_class_data_named_last():
    from diffill.infill.class_scope import recent_attributes

    text, at = hole_at(BAG)
    known = class_attributes(text, at, at)
    assert known is not None
    # `self.clear()` is a call: a method, not data; items was named after count.
    assert recent_attributes(text, at, known | {"clear"}) == ["items", "count"]


def test_a_line_naming_one_foreign_attribute_is_renamed_to_this_class_s():
    from diffill.infill.class_scope import renamed_attributes

    known = frozenset({"items", "count"})
    assert renamed_attributes("iter(self.data)", known, ["items", "count"]) == ["iter(self.items)",
                                                                                 "iter(self.count)"]
    assert renamed_attributes("zip(self.keys, self.values)", known, ["items"]) == []  # two: too far
    assert renamed_attributes("iter(self.items)", known, ["items"]) == []  # nothing foreign
    assert renamed_attributes("iter(self.data)", None, ["items"]) == []  # not in a class


def test_the_engine_offers_the_renamed_line_beside_the_foreign_one():
    from diffill.infill.engine import InfillEngine
    from diffill.infill.line_candidates import Pool

    text, at = hole_at(BAG)
    pool = Pool(Hole.of(text, at, at, "python"), lambda raw: raw)
    pool.offer("iter(self.data)")
    pool.offer("iter(self.items)")  # right already: nothing foreign, nothing renamed
    InfillEngine.propose_renamed(pool)
    assert pool.items["iter(self.items)"].renamed and pool.items["iter(self.items)"].sources == 2
    assert pool.items["iter(self.count)"].renamed
    assert not pool.items["iter(self.data)"].renamed
