from __future__ import annotations

import pytest

from diffill.model.checkpoint import DEFAULT_CHECKPOINT
from diffill.model.corpus import stdlib_files
from diffill.model.tokenizer import (
    BOS,
    EOS,
    MASK,
    NULL,
    PAD,
    SPECIAL_TOKENS,
    load_tokenizer,
    round_trip_failures,
)


@pytest.fixture(scope="module")
def tok():
    return load_tokenizer(DEFAULT_CHECKPOINT / "tokenizer.json")


def test_special_ids_are_fixed(tok):
    ids = [tok.token_to_id(name) for name in SPECIAL_TOKENS]
    assert ids == [PAD, MASK, NULL, BOS, EOS]


def test_round_trip_every_stdlib_corpus_file(tok):
    # The standard library is the corpus's first source and is on every machine.
    texts = [f.text for f in stdlib_files()]
    assert len(texts) > 500
    assert list(round_trip_failures(tok, texts)) == []


@pytest.mark.parametrize("text", [
    "a\r\nb\r\n", "\tif x:\n\t\treturn 1\n", "naïve = 'façade' + '日本語' + '🙂'\n",
    "", " ", "\n\n\n", "x" * 5000, "\x0b\x0c odd whitespace", "<|mask|> looks special",
])
def test_round_trip_edge_cases(tok, text):
    assert tok.decode(tok.encode(text).ids, skip_special_tokens=False) == text


def test_special_token_text_in_source_is_not_special(tok):
    # Source code that happens to contain a special token's text must not become that id.
    ids = tok.encode("x = '<|null|>'").ids
    assert NULL not in ids


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_indentation_is_compact(tok, depth):
    # A newline plus an indentation level costs at most two tokens, not one per space.
    text = "\n" + "    " * depth + "return x"
    assert len(tok.encode(text).ids) <= 4


def test_special_token_spelled_in_source_stays_text(tok):
    assert MASK not in tok.encode("a <|mask|> b").ids
