"""Drafts from other documents end to end: the real server, the shipped model, two open files."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lsp_harness import Session
from lsprotocol import types

from diffill.lsp.messages import CMD_ACCEPTED

HELPER = (
    "import zlib\n\n\n"
    "def helper(buffer):\n"
    "    value = zeta_checksum(buffer, seed=0x5EED)\n"
    "    return value\n"
)
# Nothing in it to copy from; it shares the parameter name, as a caller usually does.
MAIN = "def main(buffer):\n    value = zeta_checksum(\n"
CURSOR = (1, 26)  # after "zeta_checksum(", the context HELPER's line has too


@pytest.fixture
def show_all(server: Session) -> Iterator[None]:
    """These tests are about where candidates come from, not the threshold."""
    with server.every_candidate_shown():
        yield


def test_inline_completion_copies_the_line_another_document_has(server: Session, show_all: None) -> None:
    server.open(HELPER)
    uri = server.open(MAIN)
    # Invoked: the configured number of candidates. The n-gram's `buffer)` is as likely by
    # the ranker (a workspace line alone was right in 9% of development holes), so the test
    # asks that the other document's line is offered, not that it wins.
    items = server.inline(uri, *CURSOR, invoked=True)
    assert "buffer, seed=0x5EED)" in [i.insert_text for i in items]
    stats = server.run(server.client.stats_async())
    assert stats.index_docs >= 1 and stats.index_mb >= 0.0  # HELPER at least (MAIN waits)


def test_accepted_suggestion_is_offered_in_another_document(server: Session, show_all: None) -> None:
    line = "    digest = quux_fingerprint("
    source = server.open("def helper(blob):\n    digest = quux_fingerprint(blob, rounds=0xBEEF)\n")
    uri = server.open(f"def first(blob):\n{line}\n")
    # Invoked: several candidates; the n-gram's `)` may outrank the other document's line
    # (the ranker's call), the test asks that the line is offered and that accepting it counts.
    offered = server.inline(uri, 1, len(line), invoked=True)
    items = [i for i in offered if i.insert_text == "blob, rounds=0xBEEF)"]
    assert items
    command = items[0].command
    assert command is not None and command.command == CMD_ACCEPTED
    assert server.run(server.client.workspace_execute_command_async(types.ExecuteCommandParams(
        command=CMD_ACCEPTED, arguments=command.arguments))) is True
    # Closing the source (not a workspace file) drops it from the index; the first document
    # never got the text inserted: only the acceptance can offer it now.
    server.do(server.client.text_document_did_close, types.DidCloseTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri=source)))
    other = server.open(f"def second(blob):\n{line}\n")
    assert "blob, rounds=0xBEEF)" in [i.insert_text for i in server.inline(other, 1, len(line), invoked=True)]


def test_workspace_index_setting_switches_it_off(server: Session) -> None:
    server.do(server.client.workspace_did_change_configuration, types.DidChangeConfigurationParams(
        settings={"workspaceIndex": False}))
    try:
        server.open(HELPER)
        uri = server.open(MAIN)
        items = server.inline(uri, *CURSOR, invoked=True)
        assert all(i.insert_text != "buffer, seed=0x5EED)" for i in items)
        assert all(i.command is None for i in items)  # no acceptance log, no index: no command
        assert server.run(server.client.stats_async()).index_docs == 0
    finally:
        server.do(server.client.workspace_did_change_configuration, types.DidChangeConfigurationParams(
            settings={"workspaceIndex": True}))


def test_fill_holes_command_takes_drafts_from_other_documents(server: Session, show_all: None) -> None:
    from diffill.lsp.messages import CMD_FILL_HOLES

    server.open(HELPER)
    # After `seed=` only the other document knows the value: no other source can write it.
    uri = server.open("def main(buffer):\n    value = zeta_checksum(buffer, seed=<|fill|>\n")
    before = len(server.client.edits)
    server.run(server.client.workspace_execute_command_async(types.ExecuteCommandParams(
        command=CMD_FILL_HOLES, arguments=[uri, 1])), timeout=120)
    (applied,) = server.client.edits[before:]
    (edit,) = applied.edit.document_changes[0].edits
    assert edit.new_text == "0x5EED)"
