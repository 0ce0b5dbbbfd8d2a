"""Reading a source file as text: the one place that says what counts as readable source.

A file is refused when it is larger than the caller's limit, cannot be read, looks binary (a
NUL byte) or is not UTF-8. The CLI reports why; the workspace scan skips such files quietly.
"""

from __future__ import annotations

from pathlib import Path


class SourceError(ValueError):
    """Why a file was not read as source text; the message names the file."""


def decode_source(data: bytes, name: str, max_bytes: int) -> str:
    """The text of a file's bytes, or SourceError saying why it is not source."""
    if len(data) > max_bytes:
        raise SourceError(f"{name}: larger than {max_bytes} bytes; refusing")
    if b"\x00" in data:
        raise SourceError(f"{name}: looks binary; refusing")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{name}: not valid UTF-8 (byte {exc.start})") from exc


def read_source_file(path: Path, max_bytes: int) -> str:
    """The file's text, or SourceError; a large file is refused before it is read."""
    try:
        if path.stat().st_size > max_bytes:
            raise SourceError(f"{path}: larger than {max_bytes} bytes; refusing")
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read ({exc.strerror})") from exc
    return decode_source(data, str(path), max_bytes)
