"""Drafts: candidate text that already exists somewhere, found without the denoiser.

- buffer: what followed the same context elsewhere in the buffer;
- copy_floor: the copy baseline (the longest earlier match's continuation);
- index: the same over other documents (the workspace, accepted suggestions);
- repo: that index over a benchmark task's repository;
- ngram, token_index, corpus_index: token statistics of the file and of the Python the
  user already has, as rest-of-line proposals.

The engine merges them with the denoiser's own fill (line_candidates.py) and ranks them.
Torch-free, so the CLI and the language server can use them before the model loads.
"""
