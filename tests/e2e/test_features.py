"""The server's methods end to end: a real `diffill serve` process with the shipped model."""

from __future__ import annotations

import json
import time

import pytest
from lsp_harness import Session, pos
from lsprotocol import types

from diffill.lsp.config import Settings
from diffill.lsp.messages import CMD_ACCEPTED, CMD_FILL_HOLES, CMD_REWRITE, RewriteRangeParams
from diffill.model.sampler_config import SamplerConfig

CODE = (
    "import os\n\n\ndef add(a, b):\n    return a + b\n\n\n"
    "def sub(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return "
)
END = (12, 11)  # the cursor after "return " on the last line


def test_initialize_advertises_the_features(server: Session) -> None:
    caps = server.init.capabilities
    assert caps.inline_completion_provider is not None
    assert caps.completion_provider is not None
    assert caps.code_action_provider is not None
    assert caps.position_encoding == types.PositionEncodingKind.Utf16
    sync = caps.text_document_sync
    assert isinstance(sync, types.TextDocumentSyncOptions)
    assert sync.change == types.TextDocumentSyncKind.Incremental
    assert caps.execute_command_provider is not None
    assert {CMD_REWRITE, CMD_FILL_HOLES, CMD_ACCEPTED} <= set(caps.execute_command_provider.commands)


def test_status_and_progress_while_loading(server: Session) -> None:
    states = [s.state for s in server.client.statuses]
    assert states[0] == "loading" and "ready" in states

    def kinds() -> list[object]:
        return [p.get("kind") if isinstance(p, dict) else getattr(p, "kind", None)
                for p in server.client.progress_values]

    deadline = time.monotonic() + 10  # the progress end may trail the ready status a little
    while "end" not in kinds() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert kinds()[:1] == ["begin"] and "end" in kinds()


def test_inline_completion_typed_gives_one_line(server: Session) -> None:
    uri = server.open(CODE)
    items = server.inline(uri, *END)
    assert items, "the model should suggest something after 'return '"
    item = items[0]
    assert item.insert_text and "\n" not in item.insert_text
    assert item.range is not None and item.range.start == item.range.end == pos(*END)


def test_inline_completion_invoked_may_give_several(server: Session) -> None:
    uri = server.open(CODE)
    items = server.inline(uri, *END, invoked=True)
    assert 1 <= len(items) <= 3
    texts = [i.insert_text for i in items]
    assert len(set(texts)) == len(texts) and all(texts)
    for item in items:
        assert item.range is not None and item.range.start.line == item.range.end.line


def test_inline_block_after_header(server: Session) -> None:
    text = "def greet(name):\n    "
    uri = server.open(text)
    items = server.inline(uri, 1, 4, invoked=True)
    for item in items:  # a block may span lines; the range stays on the cursor's line
        assert item.range is not None and item.range.start == item.range.end == pos(1, 4)


def test_completion_items(server: Session) -> None:
    uri = server.open(CODE)
    result = server.run(server.client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=pos(*END))))
    assert isinstance(result, types.CompletionList)
    assert result.items
    first = result.items[0]
    assert first.label and isinstance(first.text_edit, types.TextEdit)
    assert first.text_edit.range.end == pos(*END)
    assert "\n" not in first.text_edit.new_text


def test_completion_replaces_the_word_before_the_cursor(server: Session) -> None:
    uri = server.open(CODE[: -len("return ")] + "ret")
    result = server.run(server.client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=pos(12, 7))))
    assert isinstance(result, types.CompletionList)
    for item in result.items:
        assert isinstance(item.text_edit, types.TextEdit)
        assert item.text_edit.range.start == pos(12, 4)
        assert item.text_edit.new_text.startswith("ret")


def test_rewrite_range_returns_multiline_edits(server: Session) -> None:
    uri = server.open(CODE)
    rng = types.Range(start=pos(7, 0), end=pos(8, 16))  # the whole sub() function
    result = server.run(server.client.rewrite_range_async(RewriteRangeParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=1), range=rng, n=2)))
    assert result.version == 1 and result.kind == "range"
    assert 1 <= len(result.edits) <= 2
    assert all(e.range == rng for e in result.edits)
    assert result.steps >= 1 and result.ms > 0


def test_rewriting_one_line_returns_one_line(server: Session) -> None:
    uri = server.open(CODE)
    doc = types.VersionedTextDocumentIdentifier(uri=uri, version=1)
    # The line without its line break, then with it (a whole-line selection).
    for end, tail in ((pos(4, 16), ""), (pos(5, 0), "\n")):
        rng = types.Range(start=pos(4, 0), end=end)
        result = server.run(server.client.rewrite_range_async(RewriteRangeParams(
            text_document=doc, range=rng, n=3)))
        assert result.edits
        for edit in result.edits:
            assert edit.new_text.count("\n") == len(tail), edit.new_text
            assert edit.new_text.endswith(tail) and not edit.new_text.endswith("\n\n")


def test_rewrite_strength_zero_keeps_the_range_and_bad_strength_is_an_error(server: Session) -> None:
    uri = server.open(CODE)
    rng = types.Range(start=pos(8, 11), end=pos(8, 16))  # "a - b"
    doc = types.VersionedTextDocumentIdentifier(uri=uri, version=1)
    result = server.run(server.client.rewrite_range_async(RewriteRangeParams(
        text_document=doc, range=rng, strength=0.0)))
    assert [e.new_text for e in result.edits] == ["a - b"]
    with pytest.raises(Exception, match="strength"):
        server.run(server.client.rewrite_range_async(RewriteRangeParams(
            text_document=doc, range=rng, strength=3.0)))


def test_code_actions_and_commands_apply_edits(server: Session) -> None:
    text = "def f(x):\n    y = <|fill|>\n    return y\n\n\ndef g():\n    return <|fill|>\n"
    uri = server.open(text)
    actions = server.run(server.client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(start=pos(2, 4), end=pos(2, 12)),
        context=types.CodeActionContext(diagnostics=[]))))
    assert actions is not None
    by_title = {a.title: a for a in actions if isinstance(a, types.CodeAction)}
    assert set(by_title) == {"Rewrite with diffill", "Fill 2 diffill holes"}

    before = len(server.client.edits)
    with server.every_candidate_shown():  # both holes filled: this is about where edits go
        for title in ("Fill 2 diffill holes", "Rewrite with diffill"):
            command = by_title[title].command
            assert command is not None
            server.run(server.client.workspace_execute_command_async(types.ExecuteCommandParams(
                command=command.command, arguments=command.arguments)), timeout=120)
    fills, rewrite = server.client.edits[before:]
    change = fills.edit.document_changes[0]
    assert change.text_document.version == 1
    assert [e.range for e in change.edits] == [
        types.Range(start=pos(1, 8), end=pos(1, 16)), types.Range(start=pos(6, 11), end=pos(6, 19))]
    (edit,) = rewrite.edit.document_changes[0].edits
    assert edit.range == types.Range(start=pos(2, 4), end=pos(2, 12))


def test_code_actions_respect_only(server: Session) -> None:
    uri = server.open("x = <|fill|>\n")
    actions = server.run(server.client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(start=pos(0, 0), end=pos(0, 0)),
        context=types.CodeActionContext(diagnostics=[], only=[types.CodeActionKind.QuickFix]))))
    assert not actions


def test_typing_the_suggestion_serves_the_rest_without_the_engine(server: Session) -> None:
    uri = server.open(CODE)
    items = server.inline(uri, *END)
    assert items
    suggestion = items[0].insert_text
    assert isinstance(suggestion, str)
    assert len(suggestion) >= 2, suggestion
    before = server.run(server.client.stats_async())
    server.change(uri, END, END, suggestion[0])
    items = server.inline(uri, END[0], END[1] + 1)
    after = server.run(server.client.stats_async())
    assert [i.insert_text for i in items] == [suggestion[1:]]
    assert after.continued == before.continued + 1 and after.fills == before.fills


def test_configuration_change_and_acceptance_log(server: Session, tmp_path) -> None:
    log = tmp_path / "accepted.jsonl"
    server.do(server.client.workspace_did_change_configuration, types.DidChangeConfigurationParams(
        settings={"diffill": {"candidates": 2, "acceptanceLog": str(log), "sampler": {"threshold": 0.8}}}))
    try:
        uri = server.open(CODE)
        items = server.inline(uri, *END, invoked=True)
        assert 1 <= len(items) <= 2
        command = items[0].command
        assert command is not None and command.command == CMD_ACCEPTED
        ok = server.run(server.client.workspace_execute_command_async(types.ExecuteCommandParams(
            command=command.command, arguments=command.arguments)))
        assert ok is True
        (line,) = log.read_text().splitlines()
        event = json.loads(line)
        assert event["uri"] == uri and event["trigger"] == "invoked" and event["rank"] == 0
    finally:
        server.do(server.client.workspace_did_change_configuration, types.DidChangeConfigurationParams(
            settings={"candidates": Settings().candidates, "acceptanceLog": None,
                      "sampler": {"threshold": SamplerConfig().threshold}}))  # the defaults again


def test_model_settings_change_reloads_once(server: Session) -> None:
    from diffill.model.checkpoint import DEFAULT_CHECKPOINT

    seen = len(server.client.statuses)
    server.do(server.client.workspace_did_change_configuration, types.DidChangeConfigurationParams(
        settings={"modelPath": str(DEFAULT_CHECKPOINT)}))
    server.run(server.client.wait_for_state("loading", timeout=30))
    server.run(server.client.wait_ready())
    states = [s.state for s in server.client.statuses[seen:]]
    assert states.count("loading") == 1 and states[-1] == "ready"
    uri = server.open(CODE)
    assert server.inline(uri, *END)


def test_disabled_language_gets_nothing(server: Session) -> None:
    server.do(server.client.workspace_did_change_configuration, types.DidChangeConfigurationParams(
        settings={"enabledLanguages": ["rust"]}))
    try:
        uri = server.open(CODE)
        assert server.inline(uri, *END) == []
    finally:
        server.do(server.client.workspace_did_change_configuration, types.DidChangeConfigurationParams(
            settings={"enabledLanguages": ["*"]}))
