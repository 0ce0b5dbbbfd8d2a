"""Builds the corpus index in a child process: `python -m diffill.infill.drafts.index_child`.

The build peaks at about 1.6 GB (tokenizing 100 MB of Python, sorting 37M suffixes); in the
language server that peak would stay in the editor's process for its whole life, since
Python rarely returns freed memory. The child builds and saves the index, then exits, and
the caller memory-maps the saved files. Reads a JSON object from stdin: the tokenizer (its
JSON and how it treats special tokens' text), the files, the separator id and the folder to
save to.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tokenizers import Tokenizer

from .corpus_index import build_index


def main() -> None:
    job = json.loads(sys.stdin.read())
    tokenizer = Tokenizer.from_str(job["tokenizer"])
    tokenizer.encode_special_tokens = bool(job["encode_special_tokens"])
    index = build_index(tokenizer, [Path(f) for f in job["files"]], int(job["separator"]))
    index.save(Path(job["path"]))


if __name__ == "__main__":
    main()
