"""`diffill fill`, `diffill eval` and `diffill heldout`: the headless infill commands.

Exit codes of `diffill fill`: 0 done (with --check: nothing would change), 1 --check found
holes that would change, 2 usage or input error (unreadable, binary, huge or non-UTF-8
file, position out of range), 3 model could not be loaded.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING

from diffill.model.errors import CheckpointError
from diffill.model.sampler_config import problems, sampler_fields

from .api import DRAFT_POLICIES, FillResult, SamplerConfig
from .drafts.index import DraftIndex
from .markers import DEFAULT_MARKER, apply_edits, fill_markers, index_lookup, unfilled_note
from .requests import FillSettings, Trigger, cursor_request, range_request
from .source_files import SourceError, decode_source, read_source_file
from .syntax import HoleKind, language_for

if TYPE_CHECKING:  # the model: imported when a command needs it

    from .engine import InfillEngine

EXIT_OK, EXIT_CHANGES, EXIT_INPUT, EXIT_MODEL = 0, 1, 2, 3
MAX_FILE_BYTES = 2_000_000


class InputError(Exception):
    """A user-facing input problem (bad file, bad position)."""


def add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", type=Path, default=None,
                   help="checkpoint folder (default: shipped); its config.json picks the backend")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps")
    p.add_argument("--dtype", default="auto", help="auto | fp32 | bf16 | fp16")
    p.add_argument("--trust-remote-code", action="store_true",
                   help="run model code shipped with the checkpoint (Dream, LLaDA); read it first")
    p.add_argument("--quantization", default="none", choices=("none", "4bit", "8bit"),
                   help="load weights quantized through bitsandbytes (if installed)")
    add_sampler_options(p)
    p.add_argument("--drafts", default="prefer", choices=DRAFT_POLICIES,
                   help="line holes: prefer (all sources, ranked) | off (denoiser alone) | score | verify")
    p.add_argument("--min-confidence", type=float, default=None, metavar="P",
                   help="mark a suggestion shown at this confidence or above (default: the ranker's)")


def add_sampler_options(p: argparse.ArgumentParser) -> None:
    """One flag per SamplerConfig field (--top-p, --no-null-tail, ...), its default and range."""
    for f in sampler_fields():
        flag = "--" + f.name.replace("_", "-")
        default, meta = f.default, f.metadata
        if isinstance(default, bool):
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=meta["help"])
        elif meta["choices"]:
            p.add_argument(flag, default=default, choices=meta["choices"], help=meta["help"])
        else:
            p.add_argument(flag, type=checked(f.name, type(default)), default=default,
                           help=f"{meta['help']} (default {default})")


def checked(name: str, kind: type) -> Callable[[str], object]:
    """An argparse type that parses a number and rejects values out of the field's range."""
    def parse(raw: str) -> object:
        try:
            value = kind(raw)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{raw!r} is not a {kind.__name__}") from exc
        bad = [want for field_name, want in problems(replace(SamplerConfig(), **{name: value}))
               if field_name == name]
        if bad:
            raise argparse.ArgumentTypeError(f"must be {bad[0]}, not {raw}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def sampler_from(args: argparse.Namespace) -> SamplerConfig:
    return SamplerConfig(**{f.name: getattr(args, f.name) for f in sampler_fields()})


def settings_from(args: argparse.Namespace) -> FillSettings:
    """`diffill fill`'s request settings: --n, --drafts, --min-confidence, --strength, the sampler's."""
    return FillSettings(candidates=args.n, draft_policy=args.drafts, sampler=sampler_from(args),
                        min_confidence=args.min_confidence, strength=args.strength)


def load_engine(args: argparse.Namespace, long_lived: bool = False, for_bench: bool = False) -> InfillEngine:
    """The engine for a headless run: the corpus index loaded (or built once, ~1-2 min) first.

    long_lived: many fills follow (eval), so line holes are scored in a second process as in
    the server; a one-shot fill would spend more starting it than it saves.
    for_bench: the corpus index leaves out every benchmark project installed here.
    """
    from .engine import load_engine as build

    exclude: list[str] = []
    if for_bench:
        from .bench import benchmark_modules

        exclude = benchmark_modules()

    def announce(folder: Path) -> None:
        print(f"diffill: building the corpus index (once for this Python and its packages, a minute "
              f"or two; cached in {folder})", file=sys.stderr, flush=True)

    return build(args.model, args.device, args.dtype,
                 trust_remote_code=getattr(args, "trust_remote_code", False),
                 quantization=getattr(args, "quantization", None), wait_for_corpus=True,
                 scoring_process=long_lived, corpus_exclude=exclude, on_corpus_build=announce)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fill = sub.add_parser("fill", help="fill at a cursor, rewrite a range, or fill hole markers")
    fill.add_argument("paths", nargs="+", help="files (or - for stdin); folders with --holes")
    fill.add_argument("--at", help="cursor LINE:COL (1-based)")
    fill.add_argument("--to", help="range end LINE:COL (1-based) for a rewrite")
    fill.add_argument("--n", type=int, default=1, help="candidates")
    fill.add_argument("--strength", type=float, default=1.0,
                      help="with --to: share of the range to regenerate (0 keeps it, 1 from scratch)")
    fill.add_argument("--json", action="store_true", help="print edits with metadata")
    fill.add_argument("--language", help="language id (default: from the file extension)")
    fill.add_argument("--holes", action="store_true", help="fill every hole marker")
    fill.add_argument("--marker", default=DEFAULT_MARKER)
    fill.add_argument("--write", action="store_true", help="with --holes: write files back")
    fill.add_argument("--diff", action="store_true", help="with --holes: print a unified diff")
    fill.add_argument("--check", action="store_true", help="with --holes: exit 1 if changes")
    fill.add_argument("--no-index", action="store_true", help="with --holes over several files: "
                      "no drafts from the other files")
    add_model_options(fill)
    fill.set_defaults(func=run_fill)

    ev = sub.add_parser("eval", help="evaluate on HumanEval-Infilling-format tasks")
    ev.add_argument("tasks", type=Path, nargs="?", help="tasks .jsonl or .jsonl.gz (or --bench)")
    ev.add_argument("--bench", choices=("repos", "smoke", "dev"),
                    help="a development benchmark instead of a file: held-out repositories (fetched "
                         "and cut into data/bench on first use) or the smoke set; reports the model "
                         "alone, the default engine and the copy floor per hole kind")
    ev.add_argument("--limit", type=int)
    ev.add_argument("--sample", type=int, help="a fixed random subset of this many tasks")
    ev.add_argument("--workspace", type=Path, action="append", default=[],
                    help="corpus .jsonl (path, text), repeatable: drafts from the other files of "
                         "each task's repository")
    ev.add_argument("--kind", choices=("auto", "line", "block"), default="auto",
                    help="hole kind: planned from the syntax (auto), one line, or a multi-line block")
    ev.add_argument("--skip-similar", type=float, metavar="SHARE",
                    help="with --workspace: leave out files sharing more than SHARE of the task "
                         "file's long lines (near-copies)")
    ev.add_argument("--candidates", type=int, default=1, choices=range(1, 9), metavar="N",
                    help="candidates each request asks for, 1-8 (an editor's invoked request: its "
                         "`candidates` setting, 3 by default); the best is scored")
    ev.add_argument("--out", type=Path, help="write one line per task")
    ev.add_argument("--exec", action="store_true", help="run tests in a sandbox for pass@1")
    add_model_options(ev)
    ev.set_defaults(func=run_eval)

    cu = sub.add_parser("curve", help="held-out exact match of every snapshot of a training run")
    cu.add_argument("run", type=Path, help="training run folder (with snapshots/)")
    cu.add_argument("--tasks", type=Path, required=True, help="tasks from `diffill heldout`")
    cu.add_argument("--limit", type=int)
    cu.add_argument("--sample", type=int, help="a fixed random subset of this many tasks")
    cu.add_argument("--out", type=Path,
                    help="CSV to extend (default RUN/em_curve.csv); the PNG goes beside it")
    add_model_options(cu)
    cu.set_defaults(func=run_curve)

    sw = sub.add_parser("sweep", help="exact match against tokens per forward as the threshold varies")
    sw.add_argument("tasks", type=Path)
    sw.add_argument("--limit", type=int)
    sw.add_argument("--sample", type=int, help="a fixed random subset of this many tasks")
    sw.add_argument("--thresholds", type=float, nargs="+", default=[0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.01])
    sw.add_argument("--png", type=Path, help="write the curve as a PNG")
    add_model_options(sw)
    sw.set_defaults(func=run_sweep)

    be = sub.add_parser("bench-tasks", help="fetch the held-out repositories and write the benchmark "
                                      "task files (repos, its workspace, smoke)")
    be.add_argument("--out-dir", type=Path, default=Path("data/bench"))
    be.set_defaults(func=run_bench_prepare)

    ho = sub.add_parser("heldout", help="cut deterministic infill tasks from held-out files")
    ho.add_argument("--corpus", type=Path, default=Path("data/corpus"))
    ho.add_argument("--kind", default="line", choices=("line", "rest_of_line"))
    ho.add_argument("--limit", type=int, default=400)
    ho.add_argument("--out", type=Path, required=True)
    ho.set_defaults(func=run_heldout)


def read_jsonl_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def read_source(path: str) -> str:
    try:
        if path == "-":
            return decode_source(sys.stdin.buffer.read(), "-", MAX_FILE_BYTES)
        return read_source_file(Path(path), MAX_FILE_BYTES)
    except SourceError as exc:
        raise InputError(str(exc)) from exc


def offset_of(text: str, spec: str) -> int:
    """Character offset of a 1-based LINE:COL (COL counts characters)."""
    try:
        line_s, col_s = spec.split(":")
        line, col = int(line_s), int(col_s)
    except ValueError as exc:
        raise InputError(f"position {spec!r} is not LINE:COL") from exc
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        raise InputError(f"line {line} out of range (1..{len(lines)})")
    if not 1 <= col <= len(lines[line - 1]) + 1:
        raise InputError(f"column {col} out of range on line {line} (1..{len(lines[line - 1]) + 1})")
    return sum(len(ln) + 1 for ln in lines[: line - 1]) + col - 1


def result_json(path: str, text: str, result: FillResult) -> dict[str, object]:
    def pos(offset: int) -> dict[str, int]:
        before = text[:offset]
        return {"line": before.count("\n") + 1, "col": offset - (before.rfind("\n") + 1) + 1}

    return {
        "path": path,
        "range": {"start": pos(result.start), "end": pos(result.end)},
        "kind": result.kind.value,
        "edits": [asdict(c) for c in result.candidates],
        "steps": result.steps,
        "tokens_per_forward": round(result.tokens_per_forward, 2),
        "ms": round(result.ms, 1),
    }


def run_fill(args: argparse.Namespace) -> int:
    try:
        if args.holes:
            return fill_holes(args)
        if len(args.paths) != 1 or not args.at:
            raise InputError("give one PATH and --at LINE:COL (or --holes)")
        path = args.paths[0]
        text = read_source(path)
        start = offset_of(text, args.at)
        end = offset_of(text, args.to) if args.to else None
        if end is not None and end < start:
            raise InputError("--to is before --at")
        if not 0.0 <= args.strength <= 1.0:
            raise InputError("--strength must be between 0 and 1")
        if args.n < 1:
            raise InputError(f"--n must be at least 1, not {args.n}")
        engine = load_engine(args)
    except InputError as exc:
        print(f"diffill: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except CheckpointError as exc:
        print(f"diffill: {exc}", file=sys.stderr)
        return EXIT_MODEL
    language = language_for(None if path == "-" else path, args.language)
    settings = settings_from(args)
    try:
        # A cursor is filled as an editor's invoked request: the user asked for this one.
        req = (cursor_request(text, start, language, Trigger.INVOKED, settings) if end is None
               else range_request(text, start, end, language, settings))
        result = engine.fill(req)
    except ValueError as exc:
        print(f"diffill: {exc}", file=sys.stderr)
        return EXIT_INPUT
    if args.json:
        print(json.dumps(result_json(path, text, result), indent=2))
    else:
        best = result.best or ""
        sys.stdout.write(text[: result.start] + best + text[result.end :])
    return EXIT_OK


def hole_files(paths: list[str], marker: str) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(f for f in p.rglob("*") if f.is_file() and ".git" not in f.parts))
        else:
            files.append(p)
    return files


def index_files(files: list[Path], marker: str) -> DraftIndex:
    """Every readable file, markers removed (a draft must never propose one)."""
    index = DraftIndex()
    for path in files:
        try:
            index.update(str(path), read_source(str(path)).replace(marker, ""))
        except InputError:
            continue  # reported when its turn to be filled comes (if it is a source file)
    return index


def fill_holes(args: argparse.Namespace) -> int:
    files = hole_files(args.paths, args.marker)
    engine: InfillEngine | None = None
    index: DraftIndex | None = None
    changed = errors = 0
    for i, path in enumerate(files):
        try:
            text = read_source(str(path))
        except InputError as exc:
            if len(files) == 1 or path.suffix in (".py", ".js", ".ts", ".go", ".rs"):
                print(f"diffill: {exc}", file=sys.stderr)
                errors += 1
            continue
        if args.marker not in text:
            continue
        if engine is None:
            try:
                engine = load_engine(args)
            except CheckpointError as exc:
                print(f"diffill: {exc}", file=sys.stderr)
                return EXIT_MODEL
        if index is None and len(files) > 1 and not args.no_index:
            index = index_files(files, args.marker)  # built once a file has holes to fill
        if len(files) > 1:
            print(f"[{i + 1}/{len(files)}] {path}", file=sys.stderr)
        edits = fill_markers(engine, text, args.marker, language=language_for(str(path), args.language),
                             settings=settings_from(args),
                             drafts=index_lookup(index, str(path)) if index is not None else None)
        new = apply_edits(text, edits)
        if note := unfilled_note(text, args.marker, edits, "--min-confidence"):
            print(f"diffill: {path}: {note}", file=sys.stderr)
        if index is not None:
            index.update(str(path), new.replace(args.marker, ""))  # later files see the fills
        changed += 1
        if args.diff or args.check:
            sys.stdout.writelines(difflib.unified_diff(
                text.splitlines(True), new.splitlines(True), f"a/{path}", f"b/{path}"))
        if args.write:
            path.write_text(new, encoding="utf-8")
        elif not (args.diff or args.check):
            sys.stdout.write(new)
    if errors:
        return EXIT_INPUT
    if args.check and changed:
        return EXIT_CHANGES
    return EXIT_OK


def run_bench_prepare(args: argparse.Namespace) -> int:
    from .bench import prepare
    from .bench_fetch import FetchError

    try:
        paths = prepare(args.out_dir)
    except FetchError as exc:
        print(f"diffill: {exc}", file=sys.stderr)
        return EXIT_INPUT
    print(json.dumps({k: str(v) for k, v in paths.items()}))
    return EXIT_OK


def eval_progress(done: int, total: int) -> None:
    if done % 50 == 0 or done == total:
        print(f"{done}/{total}", file=sys.stderr)


def run_eval_bench(args: argparse.Namespace) -> int:
    from .bench import load_bench
    from .bench_eval import run_bench
    from .bench_fetch import FetchError, installed, load_manifest
    from .evaluate import pick_tasks

    if args.bench == "repos" and (leaks := installed(load_manifest())):
        print(f"diffill: warning: held-out projects installed here: {', '.join(leaks)}", file=sys.stderr)
    try:
        tasks, workspace = load_bench(args.bench)
        tasks = pick_tasks(tasks, args.limit, args.sample)
        engine = load_engine(args, long_lived=True, for_bench=True)
    except (OSError, FetchError) as exc:
        print(f"diffill: cannot prepare the benchmark: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except CheckpointError as exc:
        print(f"diffill: {exc}", file=sys.stderr)
        return EXIT_MODEL
    summary, rows = run_bench(engine, args.bench, tasks, workspace, sampler_from(args), args.drafts,
                              eval_progress, args.candidates)
    if args.out:
        with args.out.open("w") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in rows)
    print(json.dumps(summary))
    return EXIT_OK


def run_eval(args: argparse.Namespace) -> int:
    from .evaluate import evaluate_tasks, load_tasks

    if (args.tasks is None) == (args.bench is None):
        print("diffill: give a tasks file or --bench NAME (not both)", file=sys.stderr)
        return EXIT_INPUT
    if args.bench:
        return run_eval_bench(args)
    try:
        tasks = load_tasks(args.tasks, args.limit, args.sample)
        extra = None
        if args.workspace:
            from .drafts.repo import RepoDrafts

            rows = (r for f in args.workspace for r in read_jsonl_rows(f))
            extra = RepoDrafts(((r["path"], r["text"]) for r in rows), args.skip_similar)
        engine = load_engine(args, long_lived=True)
    except (OSError, ValueError, KeyError) as exc:
        print(f"diffill: cannot read tasks or workspace: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except CheckpointError as exc:
        print(f"diffill: {exc}", file=sys.stderr)
        return EXIT_MODEL

    summary, outcomes = evaluate_tasks(engine, tasks, sampler_from(args), args.exec,
                                       progress=eval_progress, draft_policy=args.drafts, extra_drafts=extra,
                                       kind=None if args.kind == "auto" else HoleKind(args.kind),
                                       min_confidence=args.min_confidence, candidates=args.candidates)
    if args.out:
        with args.out.open("w") as fh:
            for o in outcomes:
                fh.write(json.dumps({"task_id": o.task_id, "completion": o.completion,
                                     "exact": o.exact, "passed": o.passed, "shown": o.shown,
                                     "confidence": round(o.confidence, 4), "kind": o.kind,
                                     "repo": o.repo, "steps": o.steps, "ms": round(o.ms, 1)}) + "\n")
    print(json.dumps(summary))
    return EXIT_OK


def run_heldout(args: argparse.Namespace) -> int:
    from .heldout import make_tasks, write_tasks

    tasks = make_tasks(args.corpus / "heldout.jsonl", args.kind, args.limit)
    write_tasks(tasks, args.out)
    print(json.dumps({"tasks": len(tasks), "out": str(args.out)}))
    return EXIT_OK


def log_err(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_curve(args: argparse.Namespace) -> int:
    from .curves import exact_match_curve
    from .evaluate import load_tasks

    tasks = load_tasks(args.tasks, args.limit, args.sample)
    rows = exact_match_curve(args.run, tasks, sampler_from(args), log_err, args.drafts,
                             args.out)
    print(json.dumps(rows))
    return EXIT_OK


def run_sweep(args: argparse.Namespace) -> int:
    from .curves import plot, threshold_sweep
    from .evaluate import load_tasks

    tasks = load_tasks(args.tasks, args.limit, args.sample)
    rows = threshold_sweep(load_engine(args), tasks, sampler_from(args), args.thresholds, log_err,
                           args.drafts)
    if args.png:
        plot(rows, "tokens_per_forward_mean", "exact_match", args.png, "tokens per forward pass")
    print(json.dumps(rows))
    return EXIT_OK
