"""The server never dies and never hangs: bad positions, stale versions, malformed params,
cancellation, newest-request-wins, a burst of edits, bad settings and a missing model."""

from __future__ import annotations

import time
from concurrent.futures import Future

import pytest
from lsp_harness import Session, inline_params, pos
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams, JsonRpcMethodNotFound

from diffill.lsp.messages import RewriteRangeParams
from diffill.model.sampler_config import SamplerConfig

CODE = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return "
END = (5, 11)
SLOW = "class Stack:\n    def __init__(self):\n        "  # an invoked block: several canvases


def error_of(future: Future[object], timeout: float = 30) -> BaseException | None:
    try:
        future.result(timeout)
    except JsonRpcException as exc:
        return exc
    return None


def test_positions_outside_the_document_get_nothing(server: Session) -> None:
    uri = server.open(CODE)
    for line, character in [(6, 0), (99, 0), (0, 15), (0, 10_000), (5, 12)]:
        assert server.inline(uri, line, character) == []
    unknown = "file:///nowhere/not-open.py"
    assert server.inline(unknown, 0, 0) == []


def test_stale_version_rewrite_gets_no_edits(server: Session) -> None:
    uri = server.open(CODE)
    server.change(uri, (0, 0), (0, 0), "# hi\n")
    for version in (1, 7):
        result = server.run(server.client.rewrite_range_async(RewriteRangeParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            range=types.Range(start=pos(1, 0), end=pos(1, 3)))))
        assert result.edits == [] and result.version == version


def test_malformed_params_get_an_error_answer_and_the_server_stays_up(server: Session) -> None:
    uri = server.open(CODE)
    doc, typed = {"uri": uri}, {"triggerKind": 1}
    bad = [
        ("textDocument/inlineCompletion", {"textDocument": doc}),
        ("textDocument/inlineCompletion",
         {"textDocument": doc, "position": {"line": -1, "character": 0}, "context": typed}),
        ("textDocument/inlineCompletion",
         {"textDocument": doc, "position": {"line": "x", "character": 0}, "context": typed}),
        ("textDocument/completion", None),
        ("diffill/rewriteRange", {"textDocument": {"uri": uri}}),
        ("diffill/rewriteRange", [1, 2, 3]),
    ]
    for method, params in bad:
        exc = error_of(server.send_raw(method, params))
        assert isinstance(exc, JsonRpcInvalidParams | JsonRpcException), (method, params, exc)
    assert isinstance(error_of(server.send_raw("diffill/noSuchMethod", {})), JsonRpcMethodNotFound)
    # Malformed notifications get no answer (none is allowed) and change nothing.
    send = server.client.protocol._send_data
    server.do(send, {"jsonrpc": "2.0", "method": "textDocument/didChange",
                     "params": {"textDocument": doc, "contentChanges": 5}})
    server.do(send, {"jsonrpc": "2.0", "method": "workspace/didChangeConfiguration",
                     "params": {"settings": [1, 2]}})
    assert server.inline(uri, *END)


SLOW_FILLS = {"draftPolicy": "off", "lineBudget": 64, "sampler": {"threshold": 2.0, "nullTail": False}}
# Back to the server's defaults: later tests in the session share this server.
FAST_FILLS = {"draftPolicy": "prefer", "lineBudget": None,
              "sampler": {"threshold": SamplerConfig().threshold, "nullTail": SamplerConfig().null_tail}}


def configure(server: Session, settings: dict[str, object]) -> None:
    server.do(server.client.workspace_did_change_configuration,
              types.DidChangeConfigurationParams(settings=settings))


def test_cancel_request_stops_denoising(server: Session) -> None:
    # The denoiser alone, one slot per step over 64 slots: a fill that runs for seconds.
    configure(server, SLOW_FILLS)
    uri = server.open(SLOW)
    before = server.run(server.client.stats_async())
    msg_id = "cancel-me"
    future = server.send_raw("textDocument/inlineCompletion", server.client.protocol._converter.unstructure(
        inline_params(uri, 2, 8, invoked=True)), msg_id)
    time.sleep(0.3)
    t0 = time.monotonic()
    server.do(server.client.cancel_request, types.CancelParams(id=msg_id))
    configure(server, FAST_FILLS)
    exc = error_of(future)
    assert exc is not None and getattr(exc, "code", None) == -32800  # RequestCancelled
    # The engine stopped between steps: the next request is answered without waiting it out.
    items = server.inline(uri, 2, 8)
    assert time.monotonic() - t0 < 20
    after = server.run(server.client.stats_async())
    assert after.cancelled >= before.cancelled + 1
    assert isinstance(items, list)


def test_newest_request_for_a_document_wins(server: Session) -> None:
    configure(server, SLOW_FILLS)
    uri = server.open(SLOW)
    before = server.run(server.client.stats_async())
    old = server.run(_send_inline(server, uri, 2, 8, invoked=True))
    time.sleep(0.2)
    configure(server, FAST_FILLS)
    new = server.run(_send_inline(server, uri, 2, 8, invoked=False))
    assert old.result(60) == []  # superseded: answered empty, not with an error
    assert isinstance(new.result(60), list)
    assert server.run(server.client.stats_async()).cancelled >= before.cancelled + 1


async def _send_inline(server: Session, uri: str, line: int, character: int, invoked: bool) -> Future[object]:
    return server.client.protocol.send_request(types.TEXT_DOCUMENT_INLINE_COMPLETION,
                                               inline_params(uri, line, character, invoked))


@pytest.mark.slow
def test_burst_of_edits_and_requests(server: Session) -> None:
    # Drafts off: a buffer draft answers in a few milliseconds without the model, before the
    # next edit arrives; this test is about requests that need the engine piling up.
    # minConfidence 0: the pipeline is under test, so every answer is shown, sure or not.
    server.do(server.client.workspace_did_change_configuration,
              types.DidChangeConfigurationParams(settings={"draftPolicy": "off", "minConfidence": 0}))
    try:
        burst_of_edits_and_requests(server)
    finally:
        server.do(server.client.workspace_did_change_configuration,
                  types.DidChangeConfigurationParams(settings={"draftPolicy": "prefer",
                                                               "minConfidence": None}))


def burst_of_edits_and_requests(server: Session) -> None:
    uri = server.open(CODE)
    assert server.inline(uri, *END)  # warm
    before = server.run(server.client.stats_async())
    futures: list[Future[object]] = []

    async def burst() -> None:
        client = server.client
        line = ""
        for i in range(200):
            # Every version is new text, so neither the engine's cache nor the last suggestion
            # can answer: every request needs the engine, and only the newest should get it.
            server.version[uri] += 1
            rng = types.Range(start=pos(2, 0), end=pos(2, len(line)))
            line = text = f"# edit {i}"
            client.text_document_did_change(types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=server.version[uri]),
                content_changes=[types.TextDocumentContentChangePartial(range=rng, text=text)]))
            msg_id = f"burst-{i}"
            future = client.protocol.send_request(types.TEXT_DOCUMENT_INLINE_COMPLETION,
                                                  inline_params(uri, *END), msg_id=msg_id)
            futures.append(future)
            if i % 7 == 3 and i < 199:  # the client cancels some; never the last
                client.cancel_request(types.CancelParams(id=msg_id))

    t0 = time.monotonic()
    server.run(burst())
    answers = []
    for future in futures:
        try:
            answers.append(future.result(120))
        except JsonRpcException as exc:
            assert exc.code == -32800
            answers.append(None)
    elapsed = time.monotonic() - t0
    assert answers[-1], "the last request is current and must be answered"
    stale = [a for a in answers[:-1] if a]
    assert len(stale) <= 20, f"{len(stale)} superseded requests still got suggestions"
    stats = server.run(server.client.stats_async())
    assert stats.rss_mb - before.rss_mb < 80, (before.rss_mb, stats.rss_mb)  # memory stays flat
    assert stats.cancelled - before.cancelled >= 100  # superseded work was dropped, not done
    assert elapsed < 90
    assert server.inline(uri, *END)  # still alive and current


def test_invalid_settings_show_a_message_and_keep_defaults(server: Session) -> None:
    shown = len(server.client.shown)
    server.do(server.client.workspace_did_change_configuration, types.DidChangeConfigurationParams(
        settings={"deadlineMs": "fast", "candidates": 99, "sampler": {"rule": "bogus", "topP": 0},
                  "noSuchKey": 1}))
    deadline = time.monotonic() + 10
    while len(server.client.shown) == shown and time.monotonic() < deadline:
        time.sleep(0.05)
    message = server.client.shown[shown]
    assert message.type == types.MessageType.Warning
    for key in ("deadlineMs", "candidates", "sampler.rule", "sampler.topP", "noSuchKey"):
        assert key in message.message
    uri = server.open(CODE)
    assert 1 <= len(server.inline(uri, *END, invoked=True)) <= 3


@pytest.fixture(scope="module")
def broken() -> Session:
    session = Session({"modelPath": "/nonexistent/diffill-model"}, wait_ready=False)
    yield session
    session.close()


def test_missing_model_reports_error_and_answers_empty(broken: Session) -> None:
    broken.run(broken.client.wait_for_state("error", timeout=60))
    assert "nonexistent" in (broken.client.statuses[-1].message or "")
    deadline = time.monotonic() + 10
    while not broken.client.shown and time.monotonic() < deadline:
        time.sleep(0.05)
    assert broken.client.shown and broken.client.shown[-1].type == types.MessageType.Error
    uri = broken.open(CODE)
    assert broken.inline(uri, *END, timeout=5) == []
    result = broken.run(broken.client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=pos(*END))), 5)
    assert isinstance(result, types.CompletionList) and not result.items
    rewrite = broken.run(broken.client.rewrite_range_async(RewriteRangeParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=1),
        range=types.Range(start=pos(1, 0), end=pos(1, 5)))), 5)
    assert rewrite.edits == []
