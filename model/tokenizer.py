"""Byte-level BPE tokenizer for code, with the special tokens the denoiser needs.

Byte-level so every input round-trips exactly (decode(encode(x)) == x), including CRLF,
tabs and any Unicode. The GPT-2 split pattern keeps runs of whitespace together, so BPE
learns single tokens for common indentation ("\\n        ").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

# Order fixes the ids: pad=0, mask=1, null=2, bos=3, eos=4.
SPECIAL_TOKENS = ("<|pad|>", "<|mask|>", "<|null|>", "<|bos|>", "<|eos|>")
PAD, MASK, NULL, BOS, EOS = range(len(SPECIAL_TOKENS))


def new_tokenizer() -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    return tok


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> Tokenizer:
    """Train on texts; special tokens come first so their ids are fixed."""
    tok = new_tokenizer()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        min_frequency=2,
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    tok.encode_special_tokens = True
    for i, name in enumerate(SPECIAL_TOKENS):
        assert tok.token_to_id(name) == i, name
    return tok


def load_tokenizer(path: Path) -> Tokenizer:
    tok = Tokenizer.from_file(str(path))
    # Source text that spells a special token ("<|mask|>") must stay text, not become the
    # mask id; this flag is not stored in tokenizer.json, so set it on every load.
    tok.encode_special_tokens = True
    return tok


def bytes_per_token(tok: Tokenizer, texts: Iterable[str]) -> float:
    """Compression measured on texts: higher means shorter canvases for the same code."""
    n_bytes = n_tokens = 0
    for text in texts:
        n_bytes += len(text.encode())
        n_tokens += len(tok.encode(text).ids)
    return n_bytes / max(n_tokens, 1)


def round_trip_failures(tok: Tokenizer, texts: Iterable[str]) -> Iterator[int]:
    """Indices of texts that do not survive encode/decode unchanged."""
    for i, text in enumerate(texts):
        if tok.decode(tok.encode(text).ids, skip_special_tokens=False) != text:
            yield i
