"""What an imported module defines, read from its source without running it.

A candidate like `json.read(f)` or `argparse.parse_args()` names an attribute its module
does not have: the denoiser and the n-gram write such lines often (a method name that follows
a dot somewhere), and no such line can run. The attribute names of the modules a buffer
imports are known without running any of its code: the module's own source (the standard
library and the installed packages) says what it binds at top level: definitions,
assignments, imports, star imports, submodules. Modules written in C are listed by `dir()`
only when they ship with Python (built in, or in the standard library's lib-dynload).

Judged conservatively: a module whose names can change at run time (a module `__getattr__`,
`globals()` writes, a star import that cannot be read) is unknown, and so is a name the
buffer binds by anything but an import.
"""

from __future__ import annotations

import ast
import importlib
import importlib.machinery
import re
import sys
import sysconfig
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Protocol

from .drafts.corpus_index import site_roots, stdlib_root
from .py_scopes import blank_literals

MAX_SOURCE_BYTES = 500_000  # larger modules are mostly generated tables; a parse would stall a request
MAX_STAR_DEPTH = 4  # star imports followed this deep (`os` -> `posix`)
DYNAMIC = re.compile(
    r"^def __getattr__\b|\bglobals\(\)\s*(?:\[|\.update)|sys\.modules\[__name__\]|\._convert_\(", re.M)
IMPORT_LINE = re.compile(
    r"^[ \t]*(?:from[ \t]+(?P<src>\.*[\w.]*)[ \t]+import[ \t]+(?P<names>\([^)]*\)|[^\n#;]+)"
    r"|import[ \t]+(?P<mods>[^\n#;]+))", re.M)
ASSIGNED = re.compile(r"[ \t]*(?::[^=\n]*)?=(?!=)")  # after a name at a line's start: `x = `, `x: T = `
BINDER_BEFORE = re.compile(r"\b(?:for|def|class)[ \t]+$")
AS_BEFORE = re.compile(r"\bas[ \t]+$")  # `with ... as x:`, `except E as x:`
ARGUMENT_BEFORE = re.compile(r"[(,][ \t]*$")  # a parameter (or an argument: read as one, to be safe)
ARGUMENT_AFTER = re.compile(r"[ \t]*[,)=:]")
CHAIN = re.compile(r"(?<![\w.])[A-Za-z_]\w*(?:[ \t]*\.[ \t]*[A-Za-z_]\w*)+")

# name -> the module it is, when the name is bound to one (else None)
Members = dict[str, str | None]


def _lib_dynload() -> Path:
    return Path(sysconfig.get_paths()["platstdlib"]) / "lib-dynload"


class ModuleMembers:
    """Attribute names of modules found in the standard library and site-packages.

    exclude: top-level modules never read (an evaluation's own projects, which the
    installed copies could reveal). roots: the folders searched (default: the standard
    library, then site-packages).
    """

    def __init__(self, exclude: Sequence[str] = (), roots: Sequence[Path] | None = None) -> None:
        self.exclude = frozenset(exclude)
        self.roots = list(roots) if roots is not None else [stdlib_root(), *site_roots()]
        self.cache: dict[str, Members | None] = {}

    def members(self, module: str, depth: int = 0) -> Members | None:
        """The names module binds at top level, or None when that cannot be told."""
        if module in self.cache:
            return self.cache[module]
        self.cache[module] = None  # a cycle of star imports reads as unknown
        found = self._read(module, depth)
        self.cache[module] = found
        return found

    def _read(self, module: str, depth: int) -> Members | None:
        if module.split(".")[0] in self.exclude:
            return None
        compiled = _compiled_members(module)
        if compiled is not None:
            return compiled
        source = self.source(module)
        if source is None:
            # `os.path` is no file: `os` binds it to `posixpath`.
            parent, _, last = module.rpartition(".")
            outer = self.members(parent, depth) if parent else None
            target = outer.get(last) if outer is not None else None
            return self.members(target, depth) if target and target != module else None
        path, is_package = source
        try:
            raw = path.read_bytes()
            if len(raw) > MAX_SOURCE_BYTES:
                return None
            text = raw.decode("utf-8")
            if DYNAMIC.search(text):
                return None  # before the parse: it costs more than the search
            tree = ast.parse(text)
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError):
            return None
        package = module if is_package else module.rpartition(".")[0]
        names: Members = {}
        if is_package:
            for sub in submodules(path.parent):
                names.setdefault(sub, f"{module}.{sub}")
        if not self._bind(tree.body, package, names, depth):
            return None
        # What `__all__` promises is there, however it gets there (`re.DOTALL` is put in
        # the module's namespace by the `enum.global_enum` decorator).
        for name in exported(tree):
            names.setdefault(name, None)
        return names

    def _bind(self, body: list[ast.stmt], package: str, names: Members, depth: int) -> bool:
        """Add what the statements bind at module level; False when a star import is unknown."""
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.setdefault(node.name, None)
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    for sub in ast.walk(target):
                        if isinstance(sub, ast.Name):
                            names.setdefault(sub.id, None)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        names.setdefault(alias.asname, alias.name)
                    else:
                        top = alias.name.split(".")[0]
                        names.setdefault(top, top)
            elif isinstance(node, ast.ImportFrom):
                source = resolve_relative(node.module or "", node.level, package)
                if source is None:
                    return False
                for alias in node.names:
                    if alias.name == "*":
                        if depth >= MAX_STAR_DEPTH:
                            return False
                        star = self.members(source, depth + 1)
                        if star is None:
                            return False
                        for name, module in star.items():
                            if not name.startswith("_"):
                                names.setdefault(name, module)
                    else:
                        dotted = f"{source}.{alias.name}"
                        names.setdefault(alias.asname or alias.name,
                                         dotted if self.source(dotted) is not None else None)
            elif isinstance(node, (ast.With, ast.For, ast.While)):
                if not self._bind(node.body, package, names, depth):
                    return False
            elif isinstance(node, (ast.If, ast.Try)):
                # Alternatives for other platforms or versions (`from nt import *` beside
                # `from posix import *`): one that reads stands for the branch taken here.
                read = [self._bind(block, package, names, depth) for block in _blocks(node) if block]
                if read and not any(read):
                    return False
        return True

    def source(self, module: str) -> tuple[Path, bool] | None:
        """The module's source file and whether it is a package, found on the search roots."""
        return _find_source(tuple(self.roots), module)

    def attribute_known(self, chain: list[str], imports: ModuleNames) -> bool | None:
        """Whether the last name of chain (`os.path.join`) is a member of the module before it.

        imports: the buffer's names bound to modules. None when that cannot be told.
        """
        module = imports.get(chain[0])
        for i, name in enumerate(chain[1:], start=1):
            if module is None:
                return None
            members = self.members(module)
            if members is None:
                return None
            if name not in members:
                return False
            if i == len(chain) - 1:
                return True
            module = members[name]
        return None

    def foreign(self, line: str, fill_from: int, fill_to: int,
                imports: ModuleNames) -> tuple[int, frozenset[str]]:
        """How many module attributes in line its module lacks, and the names it has.

        Only names that overlap the fill, line[fill_from:fill_to], are judged: the rest was
        written by the user (a name being typed, `os.getc|`, is judged with its fill).
        """
        if not imports:
            return 0, frozenset()
        lacking, having = 0, set()
        for match in CHAIN.finditer(blank_literals(line)):
            parts = [p.strip() for p in match.group().split(".")]
            if imports.get(parts[0]) is None:
                continue
            offset = match.start()
            for i, name in enumerate(parts):
                begin = line.index(name, offset)
                offset = begin + len(name)
                if i == 0 or offset <= fill_from:
                    continue
                if begin >= fill_to:
                    break
                verdict = self.attribute_known(parts[: i + 1], imports)
                if verdict is None:
                    break
                if verdict:
                    having.add(name)
                else:
                    lacking += 1
                    break
        return lacking, frozenset(having)


def submodules(folder: Path) -> list[str]:
    """The names a package folder's modules could be imported under.

    Modules in Python or compiled (`_speedups.cpython-311-x86_64-linux-gnu.so`) and
    subfolders, with or without `__init__.py` (namespace packages): too many names only
    judge less, too few would reject a real attribute.
    """
    found = []
    for child in folder.iterdir():
        if child.is_dir():
            name = child.name
        elif child.name.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)) or child.suffix == ".py":
            name = child.name.split(".")[0]
        else:
            continue
        if name.isidentifier() and name != "__pycache__":
            found.append(name)
    return found


def _blocks(node: ast.If | ast.Try) -> list[list[ast.stmt]]:
    if isinstance(node, ast.Try):
        return [node.body, *[h.body for h in node.handlers], node.orelse, node.finalbody]
    return [node.body, node.orelse]


def exported(tree: ast.Module) -> list[str]:
    """The string names `__all__` is assigned, extended or added at module level."""
    found: list[str] = []
    for node in tree.body:
        value: ast.expr | None = None
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                value = node.value
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            func = node.value.func
            if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                    and func.value.id == "__all__" and node.value.args):
                value = node.value.args[0]
        if value is not None:
            found += [c.value for c in ast.walk(value)
                      if isinstance(c, ast.Constant) and isinstance(c.value, str)]
    return [name for name in found if name.isidentifier()]


def resolve_relative(module: str, level: int, package: str) -> str | None:
    """The absolute name of `from <level dots><module> import`, read from package."""
    if level == 0:
        return module
    parts = package.split(".") if package else []
    if level - 1 > len(parts) or not package:
        return None
    base = parts[: len(parts) - (level - 1)]
    return ".".join(base + ([module] if module else [])) or None


@cache
def _find_source(roots: tuple[Path, ...], module: str) -> tuple[Path, bool] | None:
    parts = module.split(".")
    if not all(p.isidentifier() for p in parts):
        return None
    for root in roots:
        base = root.joinpath(*parts)
        if (base / "__init__.py").is_file():
            return base / "__init__.py", True
        py = base.with_name(parts[-1] + ".py")
        if py.is_file():
            return py, False
    return None


@cache
def _compiled_members(module: str) -> Members | None:
    """dir() of a module written in C that ships with Python (no third-party code runs)."""
    if "." in module:
        return None
    if module not in sys.builtin_module_names:
        spec = importlib.machinery.PathFinder.find_spec(module, [str(_lib_dynload())])
        if spec is None or not isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
            return None
    try:
        loaded = importlib.import_module(module)
    except ImportError:
        return None
    return dict.fromkeys(dir(loaded))


class ModuleNames(Protocol):
    """A buffer's names bound to modules: the module a name is, or None."""

    def get(self, name: str) -> str | None: ...

    def __len__(self) -> int: ...


class BufferImports:
    """The buffer's names bound to modules, each checked for other bindings when first asked.

    Most names are never asked for (a fill names one or two modules), and in a large file
    checking every imported name costs milliseconds on each request.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.bindings = import_bindings(text)
        self.kept: dict[str, bool] = {}

    def get(self, name: str) -> str | None:
        module = self.bindings.get(name)
        if module is None:
            return None
        if name not in self.kept:
            self.kept[name] = not rebound(self.text, name)
        return module if self.kept[name] else None

    def __len__(self) -> int:
        return len(self.bindings)


def buffer_imports(text: str) -> dict[str, str]:
    """The buffer's names bound to modules by its import statements (none it rebinds)."""
    return {name: module for name, module in import_bindings(text).items() if not rebound(text, name)}


def import_bindings(text: str) -> dict[str, str]:
    """The names the buffer's import statements bind to modules."""
    found: dict[str, str] = {}
    for match in IMPORT_LINE.finditer(text):
        if match.group("mods"):
            for item in match.group("mods").split(","):
                words = item.split()
                if len(words) == 3 and words[1] == "as":
                    found.setdefault(words[2], words[0])
                elif len(words) == 1:
                    top = words[0].split(".")[0]
                    found.setdefault(top, top)
        else:
            src = match.group("src")
            if src.startswith(".") or not src:
                continue  # the workspace's own modules: not read here
            for item in match.group("names").strip("()").split(","):
                words = item.split()
                if len(words) == 3 and words[1] == "as":
                    found.setdefault(words[2], f"{src}.{words[0]}")
                elif len(words) == 1 and words[0] != "*":
                    found.setdefault(words[0], f"{src}.{words[0]}")
    return {name: module for name, module in found.items() if name.isidentifier()}


def rebound(text: str, name: str) -> bool:
    """Whether the buffer binds name by anything but an import (assignment, loop, def, parameter).

    Read at each place the name stands (found by plain search, which is fast even in a
    large file), from the text just before and after it on its line.
    """
    at = text.find(name)
    while at >= 0:
        end = at + len(name)
        if (at == 0 or not (text[at - 1].isalnum() or text[at - 1] in "_.")) and not (
                end < len(text) and (text[end].isalnum() or text[end] == "_")):
            before = text[text.rfind("\n", 0, at) + 1 : at]
            line_end = text.find("\n", end)
            after = text[end : line_end if line_end >= 0 else len(text)]
            if ((not before.strip() and ASSIGNED.match(after)) or BINDER_BEFORE.search(before)
                    or (AS_BEFORE.search(before) and after.lstrip(" \t").startswith(":"))
                    or (ARGUMENT_BEFORE.search(before) and ARGUMENT_AFTER.match(after))):
                return True
        at = text.find(name, end)
    return False
