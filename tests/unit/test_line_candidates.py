from __future__ import annotations

from dataclasses import replace

from diffill.infill.line_candidates import Hole
from diffill.infill.ranking import FEATURE_NAMES, Features, default_ranker, unknown_identifiers
from diffill.infill.syntax import brackets_balanced, statement_ok


def hole(text: str) -> Hole:
    cut = text.index("|")
    text = text[:cut] + text[cut + 1 :]
    return Hole.of(text, cut, cut, "python")


def test_fills_that_repeat_a_neighbouring_line_are_dropped():
    h = hole("class A:\n    def __init__(self, size):\n        self.size = size\n        |\n")
    assert h.repeats_neighbour("self.size = size")
    assert not h.repeats_neighbour("self.area = size * size")
    h = hole("def f(xs):\n    for x in xs:\n        |\n        return result\n")
    assert h.repeats_neighbour("return result")


def test_a_fill_equal_to_the_code_after_the_cursor_is_dropped():
    h = hole("x = compute(|)\n")
    assert not h.repeats_neighbour("a, b")
    h = hole("def f():\n    |return 1\n")
    assert h.repeats_neighbour("return 1\n")


def test_statement_check_judges_the_filled_line_not_the_error_count():
    # The buffer has an unrelated error elsewhere; the fill must still parse in its own line.
    before = "def broken(:\n    pass\n\n\nclass Bag:\n    def __len__(self):\n        return len(self."
    after = "\n\n    def add(self, x):\n        self.items.append(x)\n"
    text_bad = before + "items:" + after
    text_good = before + "items)" + after
    start = len(before)
    assert statement_ok(text_good, start, start + 6, "python") is True
    assert statement_ok(text_bad, start, start + 6, "python") is False
    assert statement_ok("x = (", 0, 5, None) is None


def test_bracket_balance_and_unknown_identifiers():
    assert brackets_balanced("    return len(self.items)")
    assert not brackets_balanced("    return len(self.items")
    assert brackets_balanced("    s = '(('")
    known = frozenset({"self", "items"})
    assert unknown_identifiers("len(self.items)", known) == 0
    assert unknown_identifiers("findfile(filename)", known) == 2
    assert unknown_identifiers("f(self, seed=0x5EED, scale=1e3)", known | {"f"}) == 2  # not x5EED, e3


def test_ranker_prefers_agreeing_syntax_valid_candidates_and_abstains_on_weak_ones():
    ranker = default_ranker()
    strong = Features(denoiser=-1.0, ngram=-2.0, ngram_rank=0, ngram_order=8, draft_chars=60,
                      draft_rank=0, copy=True, sources=3)
    weak = Features(denoiser=-8.0, model=True, sources=1, syntax_ok=False, unknown_ids=3)
    assert ranker.probability(strong) > ranker.show_at > ranker.probability(weak)


def test_an_init_draft_defines_the_attribute_it_assigns(denoiser):
    # `self.height = height` for an unused parameter names an attribute the class never
    # mentions yet: from the scope's `__init__` drafts that is its definition, not a stray copy.
    from diffill.infill.line_candidates import Pool

    h = hole("class Box:\n    def __init__(self, width, height):\n        self.width = width\n        |\n\n"
             "    def area(self):\n        return self.width * 2\n")
    pool = Pool(h, lambda raw: raw)
    init, copied = pool.offer("self.height = height"), pool.offer("self.depth = height")
    assert init is not None and copied is not None
    init.scope = "init"
    pool.describe(denoiser, None, "")
    assert init.foreign_attributes == 0 and init.admissible()
    assert copied.foreign_attributes == 1 and not copied.admissible()


def test_the_denoisers_lines_are_described_under_their_cleaned_text(denoiser):
    # The pool keys a line by its cleaned text; a decoded line that cleaning changes (here
    # its indentation, which the user typed already) must still get its features.
    import numpy as np

    from diffill.infill.line_candidates import Pool

    h = hole("def f(x):\n    y = x + 1\n    |\n")
    pool = Pool(h, lambda raw: raw.rstrip())
    pool.offer("return y")
    pool.describe(denoiser, None, "")
    prior = np.full((8, denoiser.tokenizer.get_vocab_size()), -3.0, dtype=np.float32)
    pool.offer_model_lines(["  return x * 2   ", "return y"], denoiser, prior, "")
    new, old = pool.items["return x * 2"], pool.items["return y"]
    assert new.model and new.sources == 1 and new.tokens > 0 and new.denoiser == -3.0
    assert new.fresh_available and new.fresh_names == 0  # `x` is used already; `y` is not
    assert old.model and old.sources == 2 and old.fresh_names == 1  # two sources proposed it


def test_a_hole_at_the_start_of_its_line_is_marked_for_the_ranker(denoiser):
    from diffill.infill.line_candidates import Pool

    whole = Pool(hole("def f(x):\n    |\n"), lambda raw: raw)
    rest = Pool(hole("def f(x):\n    y = |\n"), lambda raw: raw)
    a, b = whole.offer("return x"), rest.offer("x + 1")
    assert a is not None and b is not None
    whole.describe(denoiser, None, "")
    rest.describe(denoiser, None, "")
    assert a.line_start and not b.line_start
    # Whole lines are right less often: the shipped ranker is surer of the same features mid-line.
    ranker = default_ranker()
    assert ranker.probability(replace(b, line_start=True)) < ranker.probability(b)


def test_a_hole_right_after_a_member_dot_is_marked_for_the_ranker(denoiser):
    from diffill.infill.line_candidates import Pool

    assert hole("x = self.|\n").after_dot and hole("x = os.path.|\n").after_dot
    assert hole('s = "".|\n').after_dot and hole("y = f(a)[0].|\n").after_dot
    for elsewhere in ("from .|\n", "x = 1.|\n", "x = ...|\n", "x = self|\n", "    |\n"):
        assert not hole(elsewhere).after_dot, elsewhere
    pool = Pool(hole("def f(items):\n    items.|\n"), lambda raw: raw)
    member = pool.offer("sort()")
    assert member is not None
    pool.describe(denoiser, None, "")
    assert member.after_dot
    # Which member comes next is a guess: the shipped ranker is less sure of the same features there.
    ranker = default_ranker()
    assert ranker.probability(replace(member, after_dot=False)) > ranker.probability(member)


def test_lead_in_counts_only_as_the_gap_to_the_best_rival():
    ranker = default_ranker()
    assert ranker.weights[FEATURE_NAMES.index("lead_in_gap")] > 0  # the fitted ranker trusts a better lead-in
    base = Features(denoiser=-2.0, ngram=-3.0, ngram_rank=0, ngram_order=6, sources=2)
    # Alone, a candidate's own lead-in says nothing: the suffix is the same for every fill.
    assert ranker.probability(replace(base, lead_in=-5.0)) == ranker.probability(replace(base, lead_in=-40.0))
    good, bad = replace(base, lead_in=-5.0), replace(base, lead_in=-25.0)
    p_good, p_bad = ranker.probabilities([good, bad])
    assert p_good > p_bad
    # Unscored pools (drafts off, or a stopped request) rank as if the feature did not exist.
    p_a, p_b = ranker.probabilities([base, replace(base, denoiser=-2.5)])
    assert p_a > p_b


def test_a_name_being_typed_is_judged_with_its_completion(denoiser):
    # The cursor inside `em`: `ail` completes a name the file knows; `(item)` leaves `em`
    # standing as a name nothing else in the file mentions.
    from diffill.infill.line_candidates import Pool

    h = hole("class User:\n    def __init__(self, name, email):\n        self.name = name\n"
             "        self.email = em|\n")
    assert h.word == "em" and "em" not in h.known and "email" in h.known
    pool = Pool(h, lambda raw: raw)
    done, stray = pool.offer("ail"), pool.offer("(item)")
    assert done is not None and stray is not None
    pool.describe(denoiser, None, "")
    assert done.unknown_ids == 0
    assert stray.unknown_ids == 2  # `em` and `item`
    assert hole("def read(path):\n    with open(path) as f:\n        re|\n").word == "re"
    # After a space or an operator there is no name being typed.
    assert hole("x = |\n").word == "" and hole("y = x.|\n").word == ""


def described(denoiser, template: str, *fills: str) -> list[Features]:
    """Each fill's features in the pool of the hole at `|`."""
    from diffill.infill.line_candidates import Pool

    pool = Pool(hole(template), lambda raw: raw)
    offered = [pool.offer(fill) for fill in fills]
    pool.describe(denoiser, None, "")
    assert all(f is not None for f in offered)
    return [f for f in offered if f is not None]


def test_the_pool_marks_idle_lines_inadmissible_and_weighs_a_signature_against_its_body(denoiser):
    cache = "class Cache:\n    def set(self, key, value):\n        self._store[|\n"
    idle, assigned = described(denoiser, cache, "key]", "key] = value")
    assert idle.idle and not idle.admissible()
    assert not assigned.idle and assigned.admissible()

    pair = "|\n    return {'type': 'pair', 'children': [left, right]}\n"
    fits, short = described(denoiser, pair, "def pair(left, right):", "def pair(left):")
    assert (fits.signature_missing, fits.signature_unread) == (0, 0)
    assert (short.signature_missing, short.signature_unread) == (1, 0)


def test_the_pool_never_admits_a_store_nothing_reads(denoiser):
    loop = "def total(prices):\n    result = 0\n    for p in prices:\n        |\n    return result\n"
    dead, used = described(denoiser, loop, "subtotal = p * 2", "result += p")
    assert dead.stores_unread and not dead.admissible()
    assert not used.stores_unread and used.admissible()


def test_the_pool_never_admits_a_jump_that_cuts_off_the_code_after_it(denoiser):
    loop = "def f(xs):\n    for x in xs:\n        |\n        print(x)\n    return 0\n"
    jump, call = described(denoiser, loop, "continue", "print(x * 2)")
    assert jump.cuts_off and not jump.admissible()
    assert not call.cuts_off and call.admissible()


def test_the_pool_never_admits_a_line_that_breaks_the_code_below_it(denoiser):
    body = "def run(self):\n    |\n        self.start()\n    self.stop()\n"
    bare_try, guard = described(denoiser, body, "try:", "if self.ready:")
    assert bare_try.syntax_ok and bare_try.breaks_below and not bare_try.admissible()
    assert not guard.breaks_below and guard.admissible()
