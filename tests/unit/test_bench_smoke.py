"""The hand-written smoke set: loads, well formed, and every accepted answer parses."""

from __future__ import annotations

import ast

from diffill.infill.bench import smoke_tasks


def test_smoke_set_is_large_and_mixed():
    tasks = smoke_tasks()
    assert len(tasks) >= 36
    assert len({t["task_id"] for t in tasks}) == len(tasks)
    kinds = [t["kind"] for t in tasks]
    assert kinds.count("whole_line") >= 12 and kinds.count("rest_of_line") >= 12
    assert {t["repo"] for t in tasks} == {"smoke"}


def test_every_accepted_answer_makes_the_file_parse():
    for t in smoke_tasks():
        assert t["canonical_solution"] == t["accepted"][0], t["task_id"]
        for answer in t["accepted"]:
            assert "\n" not in answer and answer == answer.strip(), t["task_id"]
            ast.parse(t["prompt"] + answer + t["suffix"])
        # The hole runs to the end of its line, and its kind says where the cursor is.
        assert t["suffix"].startswith("\n"), t["task_id"]
        before = t["prompt"][t["prompt"].rfind("\n") + 1 :]
        assert (t["kind"] == "whole_line") == (not before.strip()), t["task_id"]
