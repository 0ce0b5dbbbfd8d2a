from __future__ import annotations

import pytest

from diffill.infill.drafts.corpus_index import load_or_build
from diffill.infill.drafts.ngram import NgramProposer
from diffill.model.checkpoint import DEFAULT_CHECKPOINT


@pytest.fixture(scope="module")
def tokenizer():
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(DEFAULT_CHECKPOINT / "tokenizer.json"))


def test_the_file_is_a_cache_the_proposer_copies_from(tokenizer):
    proposer = NgramProposer(tokenizer, separator=4)
    prefix = ("def load(path):\n    with open(path) as fh:\n        return json.load(fh)\n\n\n"
              "def load_other(path):\n    with open(path) as fh:\n        ")
    props = proposer.propose(prefix, "\n", n=3)
    assert props and props[0].text == "return json.load(fh)"


def test_indentation_is_not_repeated_and_lines_end_at_the_newline(tokenizer):
    proposer = NgramProposer(tokenizer, separator=4)
    prefix = "class A:\n    def f(self):\n        return 1\n\n    def g(self):\n        "
    for prop in proposer.propose(prefix, "\n", n=4):
        assert not prop.text.startswith((" ", "\t")) and "\n" not in prop.text


def test_rest_of_line_reproduces_the_healed_token(tokenizer):
    proposer = NgramProposer(tokenizer, separator=4)
    prefix = "for key, value in settings.items():\n    pass\nfor key, value in settings.it"
    props = proposer.propose(prefix, "\n", n=2)
    assert props and props[0].text == "ems():"


def test_corpus_index_supplies_idioms_the_file_lacks(tokenizer, tmp_path, monkeypatch):
    monkeypatch.setenv("DIFFILL_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "corpus"
    root.mkdir()
    for i in range(3):
        body = f"def main{i}():\n    pass\n\n\nif __name__ == \"__main__\":\n    main{i}()\n"
        (root / f"m{i}.py").write_text(body)
    index = load_or_build(tokenizer, 4, roots=[root])
    assert any((tmp_path / "cache").iterdir())  # cached for the next process
    proposer = NgramProposer(tokenizer, separator=4, corpus=index)
    prefix = "import sys\n\n\ndef run():\n    return 0\n\n\nif __name__"
    props = proposer.propose(prefix, "\n    run()\n", n=2)
    assert props and props[0].text == ' == "__main__":'
    again = load_or_build(tokenizer, 4, roots=[root])  # loads the cache
    assert again.tokens.tolist() == index.tokens.tolist()


def test_the_context_window_encodes_in_two_parts_as_in_one(tokenizer):
    # The head of the prefix window comes from a cache while typing; split at a line end, the
    # ids are exactly those of encoding the window whole, at every cursor.
    import ast
    import inspect
    import random

    from diffill.infill.drafts.ngram import CONTEXT_CHARS

    text = inspect.getsource(ast)  # code with strings, comments, tabs of indentation, blank lines
    proposer = NgramProposer(tokenizer, separator=4)
    rng = random.Random(3)
    for cursor in [rng.randrange(len(text)) for _ in range(150)] + [0, 5, len(text)]:
        prefix = text[:cursor]
        start = max(0, len(prefix) - CONTEXT_CHARS)
        if start:
            start = prefix.find("\n", start) + 1 or len(prefix)
        whole = tokenizer.encode(prefix[start:]).ids if prefix[start:] else []
        assert proposer.encode_prefix(prefix) == whole, cursor
    # Typing at a cursor: the keystrokes reuse the head the first one encoded.
    cursor = text.index("\n", len(text) // 2)
    proposer.encode_prefix(text[:cursor])
    heads = set(proposer.encoded)
    proposer.encode_prefix(text[:cursor] + "x")
    assert set(proposer.encoded) == heads  # no new head was encoded


def test_lead_in_prefers_the_fill_the_code_after_it_follows(tokenizer):
    # The file twice writes a loop whose body adds to a total; at a hole before that body,
    # the loop's header leads into it and a return does not.
    proposer = NgramProposer(tokenizer, separator=4)
    block = ("def total_{0}(items):\n    total = 0\n    for item in items:\n"
             "        total += item\n    return total\n\n\n")
    prefix = block.format("a") + block.format("b") + "def total_c(items):\n    total = 0\n    "
    suffix = "\n        total += item\n    return total\n"
    loop, ret = proposer.lead_in(prefix, ["for item in items:", "return total"], suffix)
    assert loop is not None and ret is not None and loop > ret + 2


def test_lead_in_leaves_the_lines_it_scores_out_of_the_file_model(tokenizer):
    # The suffix's next lines are the tokens scored: were they in the file model, any fill
    # would find them there. Here they occur nowhere else, so no fill is helped by them.
    proposer = NgramProposer(tokenizer, separator=4)
    prefix = "import os\n\n\ndef main():\n    "
    suffix = "\n    quux_frobnicate(zzyzx_value)\n"
    a, b = proposer.lead_in(prefix, ["x = 1", "y = 2"], suffix)
    assert a is not None and b is not None and abs(a - b) < 1.0 and a < -20


def test_lead_in_stops_when_asked(tokenizer):
    proposer = NgramProposer(tokenizer, separator=4)
    assert proposer.lead_in("x = 1\n", ["y = 2", "z = 3"], "\n", stop=lambda: True) == [None, None]


def test_a_name_typed_mid_way_is_healed_whole(tokenizer):
    # `spl` is spelled `sp` + `l`, `split` one token: only taking back the whole name lets the
    # file's `text.split()` continue it.
    proposer = NgramProposer(tokenizer, separator=4)
    prefix = "def f(text):\n    return text.split()\n\n\ndef g(text):\n    return text.spl"
    assert [t for t in tokenizer.encode("text.spl").tokens][-2:] == ["sp", "l"]
    assert "it()" in [p.text for p in proposer.propose(prefix, "\n", n=3)]
