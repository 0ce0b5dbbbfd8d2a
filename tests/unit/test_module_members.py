"""What imported modules define, read from source: the judge of `json.read(f)`."""

from __future__ import annotations

from pathlib import Path

import pytest

from diffill.infill.line_candidates import Hole, Pool
from diffill.infill.module_members import BufferImports, ModuleMembers, buffer_imports


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def fake_root(tmp_path: Path) -> Path:
    write(tmp_path, "shapes/__init__.py",
          "from .core import *\nimport sys as system\nVERSION = 1\n"
          "if system.platform == 'win32':\n    from ._win import *\nelse:\n    from ._posix import *\n")
    write(tmp_path, "shapes/core.py", "def area(s):\n    pass\n\nclass Circle:\n    pass\n\n_hidden = 2\n")
    write(tmp_path, "shapes/_posix.py", "def open_posix():\n    pass\n")
    write(tmp_path, "shapes/extra/__init__.py", "")
    write(tmp_path, "shapes/_speedups.cpython-311-x86_64-linux-gnu.so", "")  # compiled: not read, but there
    write(tmp_path, "shapes/data/shapes.json", "{}")  # a folder without __init__.py: a namespace package
    write(tmp_path, "lazy.py", "def __getattr__(name):\n    return name\n")
    write(tmp_path, "broken.py", "from missing_module import *\n")
    return tmp_path


def test_members_read_definitions_star_imports_submodules_and_the_branch_that_reads(fake_root: Path) -> None:
    members = ModuleMembers(roots=[fake_root]).members("shapes")
    assert members is not None
    assert {"area", "Circle", "VERSION", "open_posix", "core", "extra", "_speedups", "data"} <= set(members)
    assert "_hidden" not in members  # a star import leaves out private names
    assert members["system"] == "sys" and members["extra"] == "shapes.extra"


def test_modules_whose_names_change_at_run_time_or_cannot_be_read_are_unknown(fake_root: Path) -> None:
    reader = ModuleMembers(roots=[fake_root])
    assert reader.members("lazy") is None
    assert reader.members("broken") is None
    assert reader.members("nowhere") is None
    assert ModuleMembers(exclude=["shapes"], roots=[fake_root]).members("shapes") is None


def test_only_names_the_fill_reaches_are_judged(fake_root: Path) -> None:
    reader = ModuleMembers(roots=[fake_root])
    imports = {"sh": "shapes"}
    line = "x = sh.aera(sh.nothing)"
    head = len("x = sh.")
    assert reader.foreign(line, head, len(line), imports) == (2, frozenset())
    # Written by the user before the hole: not judged.
    assert reader.foreign("y = sh.nothing + sh.area", 18, 24, imports) == (0, frozenset({"area"}))
    # A name being typed is judged with its fill: `sh.ar|` + `ea`.
    assert reader.foreign("sh.area", 5, 7, imports) == (0, frozenset({"area"}))


def test_standard_library_modules_in_python_and_in_c() -> None:
    reader = ModuleMembers()
    imports = buffer_imports("import json\nimport os\nimport sys\n")
    assert reader.foreign("json.read(f)", 5, 12, imports)[0] == 1
    assert reader.foreign("json.load(f)", 5, 12, imports) == (0, frozenset({"load"}))
    assert reader.foreign("os.path.join(a, b)", 3, 18, imports) == (0, frozenset({"path", "join"}))
    # os's star import of posix, a module in C
    assert reader.foreign("os.getcwd()", 5, 11, imports) == (0, frozenset({"getcwd"}))
    assert reader.foreign("sys.exitt(1)", 4, 12, imports)[0] == 1


def test_buffer_imports_reads_aliases_and_skips_rebound_names() -> None:
    text = ("import os.path as osp, json\nfrom collections import abc as cabc\nfrom . import sibling\n"
            "import re\nre = None\n")
    assert buffer_imports(text) == {"osp": "os.path", "json": "json", "cabc": "collections.abc"}
    lazy = BufferImports(text)  # what a hole reads: each name checked when first asked for
    assert lazy.get("osp") == "os.path" and lazy.get("re") is None and lazy.get("sibling") is None


def test_a_fill_naming_what_its_module_lacks_is_flagged_and_a_member_is_no_unknown_name(denoiser) -> None:
    text = ("import json\n\n\ndef read_config(path):\n    with open(path) as f:\n        data = json.\n"
            "    return data\n")
    start = text.index("json.\n") + len("json.")
    hole = Hole.of(text, start, start, "python", ModuleMembers())
    pool = Pool(hole, lambda raw: raw)
    for fill in ("read(f)", "load(f)"):
        pool.offer(fill)
    pool.describe(denoiser, None, "")
    assert pool.items["read(f)"].foreign_module_attributes == 1
    assert pool.items["load(f)"].foreign_module_attributes == 0
    assert pool.items["load(f)"].unknown_ids == 0


def test_the_engine_never_shows_a_fill_naming_what_its_module_lacks() -> None:
    from diffill.infill.api import FillRequest
    from diffill.infill.engine import InfillEngine
    from diffill.model.denoiser import MaskedLMDenoiser

    text = "import json\n\n\ndef read_config(path):\n    with open(path) as f:\n        data = json.\n"
    at = text.index("json.\n") + len("json.")
    engine = InfillEngine(MaskedLMDenoiser())
    result = engine.fill(FillRequest(text=text, start=at, language="python", n=40, min_confidence=0.01,
                                     extra_drafts=("read(f)", "load(f)")))
    by_text = {c.text.strip(): c for c in result.candidates}
    assert not by_text["read(f)"].shown
    # Ranked after every admissible candidate, whatever its score.
    assert result.candidates.index(by_text["read(f)"]) > result.candidates.index(by_text["load(f)"])
