"""The held-out-repository benchmark: file selection, task cutting, workspace, fetch checks."""

from __future__ import annotations

import ast
import hashlib
import io
import json
import re
import tarfile
import textwrap
import tokenize
import zipfile
from pathlib import Path

import pytest

from diffill.infill.bench_cut import KINDS, cut_tasks
from diffill.infill.bench_fetch import FetchError, Repo, fetch, is_cut_file, load_manifest, python_files
from diffill.infill.drafts.repo import RepoDrafts
from diffill.model import pinned

FIXTURE = Path(__file__).parents[1] / "fixtures" / "bench_repo"
REPO = Repo("shop", "1.0", "shop-1.0.tar.gz", "0" * 64, "MIT", ("pkg",))
MANY = dict.fromkeys(KINDS, 100)  # more than the fixture holds


@pytest.fixture(scope="module")
def files() -> list[tuple[str, str]]:
    return python_files(FIXTURE)


@pytest.fixture(scope="module")
def tasks(files: list[tuple[str, str]]) -> list[dict[str, str]]:
    return cut_tasks("shop", [(p, t) for p, t in files if is_cut_file(REPO, p)], MANY)


def last_line(text: str) -> str:
    return text[text.rfind("\n") + 1 :]


def test_project_files_skip_packaging_docs_and_generated_code(files):
    paths = [p for p, _ in files]
    assert paths == ["pkg/__init__.py", "pkg/core.py", "tests/core_checks.py"]
    assert [p for p in paths if is_cut_file(REPO, p)] == ["pkg/__init__.py", "pkg/core.py"]


def test_every_task_rebuilds_its_file_and_names_it(tasks, files):
    text_of = dict(files)
    assert {t["kind"] for t in tasks} == set(KINDS)
    for t in tasks:
        assert t["prompt"] + t["canonical_solution"] + t["suffix"] == text_of[t["path"]]
        assert t["repo"] == "shop" and t["task_id"].startswith(f"shop/{t['path']}:")
        # Every hole but a bracket's contents runs to the end of a line.
        assert t["suffix"].startswith(")" if t["kind"] == "in_brackets" and t["prompt"].endswith("(") else
                                      "]" if t["kind"] == "in_brackets" else "\n")


def test_whole_line_holes_start_after_the_indentation(tasks):
    lines = [t for t in tasks if t["kind"] == "whole_line"]
    assert len(lines) >= 15
    for t in lines:
        middle = t["canonical_solution"]
        assert not last_line(t["prompt"]).strip() and "\n" not in middle
        assert middle == middle.strip() and not middle.startswith("#")
        assert "#" not in middle and "never a hole" not in middle and '"""' not in middle


def test_rest_of_line_holes_cut_at_token_starts(tasks):
    rest = [t for t in tasks if t["kind"] == "rest_of_line"]
    assert len(rest) >= 15
    for t in rest:
        text = t["prompt"] + t["canonical_solution"] + t["suffix"]
        row = t["prompt"].count("\n") + 1
        col = len(last_line(t["prompt"]))
        starts = {tok.start for tok in tokenize.generate_tokens(io.StringIO(text).readline)}
        assert (row, col) in starts  # a token begins at the cursor: never inside a name or string
        assert last_line(t["prompt"]).strip() and "\n" not in t["canonical_solution"]


def test_blocks_are_two_to_four_lines_of_whole_statements_in_a_function(tasks):
    blocks = [t for t in tasks if t["kind"] == "block"]
    assert blocks
    for t in blocks:
        indent = last_line(t["prompt"])
        assert not indent.strip() and indent  # inside a body: indented
        assert 2 <= t["canonical_solution"].count("\n") + 1 <= 4
        ast.parse(textwrap.dedent(indent + t["canonical_solution"]))  # complete statements
        assert "def " in t["prompt"]
    # the body of `add` after its guard is a typical block
    assert any(t["canonical_solution"].startswith("total = self.items.get") for t in blocks)


def test_cutting_is_deterministic_and_bounded(files):
    cut = [(p, t) for p, t in files if is_cut_file(REPO, p)]
    counts = {"whole_line": 3, "rest_of_line": 2, "block": 1, "in_brackets": 4, "mid_word": 5, "after_dot": 2}
    first = cut_tasks("shop", cut, counts)
    assert first == cut_tasks("shop", list(reversed(cut)), counts)
    assert [sum(t["kind"] == k for t in first) for k in KINDS] == [3, 2, 1, 4, 5, 2]
    # A kind added later leaves the others' holes as they were (each kind draws with its own seed).
    for later in ("mid_word", "after_dot"):
        without = cut_tasks("shop", cut, {**counts, later: 0})
        assert without == [t for t in first if t["kind"] != later]


def test_bracket_holes_hold_what_an_editor_closed_bracket_holds(tasks):
    held = [t for t in tasks if t["kind"] == "in_brackets"]
    assert len(held) >= 10
    for t in held:
        middle = t["canonical_solution"]
        assert middle.strip() and "\n" not in middle
        line = last_line(t["prompt"]) + middle + t["suffix"].split("\n", 1)[0]
        assert "#" not in line.split(middle, 1)[0]  # never inside a comment
        depth = 0
        for ch in middle:  # what it holds balances: the closing bracket is the one the suffix starts with
            depth += ch in "([{"
            depth -= ch in ")]}"
            assert depth >= 0
        assert depth == 0


def test_mid_word_holes_sit_inside_a_name_and_run_to_the_end_of_its_line(tasks):
    inside = [t for t in tasks if t["kind"] == "mid_word"]
    assert len(inside) >= 15
    assert any(not last_line(t["prompt"]).strip(" ").isidentifier() for t in inside)  # mid-line
    assert any(last_line(t["prompt"]).strip(" ").isidentifier() for t in inside)  # a line's first word
    for t in inside:
        text = t["prompt"] + t["canonical_solution"] + t["suffix"]
        row, col = t["prompt"].count("\n") + 1, len(last_line(t["prompt"]))
        names = [tok for tok in tokenize.generate_tokens(io.StringIO(text).readline)
                 if tok.type == tokenize.NAME and tok.start[0] == row]
        # Strictly inside one name of three or more characters, as while typing it.
        assert any(tok.start[1] < col < tok.end[1] and len(tok.string) >= 3 for tok in names)
        assert "\n" not in t["canonical_solution"] and t["suffix"].startswith("\n")


def test_after_dot_holes_start_at_the_name_after_a_member_dot(tasks):
    members = [t for t in tasks if t["kind"] == "after_dot"]
    assert len(members) >= 5
    for t in members:
        head = last_line(t["prompt"])
        assert head.endswith(".")
        assert re.match(r"[A-Za-z_]\w*", t["canonical_solution"])  # the member's name, then the line
        assert "\n" not in t["canonical_solution"] and t["suffix"].startswith("\n")
        text = t["prompt"] + t["canonical_solution"] + t["suffix"]
        row, col = t["prompt"].count("\n") + 1, len(head)
        # A real attribute access: tokenize sees the dot as an operator, never inside a string.
        dots = [tok for tok in tokenize.generate_tokens(io.StringIO(text).readline)
                if tok.type == tokenize.OP and tok.string == "." and tok.start == (row, col - 1)]
        assert dots


def test_workspace_drafts_never_come_from_the_tasks_own_file(files, tasks):
    workspace = RepoDrafts((f"shop/{p}", t) for p, t in files)
    # `inv.add(` occurs in tests/core_checks.py: another file of the project offers a draft.
    prompt = "def check():\n    inv = Inventory('bo')\n    assert inv.add("
    other = {"repo": "shop", "path": "pkg/new.py", "prompt": prompt, "suffix": "\n"}
    assert '"pears", 2) == 2' in workspace(other)
    # `self.items[name] = total` occurs only in pkg/core.py: its own tasks get no draft of it.
    own = next(t for t in tasks
               if t["kind"] == "whole_line" and t["canonical_solution"] == "self.items[name] = total")
    assert "self.items[name] = total" not in workspace(own)


def sdist(tmp_path: Path) -> tuple[Path, str]:
    """A local sdist of the fixture project and its sha256."""
    archive = tmp_path / "shop-1.0.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(FIXTURE / "pkg", arcname="shop-1.0/pkg")
    return archive, hashlib.sha256(archive.read_bytes()).hexdigest()


def test_fetch_verifies_sha256_and_unpacks_without_the_network(tmp_path, monkeypatch):
    archive, digest = sdist(tmp_path)
    cache = tmp_path / "cache"
    (cache / "sdists").mkdir(parents=True)
    archive.rename(cache / "sdists" / archive.name)

    def no_pip(*args, **kwargs):
        raise AssertionError("a cached, verified sdist must not be downloaded again")

    monkeypatch.setattr(pinned, "read", no_pip)
    repo = Repo("shop", "1.0", archive.name, digest, "MIT", ("pkg",))
    root = fetch(repo, cache)
    assert [p for p, _ in python_files(root)] == ["pkg/__init__.py", "pkg/core.py"]
    with pytest.raises(FetchError, match="does not match"):
        fetch(Repo("shop", "1.0", archive.name, "f" * 64, "MIT", ("pkg",)), cache)


def test_manifests_hold_permissive_projects_outside_the_corpus():
    corpus = json.loads((Path(__file__).parents[2] / "model" / "corpus_manifest.json").read_text())
    trained = {p["name"].lower() for p in corpus["packages"]}
    heldout = load_manifest()
    dev = load_manifest(Path(__file__).parents[2] / "infill" / "dev_repos.json")
    assert len(heldout) >= 4 and len(dev) >= 12
    assert not {r.name for r in heldout} & {r.name for r in dev}  # the held-out set stays a test
    for r in heldout + dev:
        assert r.name.lower() not in trained | {"structlog", "loguru", "tenacity", "arrow"}
        # Each part of a dual licence (`MIT OR Apache-2.0`, dateutil's `Apache-2.0 / BSD-3-Clause`).
        parts = re.split(r" OR | AND | / ", r.license)
        assert set(parts) <= {"MIT", "BSD-2-Clause", "BSD-3-Clause", "Apache-2.0", "ISC", "PSF-2.0"}
        assert len(r.sha256) == 64 and r.cut
        assert r.filename.lower().startswith(r.name.lower().replace("-", "_"))  # python_dotenv-1.2.4
        assert r.filename.endswith((".tar.gz", ".zip", ".whl"))


def test_a_pure_python_wheel_unpacks_as_a_source_tree(tmp_path, monkeypatch):
    wheel = tmp_path / "cache" / "sdists" / "shop-1.0-py3-none-any.whl"
    wheel.parent.mkdir(parents=True)
    with zipfile.ZipFile(wheel, "w") as zf:
        for path in sorted((FIXTURE / "pkg").rglob("*.py")):
            zf.write(path, f"pkg/{path.relative_to(FIXTURE / 'pkg').as_posix()}")
        zf.writestr("shop-1.0.dist-info/METADATA", "Name: shop\n")
    monkeypatch.setattr(pinned, "read", lambda *a, **k: pytest.fail("downloaded again"))
    repo = Repo("shop", "1.0", wheel.name, hashlib.sha256(wheel.read_bytes()).hexdigest(), "MIT", ("pkg",))
    root = fetch(repo, tmp_path / "cache")
    assert [p for p, _ in python_files(root)] == ["pkg/__init__.py", "pkg/core.py"]
    assert all(is_cut_file(repo, p) for p, _ in python_files(root))
