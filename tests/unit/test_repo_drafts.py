"""Benchmark tasks take workspace drafts from the other files of their own repository."""

from __future__ import annotations

from diffill.infill.drafts.repo import RepoDrafts, task_path

FILES = [
    ("alpha/pkg/a.py", "def load(path):\n    return read_config(path, strict=True)\n"),
    ("alpha/pkg/b.py", "x = 1\n"),
    ("beta/mod.py", "def load(path):\n    return read_config(path, strict=False, beta=1)\n"),
]


def task(task_id: str, prompt: str, suffix: str = "\n") -> dict[str, str]:
    return {"task_id": task_id, "prompt": prompt, "suffix": suffix}


def test_drafts_come_from_the_same_repository_only():
    drafts = RepoDrafts(FILES)
    got = drafts(task("alpha/pkg/b.py:3:rest_of_line", "x = 1\n\ndef load(path):\n    return read_config("))
    assert got and got[0] == "path, strict=True)"
    assert all("beta" not in d for d in got)


def test_a_task_never_drafts_from_its_own_file():
    drafts = RepoDrafts(FILES)
    got = drafts(task("alpha/pkg/a.py:2:rest_of_line", "def load(path):\n    return read_config("))
    assert got == ()


def test_task_path_strips_line_and_kind():
    assert task_path("alpha/pkg/a.py:12:line") == "alpha/pkg/a.py"


def test_near_copies_can_be_left_out():
    copy = ("alpha/pkg/a_copy.py", FILES[0][1])
    files = [*FILES, copy]
    prompt = "x = 1\n\ndef load(path):\n    return read_config("
    # The task file is b.py here; a.py and its copy are both unlike it, so both stay in.
    assert RepoDrafts(files, skip_similar=0.5)(task("alpha/pkg/b.py:3:rest_of_line", prompt))
    # A task in a.py: its copy shares every long line, so with skip_similar it is left out.
    own = task("alpha/pkg/a.py:2:rest_of_line", "def load(path):\n    return read_config(")
    assert RepoDrafts(files)(own) == ("path, strict=True)",)
    assert RepoDrafts(files, skip_similar=0.5)(own) == ()
