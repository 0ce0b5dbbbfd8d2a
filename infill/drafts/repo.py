"""Workspace drafts for benchmark tasks: the other files of the task's repository.

In an editor the draft index holds the rest of the workspace. To measure what that is worth
on held-out tasks (`diffill eval --workspace`), each task gets drafts from an index of the
files that share its repository (the first folder of its path in the corpus), its own file
left out, as if the user were editing that file inside a checkout of the repository.

Repositories often hold near-copies of a file (tutorial variants, versioned copies); with
`skip_similar` set, files sharing more than that share of the task file's distinct long
lines are left out too, so the figure says what the rest of a workspace is worth.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from .index import DraftIndex

INDEXES_KEPT = 2  # repositories whose index stays built (tasks come grouped by file)
LONG_LINE = 20  # characters (stripped) for a line to count in the similarity of two files


def long_lines(text: str) -> set[str]:
    return {s for line in text.splitlines() if len(s := line.strip()) > LONG_LINE}


def task_path(task_id: str) -> str:
    """The source path of a `diffill heldout` task id (`path:line:kind`)."""
    return task_id.split(":", 1)[0]


def task_file(task: dict[str, str]) -> str:
    """The workspace path of a task's file: `repo/path` where the task names them, else from its id."""
    if task.get("repo") and task.get("path"):
        return f"{task['repo']}/{task['path']}"
    return task_path(task.get("task_id", ""))


def repository(path: str) -> str:
    return path.split("/", 1)[0]


class RepoDrafts:
    """extra_drafts for a task: drafts from the other files of its repository."""

    def __init__(self, files: Iterable[tuple[str, str]], skip_similar: float | None = None) -> None:
        self.repos: dict[str, list[tuple[str, str]]] = {}
        for path, text in files:
            self.repos.setdefault(repository(path), []).append((path, text))
        self.indexes: OrderedDict[str, DraftIndex] = OrderedDict()
        self.skip_similar = skip_similar
        self.excluded: dict[str, set[str]] = {}  # task file -> files left out of its drafts
        self.lines: dict[str, set[str]] = {}  # file -> its long lines (for skip_similar)

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

    def long_lines_of(self, path: str, text: str) -> set[str]:
        if path not in self.lines:
            self.lines[path] = long_lines(text)
        return self.lines[path]

    def left_out(self, path: str) -> set[str]:
        """The task file and, with skip_similar, its near-copies in the repository."""
        if path not in self.excluded:
            skip = {path}
            files = self.repos.get(repository(path), [])
            own = next((self.long_lines_of(p, text) for p, text in files if p == path), set())
            if self.skip_similar is not None and own:
                for other, text in files:
                    if len(own & self.long_lines_of(other, text)) > self.skip_similar * len(own):
                        skip.add(other)
            self.excluded[path] = skip
        return self.excluded[path]

    def __call__(self, task: dict[str, str]) -> tuple[str, ...]:
        path = task_file(task)
        index = self.index_of(repository(path))
        return tuple(index.drafts(task["prompt"], task["suffix"], exclude=self.left_out(path)))
