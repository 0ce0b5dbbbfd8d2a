"""The editor gets what CI measures: `diffill fill --at` and the server's inline completion
give the same first suggestion at the same cursor (one engine, one request shape)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest
from lsp_harness import Session
from lsprotocol import types

from diffill.lsp.config import Settings
from diffill.model.sampler_config import camel

REAL_FILE = Path(__file__).parents[2] / "infill" / "postprocess.py"  # real code, not a fixture


def cursors() -> list[tuple[int, int]]:
    """Six (line, column) cursors, 0-based: three after the indentation of a statement (whole
    line), three after `return ` (rest of line), the first of each in the file."""
    lines = REAL_FILE.read_text().split("\n")
    whole = [(i, len(ln) - len(ln.lstrip())) for i, ln in enumerate(lines)
             if ln.startswith("    ") and ln.strip().startswith(("if ", "for ", "fill = "))]
    rest = [(i, ln.index("return ") + len("return ")) for i, ln in enumerate(lines)
            if ln.strip().startswith("return ") and len(ln.strip()) > len("return ") + 3]
    return whole[:3] + rest[:3]


CURSORS = cursors()


@pytest.fixture
def show_all(server: Session):
    """minConfidence 0: compare the engine's best, shown or not (the CLI keeps every candidate).

    The CLI waits for its fill; the server's deadline is lifted too, so that a busy machine
    cannot turn the comparison into a race (past its deadline a fill gives what it has).
    """
    # The server's sampler as the CLI's (its defaults), whatever earlier tests left set.
    defaults = Settings()
    sampler = {camel(f.name): getattr(defaults.sampler, f.name) for f in fields(defaults.sampler)}
    unhurried = {"deadlineMs": 600_000, "typingDeadlineMs": 600_000, "sampler": sampler}
    server.do(server.client.workspace_did_change_configuration, types.DidChangeConfigurationParams(
        settings={"minConfidence": 0, "workspaceIndex": False, **unhurried}))
    yield
    server.do(server.client.workspace_did_change_configuration, types.DidChangeConfigurationParams(
        settings={"minConfidence": None, "workspaceIndex": True, "deadlineMs": defaults.deadline_ms,
                  "typingDeadlineMs": defaults.typing_deadline_ms}))


@pytest.mark.parametrize("cursor", CURSORS)
def test_cli_and_server_give_the_same_first_suggestion(server: Session, show_all: None, tmp_path: Path,
                                                       cursor: tuple[int, int]) -> None:
    line, col = cursor
    lines = REAL_FILE.read_text().split("\n")
    text = "\n".join(lines[:line] + [lines[line][:col]] + lines[line + 1:])  # the line cut at the cursor
    path = tmp_path / "code.py"
    path.write_text(text)
    out = subprocess.run([sys.executable, "-m", "diffill.lsp.cli", "fill", str(path), "--at",
                          f"{line + 1}:{col + 1}", "--json"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    edits = json.loads(out.stdout)["edits"]
    assert edits, "the engine has a best candidate here"
    uri = server.open(text)
    items = server.inline(uri, line, col)
    assert [i.insert_text for i in items[:1]] == [e["text"] for e in edits[:1]]
