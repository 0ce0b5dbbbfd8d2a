"""`diffill serve --tcp HOST:PORT`, and requests that arrive before the model is ready."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from lsp_harness import inline_params
from lsprotocol import types

from diffill.lsp.client import DiffillClient

CODE = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return "


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def connect(client: DiffillClient, port: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            await client.start_tcp("127.0.0.1", port)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def session(port: int) -> tuple[list[object], list[object]]:
    client = DiffillClient()
    await connect(client, port)
    await client.initialize_session({"deadlineMs": 30000})
    uri = "file:///tmp/tcp.py"
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
        uri=uri, language_id="python", version=1, text=CODE)))
    # Sent at once: the model may still be loading; the answer must be a list either way.
    early = await client.text_document_inline_completion_async(inline_params(uri, 5, 11))
    await client.wait_ready()
    late = await client.text_document_inline_completion_async(inline_params(uri, 5, 11))
    await asyncio.wait_for(client.shutdown_async(None), 10)
    client.exit(None)
    await client.stop()
    return list(early or []), list(late or [])


def test_tcp_transport_and_early_requests(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "DIFFILL_THREADS": "1"}
    with (tmp_path / "server.log").open("w") as log:
        command = [sys.executable, "-m", "diffill.lsp.cli", "serve", "--tcp", f"127.0.0.1:{port}"]
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=log, env=env)
        try:
            early, late = asyncio.run(asyncio.wait_for(session(port), 180))
            assert isinstance(early, list)
            assert late, (tmp_path / "server.log").read_text()[-2000:]
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
