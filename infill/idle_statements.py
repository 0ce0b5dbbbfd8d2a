"""Statements that do nothing: an expression computed and thrown away.

`self._store[key]` where `self._store[key] = value` was meant, `other.cents` as a line,
`x == 1` as a statement: nothing calls, assigns, awaits or yields, so the line cannot be
what the programmer is writing. None of 595 such candidates on the development repositories
and 55 on the held-out ones was right. Docstrings and `...` are statements of their own and pass.

A call counts as doing something, unless it is a builtin that only computes a value
(`len(x)` as a line) or a function of `math` or `os.path`. Read from the tree-sitter parse
of the filled statement (syntax.FilledStatement), so a line inside brackets opened above is
judged as the part of its statement it is.
"""

from __future__ import annotations

from tree_sitter import Node

from .syntax import FilledStatement

# Builtins that compute a value and change nothing (not `map`, `filter`, `next`, `iter`:
# consuming or advancing an iterator is an effect, and `list(map(print, xs))` is written).
PURE_BUILTINS = frozenset({
    "abs", "ascii", "bin", "bool", "callable", "chr", "divmod", "float", "format", "hasattr",
    "hash", "hex", "id", "int", "isinstance", "issubclass", "len", "oct", "ord", "repr",
    "round", "str", "type",
})
PURE_MODULES = frozenset({"math", "os.path"})  # `os.path.dirname(path)` as a line does nothing
EFFECTS = frozenset({"assignment", "augmented_assignment", "await", "yield", "named_expression", "ERROR"})
KEPT = frozenset({"string", "concatenated_string", "ellipsis"})  # docstrings and `...`


def idle_statement(filled: FilledStatement) -> bool:
    """Whether a statement the fill writes (any of its lines) is an expression thrown away."""
    source = filled.source
    seen: set[int] = set()
    at = filled.fill_lo
    for line in source[filled.fill_lo : filled.fill_hi].split(b"\n"):
        code = len(line) - len(line.lstrip())
        if line.strip():
            statement = statement_at(filled.tree.root_node, at + code)
            if statement is not None and statement.start_byte not in seen:
                seen.add(statement.start_byte)
                if statement.type == "expression_statement" and does_nothing(statement, source):
                    return True
        at += len(line) + 1
    return False


def statement_at(root: Node, byte: int) -> Node | None:
    """The innermost statement holding the byte (None outside any)."""
    node: Node | None = root.descendant_for_byte_range(byte, byte + 1)
    while node is not None and not node.type.endswith("statement"):
        node = node.parent
    return node


def does_nothing(statement: Node, source: bytes) -> bool:
    """Whether an expression statement neither calls, assigns, awaits nor yields."""
    parts = statement.named_children
    if not parts or statement.has_error or (len(parts) == 1 and parts[0].type in KEPT):
        return False
    stack = list(parts)
    while stack:
        node = stack.pop()
        if node.type in EFFECTS or (node.type == "call" and not pure_call(node, source)):
            return False
        stack.extend(node.named_children)
    return True


def pure_call(call: Node, source: bytes) -> bool:
    """Whether the call only computes a value: a pure builtin, or a function of `math` or `os.path`."""
    function = call.child_by_field_name("function")
    if function is None:
        return False
    if function.type == "identifier":
        return text_of(function, source) in PURE_BUILTINS
    owner = function.child_by_field_name("object") if function.type == "attribute" else None
    return owner is not None and text_of(owner, source) in PURE_MODULES


def text_of(node: Node, source: bytes) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8", "replace")
