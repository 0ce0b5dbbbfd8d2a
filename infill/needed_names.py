"""Names the code after a hole needs it to bind.

When the rest of the function below the hole reads a name that nothing in its scope binds
(not a parameter, not a local bound anywhere else in the function, not a module name, not a
builtin), the hole's line is where that name must come from: `for key, value in d.items():`
over a body reading `key` and `value`, `result = []` over a loop appending to `result`, `with
open(path) as f:` over `f.read()`. `out[key] = v` and `total += 1` read the name before
storing into it, so they do not bind it here. On the development repositories' whole-line
holes, of the candidates that may be shown, one binding such a name was right in 31 of 94,
one leaving them all unbound in 11 of 383 (and one where nothing is needed, 501 of 6,654).
The ranker weighs both counts (`needed_met`, `needed_unmet`); where the code below needs
nothing, both are 0, as in an editor writing a function top down.

Read inside functions only: at module level the lines below are other functions, whose
locals are not the module's names. Read from patterns on blanked text (py_scopes), like the
other scope readers, because the buffer is usually mid-edit.
"""

from __future__ import annotations

import re

from .py_scopes import (
    BUILTIN_WORDS,
    IDENTIFIER,
    MODULE_DUNDERS,
    blank_literals,
    body_below,
    enclosing_function,
    names_bound_by,
    names_in_scope,
    surroundings,
)

IMPLICIT = frozenset({"self", "cls"})
# `out[key] = v` and `total += x` read the name before they store into it: not bindings here.
READING_STORE = re.compile(
    r"(?<![\w.])([A-Za-z_]\w*)([ \t]*(?:\[[^\]\n]*\][ \t]*=(?!=)|(?:[-+*/%&|^@]|//|\*\*|<<|>>)=))"
)


def names_needed_below(text: str, start: int, end: int, scope: frozenset[str] | None) -> tuple[str, ...]:
    """Names the rest of the function after the hole's line reads that nothing binds, first read first.

    scope: the names bound where the hole stands (py_scopes.names_in_scope, which reads the
    whole function and module without the hole's line); None (cannot tell) needs nothing.
    """
    if scope is None:
        return ()
    above, below, indent = surroundings(text, start, end)
    func = enclosing_function(above, indent)
    if func is None:
        return ()
    rest = body_below(below, func.indent)
    if not rest.strip():
        return ()
    reads = IDENTIFIER.findall(rest)
    stores = READING_STORE.sub(lambda m: m.group(1) + " " * len(m.group(2)), rest)
    if stores != rest:
        # The scope read those stores as bindings too: read it again with them as reads
        # (blanking keeps offsets, and the rest begins the line after the hole's).
        from_ = text.find("\n", end) + 1
        rescoped = names_in_scope(text[:from_] + stores + text[from_ + len(rest) :], start, end)
        scope = scope if rescoped is None else rescoped
    free = set(reads) - names_bound_by(stores) - scope - BUILTIN_WORDS - MODULE_DUNDERS - IMPLICIT
    return tuple(dict.fromkeys(name for name in reads if name in free))


def needed_bound(line: str, needed: tuple[str, ...]) -> tuple[int, int]:
    """(needed names the whole filled line binds, needed names it leaves unbound)."""
    if not needed:
        return 0, 0
    met = len(set(needed) & names_bound_by(blank_literals(line)))
    return met, len(needed) - met
