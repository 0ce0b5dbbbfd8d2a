"""pygls protocol with diffill's changes to `initialize`, document sync and malformed requests.

- `initialize`: the position encoding is utf-8 when the client offers it, else utf-16
  (pygls would take the client's first preference, utf-32 included).
- `textDocument/didOpen|didChange|didClose`: only the server's own DocumentStore keeps the
  text (see documents.py), so pygls's workspace copy is skipped.
- A request whose params do not match its type gets an InvalidParams answer; pygls only
  logs it, and the client would wait forever.
- diffill's own methods are typed (messages.py).
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.protocol import LanguageServerProtocol, lsp_method

from .messages import MESSAGE_TYPES, RESULT_TYPES
from .positions import negotiate

log = logging.getLogger(__name__)


class DiffillClientProtocol(LanguageServerProtocol):
    """Knows diffill's message types (for clients: tests, the benchmark)."""

    def get_message_type(self, method: str) -> type[Any] | None:  # type: ignore[override]
        return MESSAGE_TYPES.get(method) or super().get_message_type(method)

    def get_result_type(self, method: str) -> type[Any] | None:  # type: ignore[override]
        return RESULT_TYPES.get(method) or super().get_result_type(method)


class DiffillProtocol(DiffillClientProtocol):
    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if "id" in data and "method" in data:  # a request: answer it rather than leave it hanging
                self._send_response(data["id"], error=exc.to_response_error())
            raise

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams) -> Generator[Any, Any, types.InitializeResult]:
        result: types.InitializeResult = yield from super().lsp_initialize(params)
        result.capabilities.position_encoding = negotiate(params.capabilities)
        return result

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(
        self, params: types.DidOpenTextDocumentParams
    ) -> Generator[Any, Any, None]:
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_OPEN)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(
        self, params: types.DidChangeTextDocumentParams
    ) -> Generator[Any, Any, None]:
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(
        self, params: types.DidCloseTextDocumentParams
    ) -> Generator[Any, Any, None]:
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CLOSE)) is not None:
            yield handler, (params,), None
