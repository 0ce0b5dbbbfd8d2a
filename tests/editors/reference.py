"""What `diffill serve` itself answers for the editor tests: the expected ghost text and rewrite.

The editor tests assert that the text the editor shows and inserts is the server's answer. The
model is greedy (temperature 0) and runs on one thread, so a second server process asked the same
question on the same text gives the same answer. Used from pytest (`reference()`) and by the VS Code
test (`python reference.py SPEC.json` prints the answers as JSON).

SPEC: {"text": str, "inline": [[line, character], ...], "invoked": [[line, character], ...],
"rewrite": [[l0, c0, l1, c1], ...]}, or a list of them (one server answers them all); 0-based LSP
positions (utf-16 = utf-8 for ASCII). "inline" answers the first item of a typed (automatic)
request, "invoked" every item of an invoked one (the candidates cycled with next/previous).
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from lsprotocol import types

from diffill.lsp.client import DiffillClient
from diffill.lsp.messages import RewriteRangeParams

# The same generous deadlines the editor tests configure (a training job may share the CPU); typed
# requests have their own (`typingDeadlineMs`), else a busy machine makes them give way and answer empty.
OPTIONS: dict[str, Any] = {"deadlineMs": 60000, "typingDeadlineMs": 60000, "rewriteDeadlineMs": 120000}
URI_BASE = "file:///tmp/diffill-editor-reference"


def pos(line: int, character: int) -> types.Position:
    return types.Position(line=line, character=character)


async def ask(client: DiffillClient, uri: str, spec: dict[str, Any]) -> dict[str, Any]:
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
        uri=uri, language_id="python", version=1, text=spec["text"])))
    inline = []
    for line, character in spec.get("inline", []):
        items = await client.text_document_inline_completion_async(types.InlineCompletionParams(
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
            text_document=types.TextDocumentIdentifier(uri=uri), position=pos(line, character)))
        inline.append(items[0].insert_text if items else None)
    invoked = []
    for line, character in spec.get("invoked", []):
        items = await client.text_document_inline_completion_async(types.InlineCompletionParams(
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
            text_document=types.TextDocumentIdentifier(uri=uri), position=pos(line, character)))
        invoked.append([item.insert_text for item in items or []])
    rewrite = []
    for l0, c0, l1, c1 in spec.get("rewrite", []):
        result = await client.rewrite_range_async(RewriteRangeParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=1),
            range=types.Range(start=pos(l0, c0), end=pos(l1, c1))))
        rewrite.append(result.edits[0].new_text if result.edits else None)
    return {"inline": inline, "invoked": invoked, "rewrite": rewrite}


async def answers(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    client = DiffillClient()
    await client.start_server()
    try:
        await client.initialize_session(OPTIONS)
        await client.wait_ready()
        return [await ask(client, f"{URI_BASE}/doc{i}.py", spec) for i, spec in enumerate(specs)]
    finally:
        await client.stop_server()


def reference(*specs: dict[str, Any]) -> list[dict[str, Any]]:
    """One answer per spec (see the module docstring)."""
    return asyncio.run(answers(list(specs)))


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    found = asyncio.run(answers(spec if isinstance(spec, list) else [spec]))
    print(json.dumps(found if isinstance(spec, list) else found[0]))
