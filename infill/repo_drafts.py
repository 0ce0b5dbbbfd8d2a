"""Workspace drafts for benchmark tasks: the other files of the task's repository.

In an editor the draft index holds the rest of the workspace. To measure what that is worth
on held-out tasks (`diffill eval --workspace`), each task gets drafts from an index of the
files that share its repository (the first folder of its path in the corpus), its own file
left out, as if the user were editing that file inside a checkout of the repository.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from .draft_index import DraftIndex

INDEXES_KEPT = 2  # repositories whose index stays built (tasks come grouped by file)


def task_path(task_id: str) -> str:
    """The source path of a `diffill heldout` task id (`path:line:kind`)."""
    return task_id.split(":", 1)[0]


def repository(path: str) -> str:
    return path.split("/", 1)[0]


class RepoDrafts:
    """extra_drafts for a task: drafts from the other files of its repository."""

    def __init__(self, files: Iterable[tuple[str, str]]) -> None:
        self.repos: dict[str, list[tuple[str, str]]] = {}
        for path, text in files:
            self.repos.setdefault(repository(path), []).append((path, text))
        self.indexes: OrderedDict[str, DraftIndex] = OrderedDict()

    def index_of(self, repo: str) -> DraftIndex:
        if repo not in self.indexes:
            index = DraftIndex()
            for path, text in self.repos.get(repo, []):
                index.update(path, text)
            self.indexes[repo] = index
            if len(self.indexes) > INDEXES_KEPT:
                self.indexes.popitem(last=False)
        self.indexes.move_to_end(repo)
        return self.indexes[repo]

    def __call__(self, task: dict[str, str]) -> tuple[str, ...]:
        path = task_path(task.get("task_id", ""))
        index = self.index_of(repository(path))
        return tuple(index.drafts(task["prompt"], task["suffix"], exclude=path))
