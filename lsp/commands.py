"""`diffill serve` and `diffill bench lsp`: the language server's subcommands."""

from __future__ import annotations

import argparse


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="run the language server (stdio unless --tcp)")
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    serve.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    serve.set_defaults(func=run_serve)

    bench = sub.add_parser("bench", help="benchmarks")
    bench_sub = bench.add_subparsers(dest="bench", required=True)
    lsp = bench_sub.add_parser("lsp", help="drive `diffill serve` over stdio on real files; print JSON")
    lsp.add_argument("files", nargs="*", help="source files (default: json and textwrap from the stdlib)")
    lsp.add_argument("--positions", type=int, default=40, help="cursor positions to measure")
    lsp.add_argument("--seed", type=int, default=0)
    lsp.add_argument("--deadline-ms", type=int, default=None, help="both server deadlines (default: the "
                     "server's own, typingDeadlineMs for typed requests)")
    lsp.add_argument("--keystrokes", type=int, default=3, help="characters typed after each first request")
    lsp.add_argument("--keystroke-ms", type=int, default=150, help="time between keystrokes")
    lsp.add_argument("--model", help="checkpoint folder (default: shipped)")
    lsp.add_argument("--device", default="auto")
    lsp.add_argument("--dtype", default="auto")
    lsp.add_argument("--options", default="{}", help="more initializationOptions as JSON, e.g. "
                     "'{\"lineBudget\": 16, \"sampler\": {\"threshold\": 0.5}}'")
    lsp.set_defaults(func=run_bench)
    model = bench_sub.add_parser("model", help="forward latency of candidate denoiser sizes; print JSON")
    model.add_argument("--canvas", type=int, default=256)
    model.add_argument("--vocab", type=int, default=8192)
    model.set_defaults(func=run_bench_model)
    runtime = bench_sub.add_parser("runtime", help="forward latency of the shipped model on each runtime "
                                   "(transformers, its int8, numpy, numpy cached step), 1 and 2 threads; "
                                   "JSON")
    runtime.add_argument("--canvas", type=int, default=128)
    runtime.add_argument("--slots", type=int, default=32)
    runtime.add_argument("--compile", action="store_true",
                         help="also torch.compile transformers' encoder (slow to compile)")
    runtime.set_defaults(func=run_bench_runtime)


def run_serve(args: argparse.Namespace) -> int:
    from .server import serve

    return serve(args.tcp, args.log_level)


def run_bench(args: argparse.Namespace) -> int:
    from .bench import main

    return main(args)


def run_bench_model(args: argparse.Namespace) -> int:
    import json

    from diffill.model.bench import size_table

    for row in size_table(args.vocab, args.canvas):
        print(json.dumps(row), flush=True)
    return 0


def run_bench_runtime(args: argparse.Namespace) -> int:
    import json

    from diffill.model.bench import runtime_table

    for row in runtime_table(args.canvas, args.slots, compile_too=args.compile):
        print(json.dumps(row), flush=True)
    return 0
