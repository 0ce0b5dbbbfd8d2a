"""`diffill bench lsp`: the real server driven by a real client over stdio, on real files.

Typing-shaped traffic: at each sampled position the rest of the line is deleted (as if the
user had typed up to there) and a typed `textDocument/inlineCompletion` is sent; then the
next characters of the line are typed one every `--keystroke-ms`, each keystroke sending its
change and a new request at once, without waiting for the previous answer (as editors do;
the server's newest request wins). Every request is timed from request to response; the
line is restored afterwards. Prints JSON: client-side latency of all requests (p50, p95,
p99) and of the last request at each position (the one whose answer the user sees), how
often that one brought a suggestion and matched the line, engine time, steps, tokens per
forward and the server's memory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from lsprotocol import types

from .client import DiffillClient
from .stats import percentile


def default_files() -> list[Path]:
    import json as json_module

    json_dir = Path(json_module.__file__).parent
    return [json_dir / "decoder.py", json_dir / "encoder.py", Path(textwrap.__file__)]


def sample_positions(text: str, count: int, rng: random.Random) -> list[tuple[int, int]]:
    """(line, column) inside code lines: after the indentation, before the line end."""
    lines = text.split("\n")
    # ASCII lines only, so a column is the same in code points and utf-16 units.
    candidates = [i for i, ln in enumerate(lines) if ln.isascii()
                  and len(ln.strip()) >= 4 and not ln.lstrip().startswith(("#", '"""', "'''"))]
    picked = sorted(rng.sample(candidates, min(count, len(candidates))))
    out = []
    for i in picked:
        line = lines[i]
        indent = len(line) - len(line.lstrip())
        out.append((i, rng.randint(indent + 1, len(line) - 1)))
    return out


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    def pct(q: float) -> float:
        return round(percentile(values, q), 1)

    return {"n": len(values), "p50": pct(0.5), "p95": pct(0.95), "p99": pct(0.99),
            "mean": round(statistics.fmean(values), 1)}


class Bench:
    def __init__(self, client: DiffillClient) -> None:
        self.client = client
        self.version = 0

    def change(self, uri: str, line: int, start: int, end: int, text: str) -> None:
        self.version += 1
        rng = types.Range(start=types.Position(line=line, character=start),
                          end=types.Position(line=line, character=end))
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.version),
            content_changes=[types.TextDocumentContentChangePartial(range=rng, text=text)]))

    async def inline(self, uri: str, line: int, column: int) -> tuple[float, str]:
        params = types.InlineCompletionParams(
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Automatic),
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=column))
        t0 = time.perf_counter()
        result = await self.client.text_document_inline_completion_async(params)
        ms = (time.perf_counter() - t0) * 1000
        items = list(result.items if isinstance(result, types.InlineCompletionList) else result or [])
        first = items[0].insert_text if items else ""
        return ms, first if isinstance(first, str) else first.value

    async def file(self, path: Path, count: int, rng: random.Random, record: dict[str, list[float]],
                   keystrokes: int, gap_s: float) -> None:
        text = path.read_text(encoding="utf-8")
        uri = path.resolve().as_uri()
        self.version = 1
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
            uri=uri, language_id="python", version=1, text=text)))
        lines = text.split("\n")
        for line, column in sample_positions(text, count, rng):
            rest = lines[line][column:]
            typed = rest[: max(0, min(keystrokes, len(rest) - 1))]  # leave something to suggest
            self.change(uri, line, column, len(lines[line]), "")
            requests = [asyncio.create_task(self.inline(uri, line, column))]
            for i, char in enumerate(typed):
                await asyncio.sleep(gap_s)
                self.change(uri, line, column + i, column + i, char)
                requests.append(asyncio.create_task(self.inline(uri, line, column + i + 1)))
            answers = await asyncio.gather(*requests)
            record["latency"].extend(ms for ms, _ in answers)
            last_ms, suggestion = answers[-1]
            record["last"].append(last_ms)
            expected = rest[len(typed):]
            record["suggested"].append(float(bool(suggestion)))
            record["exact"].append(float(bool(suggestion) and suggestion.rstrip() == expected.rstrip()))
            self.change(uri, line, column, column + len(typed), rest)
        self.client.text_document_did_close(types.DidCloseTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=uri)))


async def run(args: argparse.Namespace) -> dict[str, Any]:
    files = [Path(f) for f in args.files] or default_files()
    options: dict[str, Any] = {"device": args.device, "dtype": args.dtype, **json.loads(args.options)}
    if args.deadline_ms is not None:
        options["deadlineMs"] = options["typingDeadlineMs"] = args.deadline_ms
    if args.model:
        options["modelPath"] = args.model
    client = DiffillClient()
    t0 = time.perf_counter()
    await client.start_server()
    await client.initialize_session(options)
    initialized_s = time.perf_counter() - t0
    await client.wait_ready()
    ready_s = time.perf_counter() - t0
    bench = Bench(client)
    rng = random.Random(args.seed)
    per_file = max(1, args.positions // len(files))
    keys = ("latency", "last", "suggested", "exact")
    warm: dict[str, list[float]] = {k: [] for k in keys}
    gap_s = args.keystroke_ms / 1000
    # First-call costs out of the figures.
    await bench.file(files[0], 2, random.Random(args.seed + 1), warm, args.keystrokes, gap_s)
    await client.stats_async(reset=True)
    record: dict[str, list[float]] = {k: [] for k in keys}
    for path in files:
        await bench.file(path, per_file, rng, record, args.keystrokes, gap_s)
    stats = await client.stats_async()
    await client.stop_server()
    return {
        "files": [str(f) for f in files],
        "options": options,
        "positions": len(record["last"]),
        "keystrokes": args.keystrokes,
        "keystroke_ms": args.keystroke_ms,
        "latency_ms": summary(record["latency"]),
        "last_request_latency_ms": summary(record["last"]),
        "engine_ms": {"p50": stats.engine_ms_p50, "p95": stats.engine_ms_p95},
        "steps_mean": stats.steps_mean,
        "tokens_per_forward_mean": stats.tokens_per_forward_mean,
        "engine_fills": stats.fills,
        "engine_cache_hits": stats.cached,
        "served_from_last_suggestion": stats.continued,
        "cancelled": stats.cancelled,
        "gave_way": stats.gave_way,
        "partial": stats.partial,
        "suggested_rate": round(statistics.fmean(record["suggested"]), 3) if record["suggested"] else 0.0,
        "exact_rest_of_line_rate": round(statistics.fmean(record["exact"]), 3) if record["exact"] else 0.0,
        "server_rss_mb": stats.rss_mb,
        "server_peak_rss_mb": stats.peak_rss_mb,
        "index_docs": stats.index_docs,
        "index_mb": stats.index_mb,
        "initialize_s": round(initialized_s, 2),
        "ready_s": round(ready_s, 2),
        "torch_threads": os.environ.get("DIFFILL_THREADS", "1"),  # the client's default for its server
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main(args: argparse.Namespace) -> int:
    result = asyncio.run(run(args))
    print(json.dumps(result, indent=2))
    return 0 if result["positions"] else 1


if __name__ == "__main__":
    from .cli import main as cli_main

    sys.exit(cli_main(["bench", "lsp", *sys.argv[1:]]))
