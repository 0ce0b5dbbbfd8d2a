"""The copy baseline: continue the longest earlier match of the prefix tail.

Find the longest tail of the prefix that occurs elsewhere in the same file (prefix or
suffix, never the cursor position itself) and copy what followed it up to the end of that
line. On real single-line holes this alone fills a sizeable share exactly, so it is both
the floor the denoiser must beat and a cheap draft for it to verify.
"""

from __future__ import annotations

MIN_MATCH = 4  # characters; shorter tails match everywhere and predict nothing
MAX_MATCH = 4000  # characters; longer matches add nothing


def _match_end(haystack: str, tail: str, exclude: int) -> int | None:
    """End of the latest occurrence of tail that does not end at exclude."""
    pos = haystack.rfind(tail)
    while pos >= 0 and pos + len(tail) == exclude:
        pos = haystack.rfind(tail, 0, pos + len(tail) - 1)
    return None if pos < 0 else pos + len(tail)


def longest_tail_match(haystack: str, prefix: str, exclude: int) -> int | None:
    """End offset in haystack of the longest occurrence of a tail of prefix, or None.

    exclude: the offset where prefix itself ends in haystack (that match is the cursor).
    Matching is monotone (a tail's occurrence contains shorter tails'), so the length is
    found by binary search. The latest occurrence wins (nearest code is most alike).
    """
    lo, hi = MIN_MATCH - 1, min(len(prefix), MAX_MATCH)
    best: int | None = None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        end = _match_end(haystack, prefix[-mid:], exclude)
        if end is not None:
            lo, best = mid, end
        else:
            hi = mid - 1
    return best


def copy_continuation(prefix: str, suffix: str) -> str:
    """Text that followed the longest match of the prefix tail, up to its line end."""
    haystack = prefix + suffix
    end = longest_tail_match(haystack, prefix, exclude=len(prefix))
    if end is None:
        return ""
    line_end = haystack.find("\n", end)
    return haystack[end:] if line_end < 0 else haystack[end:line_end]
