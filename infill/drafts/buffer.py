"""Buffer drafts: text the buffer already has, proposed as candidates for the hole.

A small denoiser that cannot write a line from nothing can still recognise the right one
when it is put in front of it. Drafts come from spans whose left context matches the tail
of the prefix (longest match first, as in the copy floor); each continuation up to its
line end is one draft. The denoiser then scores every candidate (seeding.py,
line_candidates.py), so the choice is the model's.
"""

from __future__ import annotations

MIN_MATCH = 4  # characters of prefix tail a draft's context must share
MAX_DRAFTS = 3


def buffer_drafts(
    prefix: str, suffix: str, max_drafts: int = MAX_DRAFTS, min_match: int = MIN_MATCH
) -> list[str]:
    """Continuations (to line end) of the longest matches of the prefix tail, best first.

    min_match: characters of context a draft must share with the prefix tail.
    """
    return [draft for draft, _ in buffer_draft_matches(prefix, suffix, max_drafts, min_match)]


def buffer_draft_matches(
    prefix: str, suffix: str, max_drafts: int = MAX_DRAFTS, min_match: int = MIN_MATCH
) -> list[tuple[str, int]]:
    """(draft, characters of matching context) pairs, longest match first."""
    haystack = prefix + suffix
    cursor = len(prefix)
    drafts: list[tuple[str, int]] = []
    seen: set[str] = set()
    length = min(len(prefix), 400)
    # Walk down from long to short tails; each distinct continuation is a draft.
    while length >= min_match and len(drafts) < max_drafts:
        tail = prefix[-length:]
        pos = haystack.rfind(tail)
        seen_here = 0
        while pos >= 0 and seen_here < 8:
            end = pos + length
            if end != cursor:
                line_end = haystack.find("\n", end)
                cont = haystack[end:] if line_end < 0 else haystack[end:line_end]
                if cont.strip() and cont not in seen:
                    seen.add(cont)
                    drafts.append((cont, length))
                    if len(drafts) >= max_drafts:
                        break
            pos = haystack.rfind(tail, 0, end - 1)
            seen_here += 1
        length = length // 2 if length > 64 else length - 1
    return drafts
