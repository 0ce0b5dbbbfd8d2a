"""The server's side of the draft index: workspace scan, settings, open documents, acceptance."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lsprotocol import types

from diffill.infill.drafts.index import DraftIndex
from diffill.lsp.config import Settings, load_settings
from diffill.lsp.documents import Document
from diffill.lsp.scan import WorkspaceScan, read_source, source_files
from diffill.lsp.workspace import WorkspaceDrafts, doc_key, roots_of

HELPER = "def helper(buffer):\n    value = zeta_checksum(buffer, seed=0x5EED)\n    return value\n"
CURSOR = "def main(data):\n    value = zeta_checksum("


def write(root: Path, rel: str, content: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def test_source_files_skip_hidden_dependency_venv_and_build_folders(tmp_path: Path):
    keep = [write(tmp_path, "src/app.py", "x = 1\n"), write(tmp_path, "src/web/main.ts", "let x = 1;\n"),
            write(tmp_path, "lib.rs", "fn main() {}\n")]
    for rel in (".git/hooks/pre-commit.py", "node_modules/pkg/index.js", ".venv/lib/site.py",
                "env/lib/mod.py", "build/lib/app.py", ".hidden/x.py", "README.md", "data.bin"):
        write(tmp_path, rel, "x = 1\n")
    write(tmp_path, "env/pyvenv.cfg", "home = /usr\n")  # a virtual environment by another name
    (tmp_path / "link").symlink_to(tmp_path / "src")  # links are not followed
    found = list(source_files([tmp_path], 100))
    assert sorted(found) == sorted(keep)
    assert found == list(source_files([tmp_path], 100))  # stable order
    assert len(list(source_files([tmp_path], 2))) == 2


def test_read_source_refuses_binary_huge_and_non_utf8(tmp_path: Path):
    assert read_source(write(tmp_path, "ok.py", "x = 1\n")) == "x = 1\n"
    assert read_source(write(tmp_path, "bin.py", b"x = 1\x00\x01")) is None
    assert read_source(write(tmp_path, "latin.py", b"x = '\xe9'\n")) is None
    assert read_source(write(tmp_path, "big.py", "x = 1\n" * 100), max_bytes=100) is None
    assert read_source(tmp_path / "missing.py") is None


def test_scan_indexes_workspace_files_without_overwriting_open_ones(tmp_path: Path):
    write(tmp_path, "helper.py", HELPER)
    write(tmp_path, "open.py", "def f():\n    value = zeta_checksum(from_disk)\n")
    index = DraftIndex()
    index.update(str(tmp_path / "open.py"), "def f():\n    value = zeta_checksum(from_editor)\n")
    scan = WorkspaceScan([tmp_path], index, max_files=10)
    scan.start()
    scan.join(30)
    assert scan.files == 1 and index.stats().docs == 2
    # Equal matches: the file the scan indexed last is the most recent one.
    assert index.drafts(CURSOR, "\n") == ["buffer, seed=0x5EED)", "from_editor)"]


def test_workspace_index_settings_are_checked():
    settings, problems = load_settings({"workspaceIndex": False, "workspaceIndexMaxFiles": 50})
    assert (settings.workspace_index, settings.workspace_index_max_files, problems) == (False, 50, [])
    settings, problems = load_settings({"workspaceIndex": "yes", "workspaceIndexMaxFiles": -1})
    assert settings.workspace_index is True and settings.workspace_index_max_files == 2000
    assert any("workspaceIndex:" in p for p in problems)
    assert any("workspaceIndexMaxFiles" in p for p in problems)


def test_roots_come_from_workspace_folders_or_root_uri(tmp_path: Path):
    caps = types.ClientCapabilities()
    folders = [types.WorkspaceFolder(uri=tmp_path.as_uri(), name="w")]
    assert roots_of(types.InitializeParams(capabilities=caps, workspace_folders=folders)) == [tmp_path]
    assert roots_of(types.InitializeParams(capabilities=caps, root_uri=tmp_path.as_uri())) == [tmp_path]
    assert roots_of(types.InitializeParams(capabilities=caps)) == []
    assert doc_key(tmp_path.joinpath("a b.py").as_uri()) == str(tmp_path / "a b.py")


def document(uri: str, text: str) -> Document:
    return Document(uri, text, 1, "python", "python")


def enabled(drafts: WorkspaceDrafts, docs: list[Document] | None = None) -> WorkspaceDrafts:
    drafts.configure(Settings().workspace_index, Settings().workspace_index_max_files, docs or [])
    return drafts


def ask(drafts: WorkspaceDrafts, uri: str, text: str, offset: int) -> tuple[str, ...]:
    """A lookup as a request makes it (it awaits the re-indexing it queued)."""
    return asyncio.run(drafts.lookup(uri, text, offset, 30.0))


def test_open_documents_are_indexed_when_another_document_asks():
    drafts = enabled(WorkspaceDrafts())
    helper = document("untitled:helper", HELPER)
    here = document("untitled:here", CURSOR + "\n")
    drafts.changed(helper)
    drafts.changed(here)
    drafts.settle(30)
    assert drafts.index.stats().docs == 0  # edits only mark documents
    assert ask(drafts, here.uri, here.text, len(CURSOR)) == ("buffer, seed=0x5EED)",)
    assert "untitled:here" not in drafts.index  # the asking document waits
    helper.text = HELPER.replace("buffer, seed=0x5EED", "payload")
    drafts.changed(helper)
    assert ask(drafts, here.uri, here.text, len(CURSOR)) == ("payload)",)
    drafts.closed(helper.uri)  # not a workspace file: forgotten
    assert ask(drafts, here.uri, here.text, len(CURSOR)) == ()


def test_reindexing_happens_off_the_calling_thread():
    import threading

    drafts = enabled(WorkspaceDrafts())
    seen: list[str] = []
    update = drafts.index.update

    def spy(key: str, text: str) -> None:
        seen.append(threading.current_thread().name)
        update(key, text)

    drafts.index.update = spy  # type: ignore[method-assign]
    drafts.changed(document("untitled:helper", HELPER))
    assert ask(drafts, "untitled:here", CURSOR, len(CURSOR)) == ("buffer, seed=0x5EED)",)
    assert seen and all(name.startswith("diffill-index") for name in seen)


def test_closed_workspace_files_stay_indexed(tmp_path: Path):
    drafts = WorkspaceDrafts()
    drafts.roots = [tmp_path]
    enabled(drafts)
    helper = document((tmp_path / "helper.py").as_uri(), HELPER)
    drafts.changed(helper)
    drafts.closed(helper.uri)
    assert ask(drafts, "untitled:x", CURSOR, len(CURSOR)) == ("buffer, seed=0x5EED)",)
    drafts.stop()


def test_accepted_suggestion_becomes_a_draft():
    drafts = enabled(WorkspaceDrafts())
    text = "def load(path):\n    handle = open_resource(\n"
    offset = text.index("(\n") + 1
    shown = drafts.shown(text, offset, ["path)", "path, mode='rb')"])
    assert shown is not None
    assert not drafts.accepted({"shown": shown, "rank": 5})
    assert drafts.accepted({"shown": shown, "rank": 1, "uri": "untitled:a"})
    cursor = "def save(p):\n    handle = open_resource("
    assert ask(drafts, "untitled:b", cursor, len(cursor)) == ("path, mode='rb')",)


def test_switching_the_index_off_drops_everything_and_on_reindexes_open_documents():
    helper = document("untitled:helper", HELPER)
    drafts = enabled(WorkspaceDrafts())
    drafts.changed(helper)
    assert ask(drafts, "untitled:x", CURSOR, len(CURSOR))
    drafts.configure(False, 2000, [helper])
    assert ask(drafts, "untitled:x", CURSOR, len(CURSOR)) == ()
    assert drafts.shown(CURSOR, len(CURSOR), ["x"]) is None
    assert drafts.index.stats().docs == 0
    drafts.configure(True, 2000, [helper])
    assert ask(drafts, "untitled:x", CURSOR, len(CURSOR)) == ("buffer, seed=0x5EED)",)


def test_acceptance_log_leaves_out_the_servers_own_arguments(tmp_path: Path):
    from diffill.lsp import acceptance

    log = tmp_path / "accepted.jsonl"
    assert acceptance.record(str(log), {"uri": "file:///a.py", "rank": 0, "shown": 7})
    line = log.read_text()
    assert '"uri": "file:///a.py"' in line and "shown" not in line
