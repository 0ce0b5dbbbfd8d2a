from __future__ import annotations

import random

import numpy as np
import pytest

from diffill.infill.drafts.token_index import MAX_ORDER, TokenIndex, suffix_array


def brute_counts(tokens: list[int], context: list[int], sep: int) -> dict[int, int]:
    out: dict[int, int] = {}
    m = len(context)
    for i in range(len(tokens) - m):
        if tokens[i : i + m] == context and tokens[i + m] != sep:
            out[tokens[i + m]] = out.get(tokens[i + m], 0) + 1
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_suffix_array_sorts_by_the_first_depth_tokens(seed):
    rng = random.Random(seed)
    tokens = np.array([rng.randrange(4) for _ in range(300)], np.uint16)
    sa = suffix_array(tokens, depth=8)
    keys = [tuple(tokens[p : p + 8].tolist()) for p in sa]
    assert keys == sorted(keys)
    assert sorted(sa.tolist()) == list(range(len(tokens)))


def test_suffix_array_of_a_short_stream_with_large_ids():
    # Ids far above the stream length (a real vocabulary, a short file).
    rng = random.Random(7)
    tokens = np.array([rng.choice([3, 900, 4000, 8191]) for _ in range(60)], np.uint16)
    sa = suffix_array(tokens, depth=24)
    keys = [tuple(tokens[p : p + 24].tolist()) for p in sa]
    assert keys == sorted(keys)


def test_next_counts_match_a_brute_force_count():
    rng = random.Random(3)
    docs = [[rng.randrange(1, 6) for _ in range(rng.randrange(20, 80))] for _ in range(5)]
    index = TokenIndex.build(docs, separator=0)
    stream = index.tokens.tolist()
    for _ in range(40):
        m = rng.randrange(1, 4)
        context = [rng.randrange(1, 6) for _ in range(m)]
        counts, total, distinct = index.next_counts(context)
        expected = brute_counts(stream, context, 0)
        assert {k: round(v) for k, v in counts.items()} == expected
        assert round(total) == sum(expected.values()) and distinct == len(expected)


def test_separator_is_never_a_continuation_and_longest_order():
    index = TokenIndex.build([[1, 2, 3], [1, 2, 4]], separator=0)
    counts, _, _ = index.next_counts([3])
    assert counts == {}  # 3 ends its document
    assert index.longest_order([9, 1, 2]) == 2
    assert index.longest_order([7, 8]) == 0
    assert index.longest_order(list(range(MAX_ORDER + 5))) <= MAX_ORDER


def test_save_and_load_round_trip(tmp_path):
    index = TokenIndex.build([[5, 6, 7, 5, 6, 8]], separator=0)
    index.save(tmp_path / "idx")
    loaded = TokenIndex.load(tmp_path / "idx")
    assert loaded.tokens.tolist() == index.tokens.tolist()
    assert loaded.next_counts([5, 6])[0] == index.next_counts([5, 6])[0] == {7: 1.0, 8: 1.0}


def test_a_truncated_index_is_refused(tmp_path):
    index = TokenIndex.build([[5, 6, 7]], separator=0)
    index.save(tmp_path / "idx")
    data = (tmp_path / "idx" / "tokens.be16").read_bytes()
    (tmp_path / "idx" / "tokens.be16").write_bytes(data[:-2])
    with pytest.raises(ValueError):
        TokenIndex.load(tmp_path / "idx")


def test_a_loaded_index_reads_its_saved_first_token_bounds(tmp_path):
    # The bounds are saved with the index: a loading process need not read all of sa first.
    rng = random.Random(4)
    index = TokenIndex.build([[rng.randrange(1, 9) for _ in range(500)]], separator=0)
    index.save(tmp_path / "idx")
    loaded = TokenIndex.load(tmp_path / "idx")
    assert loaded._first is not None
    assert loaded._first.tolist() == index.first_token_bounds().tolist()
    for context in ([3], [3, 4], [7, 1, 2]):
        assert loaded.next_counts(context) == index.next_counts(context)


def test_first_token_bounds_of_another_index_are_refused(tmp_path):
    TokenIndex.build([[5, 6, 7]], separator=0).save(tmp_path / "idx")
    other = TokenIndex.build([[5, 6, 7, 8, 9]], separator=0)
    np.save(tmp_path / "idx" / "first.npy", other.first_token_bounds())
    with pytest.raises(ValueError):
        TokenIndex.load(tmp_path / "idx")


def test_counts_of_frequent_contexts_are_kept_and_bounded(monkeypatch):
    import diffill.infill.drafts.token_index as ti

    rng = random.Random(3)
    stream = [rng.randrange(1, 6) for _ in range(5000)]  # every short context is frequent
    index = TokenIndex.build([stream], separator=0)
    fresh = [index.count_span(*index.span([t]), 1, ti.TOP_NEXT) for t in range(1, 6)]
    first = [index.next_counts([t]) for t in range(1, 6)]
    assert first == fresh and len(index._big) == 5
    assert [index.next_counts([t]) for t in range(1, 6)] == fresh  # from the cache
    monkeypatch.setattr(ti, "BIG_SPAN_CACHE", 3)
    index = TokenIndex.build([stream], separator=0)
    for a in range(1, 6):
        index.next_counts([a, 1])
    assert len(index._big) == 3 and (5, 1) in index._big and (1, 1) not in index._big  # oldest out
    # A query for fewer continuations is never answered from (or stored in) the cache.
    assert len(index.next_counts([5, 1], top=2)[0]) == 2 and len(index._big[(5, 1)][0]) == 5
