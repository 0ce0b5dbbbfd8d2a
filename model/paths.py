"""Where the shipped default checkpoint and the corpus manifests live (importable without torch)."""

from pathlib import Path

DEFAULT_CHECKPOINT = Path(__file__).with_name("default")
# The pinned sources the shipped model was trained on, and those of the next training run
# (a superset: more projects, so a GPU run repeats each file fewer times).
MANIFEST_PATH = Path(__file__).with_name("corpus_manifest.json")
NEXT_MANIFEST_PATH = Path(__file__).with_name("corpus_manifest_next.json")
