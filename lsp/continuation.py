"""Serve the rest of the last inline suggestion when the user types its beginning.

Used by `textDocument/inlineCompletion`: typing (or accepting word by word) exactly what the
suggestion begins with, at the place it was shown, must not cost a new denoising run.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shown:
    anchor: int  # offset where the suggestion was inserted
    before: str  # text before the anchor then
    after: str  # text after the cursor then
    text: str  # the suggestion


class ContinuationCache:
    """The last suggestion shown per document."""

    def __init__(self) -> None:
        self.shown: dict[str, Shown] = {}

    def remember(self, uri: str, text: str, offset: int, suggestion: str) -> None:
        self.shown[uri] = Shown(offset, text[:offset], text[offset:], suggestion)

    def rest(self, uri: str, text: str, offset: int) -> str | None:
        """What is left of the last suggestion if text is it with its beginning typed at the anchor."""
        s = self.shown.get(uri)
        if s is None or offset < s.anchor:
            return None
        typed = text[s.anchor : offset]
        if len(typed) >= len(s.text) or not s.text.startswith(typed):
            return None
        if text[offset:] != s.after or text[: s.anchor] != s.before:
            return None
        return s.text[len(typed) :]

    def forget(self, uri: str) -> None:
        self.shown.pop(uri, None)
