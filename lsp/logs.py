"""Logging for `diffill serve`: stderr and optionally a file, never stdout (the LSP transport)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_file_handler: logging.Handler | None = None


def setup(level: str = "INFO") -> None:
    root = logging.getLogger()
    root.setLevel(level.upper())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    root.handlers = [handler]
    # pygls logs every message body at INFO; that is noise at our INFO level.
    logging.getLogger("pygls").setLevel(max(logging.WARNING, root.level))


def log_to_file(path: str | None) -> str | None:
    """Add (or replace) the file handler; returns a problem to report, if any."""
    global _file_handler
    root = logging.getLogger()
    if _file_handler is not None:
        root.removeHandler(_file_handler)
        _file_handler.close()
        _file_handler = None
    if not path:
        return None
    try:
        _file_handler = logging.FileHandler(Path(path).expanduser(), encoding="utf-8")
    except OSError as exc:
        return f"cannot open logFile {path}: {exc.strerror}"
    _file_handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(_file_handler)
    return None
