"""Where the shipped default checkpoint lives (importable without torch)."""

from pathlib import Path

DEFAULT_CHECKPOINT = Path(__file__).with_name("default")
