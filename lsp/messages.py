"""Typed messages of diffill's own methods: `diffill/rewriteRange`, `diffill/status`, `diffill/stats`.

attrs classes, so lsprotocol's converter maps them to camelCase JSON exactly like the
standard LSP types, and malformed params fail to structure (the client gets InvalidParams).
Client and server look these up through `MESSAGE_TYPES` / `RESULT_TYPES`.
"""

from __future__ import annotations

from typing import Any

import attrs
from lsprotocol import types

REWRITE_RANGE = "diffill/rewriteRange"
STATUS = "diffill/status"
STATS = "diffill/stats"

# Commands (workspace/executeCommand)
CMD_REWRITE = "diffill.rewrite"  # arguments: uri, version, range
CMD_FILL_HOLES = "diffill.fillHoles"  # arguments: uri, version
CMD_ACCEPTED = "diffill.accepted"  # arguments: one object describing the accepted suggestion

LOADING, READY, BUSY, ERROR = "loading", "ready", "busy", "error"


@attrs.define
class RewriteRangeParams:
    text_document: types.VersionedTextDocumentIdentifier  # the version the range refers to
    range: types.Range  # may span lines
    n: int | None = None  # candidates (alternatives in `edits`, best first); default 1
    # Share of the range to regenerate, least trusted tokens first: 0 keeps it, 1 rewrites
    # from scratch; default: the `rewriteStrength` setting.
    strength: float | None = None


@attrs.define
class RewriteEdit:
    range: types.Range
    new_text: str
    syntax_ok: bool  # the rewritten document parses no worse than before
    logprob: float  # sum of token log-probabilities (for ranking)


@attrs.define
class RewriteRangeResult:
    edits: list[RewriteEdit]  # alternatives for the same range, best first; empty: nothing to offer
    version: int  # document version the edits apply to
    kind: str  # hole kind the engine used
    steps: int  # forward passes
    tokens_per_forward: float
    ms: float  # engine time
    cached: bool


@attrs.define
class RewriteRangeRequest:
    id: int | str
    params: RewriteRangeParams
    method: str  # no defaults here: the converter would omit fields equal to their default
    jsonrpc: str


@attrs.define
class RewriteRangeResponse:
    id: int | str | None
    result: RewriteRangeResult | None
    jsonrpc: str


@attrs.define
class StatusParams:
    state: str  # loading | ready | busy | error
    message: str | None = None  # what went wrong (error) or what is loading


@attrs.define
class StatusNotification:
    params: StatusParams
    method: str
    jsonrpc: str


@attrs.define
class StatsParams:
    reset: bool = False  # forget the records after reporting them


@attrs.define
class StatsResult:
    state: str
    fills: int  # engine runs that finished
    cancelled: int  # engine runs stopped by a newer request, $/cancelRequest or the deadline
    continued: int  # answers served from the last suggestion without the engine
    cached: int  # engine answers from its cache
    engine_ms_p50: float
    engine_ms_p95: float
    steps_mean: float
    tokens_per_forward_mean: float
    rss_mb: float  # resident memory of the server and its scoring process now
    peak_rss_mb: float
    # The workspace draft index (setting workspaceIndex; zeros when it is off).
    index_docs: int = 0  # documents indexed (open documents and workspace files)
    index_accepted: int = 0  # accepted suggestions kept as drafts
    index_mb: float = 0.0  # approximate memory of its texts and windows
    gave_way: int = 0  # typed fills dropped: the typing budget ran out while denoising
    partial: int = 0  # fills answered without the denoiser's own line: the budget cut its loop


@attrs.define
class StatsRequest:
    id: int | str
    method: str
    jsonrpc: str
    params: StatsParams | None = None


@attrs.define
class StatsResponse:
    id: int | str | None
    result: StatsResult | None
    jsonrpc: str


MESSAGE_TYPES: dict[str, type[Any]] = {
    REWRITE_RANGE: RewriteRangeRequest,
    STATUS: StatusNotification,
    STATS: StatsRequest,
}
RESULT_TYPES: dict[str, type[Any]] = {REWRITE_RANGE: RewriteRangeResponse, STATS: StatsResponse}
