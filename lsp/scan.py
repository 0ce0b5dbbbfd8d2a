"""Reading a workspace's source files into the draft index, in a background thread.

Only source files by extension; version-control, dependency, virtual-environment, build and
hidden folders are skipped; symbolic links are not followed; at most `max_files` files and
SCAN_MAX_BYTES in all are read. Files are only read, never run.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from diffill.infill.drafts.index import MAX_DOC_CHARS, DraftIndex
from diffill.infill.source_files import SourceError, read_source_file
from diffill.infill.syntax import EXTENSIONS

log = logging.getLogger(__name__)

SOURCE_EXTENSIONS = frozenset(EXTENSIONS) | {
    ".cs", ".rb", ".php", ".kt", ".kts", ".swift", ".scala", ".sh", ".bash", ".sql", ".vue",
    ".svelte", ".dart", ".ex", ".exs", ".erl", ".hs", ".ml", ".clj", ".jl", ".pl", ".zig",
}
SKIP_DIRS = frozenset({
    "node_modules", "bower_components", "venv", "__pycache__", "site-packages", "build", "dist",
    "target", "out", "vendor", "third_party",
})
SCAN_MAX_BYTES = 48 * 2**20  # read in all by one scan
PAUSE_S = 0.002  # between files: the scan must not hold the interpreter against requests


def source_files(roots: list[Path], max_files: int) -> Iterator[Path]:
    """Source files under roots, in a stable order, at most max_files."""
    count = 0
    for root in roots:
        for folder, dirs, files in os.walk(root):
            # Pruning in place stops os.walk from descending (it does not follow links either).
            dirs[:] = sorted(d for d in dirs if not skipped_dir(Path(folder, d)))
            for name in sorted(files):
                path = Path(folder, name)
                if path.suffix.lower() in SOURCE_EXTENSIONS and not path.is_symlink():
                    if count >= max_files:
                        return
                    count += 1
                    yield path


def skipped_dir(path: Path) -> bool:
    return (path.name.startswith(".") or path.name in SKIP_DIRS or path.is_symlink()
            or (path / "pyvenv.cfg").exists())  # a virtual environment under another name


def read_source(path: Path, max_bytes: int = MAX_DOC_CHARS) -> str | None:
    """The file's text; None when it is large, binary, not UTF-8 or unreadable."""
    try:
        return read_source_file(path, max_bytes)
    except SourceError:
        return None


class WorkspaceScan:
    """One pass over the workspace in a daemon thread; stop() ends it between files."""

    def __init__(self, roots: list[Path], index: DraftIndex, max_files: int) -> None:
        self.roots = roots
        self.index = index
        self.max_files = max_files
        self.files = 0  # files indexed so far
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.run, name="diffill-index", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def run(self) -> None:
        t0, total = time.perf_counter(), 0
        for path in source_files(self.roots, self.max_files):
            if self._stop.is_set() or total > SCAN_MAX_BYTES:
                break
            key = str(path)
            if key in self.index:
                continue  # open in the editor: its text is fresher than the file's
            text = read_source(path)
            if text is not None:
                total += len(text)
                self.files += self.index.update(key, text, replace=False)
            time.sleep(PAUSE_S)
        log.info("workspace index: %d files in %.1f s (%s)", self.files, time.perf_counter() - t0,
                 self.index.stats())
