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
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from diffill.model.errors import CheckpointError

from .api import COMMIT_RULES, DRAFT_POLICIES, FillRequest, FillResult, SamplerConfig
from .draft_index import DraftIndex
from .markers import DEFAULT_MARKER, apply_edits, fill_markers, index_lookup
from .syntax import HoleKind, language_for

if TYPE_CHECKING:  # torch-heavy: imported when a command needs the model
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
    p.add_argument("--rule", default="confidence", choices=COMMIT_RULES)
    p.add_argument("--threshold", type=float, default=0.3, help="commit threshold")
    p.add_argument("--temperature", type=float, default=0.0)
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--remask-below", type=float, default=0.0)
    p.add_argument("--max-steps", type=int, default=64,
                   help="forward passes per canvas at most (each step commits >= open slots / steps left)")
    p.add_argument("--null-tail", action=argparse.BooleanOptionalAction, default=True,
                   help="commit the predicted run of end-of-fill nulls at once")
    p.add_argument("--stutter-guard", action=argparse.BooleanOptionalAction, default=True,
                   help="never commit the same token in two adjacent slots in one step")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--drafts", default="prefer", choices=DRAFT_POLICIES,
                   help="buffer drafts for line holes: off | prefer | score")


def sampler_from(args: argparse.Namespace) -> SamplerConfig:
    return SamplerConfig(rule=args.rule, threshold=args.threshold, temperature=args.temperature,
                         top_p=args.top_p, remask_below=args.remask_below,
                         max_steps=args.max_steps, null_tail=args.null_tail,
                         stutter_guard=args.stutter_guard, seed=args.seed)


def load_engine(args: argparse.Namespace) -> InfillEngine:
    from diffill.model.loading import load_denoiser

    from .engine import InfillEngine

    denoiser = load_denoiser(args.model, args.device, args.dtype,
                             trust_remote_code=getattr(args, "trust_remote_code", False),
                             quantization=getattr(args, "quantization", None))
    return InfillEngine(denoiser)


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
    ev.add_argument("tasks", type=Path, help="tasks .jsonl or .jsonl.gz")
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
    if path == "-":
        data = sys.stdin.buffer.read()
    else:
        p = Path(path)
        try:
            if p.stat().st_size > MAX_FILE_BYTES:
                raise InputError(f"{path}: larger than {MAX_FILE_BYTES} bytes; refusing")
            data = p.read_bytes()
        except OSError as exc:
            raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"{path}: larger than {MAX_FILE_BYTES} bytes; refusing")
    if b"\x00" in data[:8192]:
        raise InputError(f"{path}: looks binary; refusing")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not valid UTF-8 (byte {exc.start})") from exc


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
        engine = load_engine(args)
    except InputError as exc:
        print(f"diffill: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except CheckpointError as exc:
        print(f"diffill: {exc}", file=sys.stderr)
        return EXIT_MODEL
    language = language_for(None if path == "-" else path, args.language)
    try:
        req = FillRequest(text=text, start=start, end=end, language=language, n=args.n,
                          draft_policy=args.drafts, strength=args.strength,
                          sampler=sampler_from(args))
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
                             sampler=sampler_from(args), draft_policy=args.drafts,
                             drafts=index_lookup(index, str(path)) if index is not None else None)
        new = apply_edits(text, edits)
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


def run_eval(args: argparse.Namespace) -> int:
    from .evaluate import evaluate_tasks, load_tasks

    try:
        tasks = load_tasks(args.tasks, args.limit, args.sample)
        extra = None
        if args.workspace:
            from .repo_drafts import RepoDrafts

            rows = (r for f in args.workspace for r in read_jsonl_rows(f))
            extra = RepoDrafts(((r["path"], r["text"]) for r in rows), args.skip_similar)
        engine = load_engine(args)
    except (OSError, ValueError, KeyError) as exc:
        print(f"diffill: cannot read tasks or workspace: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except CheckpointError as exc:
        print(f"diffill: {exc}", file=sys.stderr)
        return EXIT_MODEL

    def progress(done: int, total: int) -> None:
        if done % 50 == 0 or done == total:
            print(f"{done}/{total}", file=sys.stderr)

    summary, outcomes = evaluate_tasks(engine, tasks, sampler_from(args), args.exec,
                                       progress=progress, draft_policy=args.drafts, extra_drafts=extra,
                                       kind=None if args.kind == "auto" else HoleKind(args.kind))
    if args.out:
        with args.out.open("w") as fh:
            for o in outcomes:
                fh.write(json.dumps({"task_id": o.task_id, "completion": o.completion,
                                     "exact": o.exact, "passed": o.passed,
                                     "steps": o.steps, "ms": round(o.ms, 1)}) + "\n")
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
