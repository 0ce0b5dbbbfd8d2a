"""The corpus index: a token suffix array over Python the user already has.

Corpus statistics cost no training compute: the standard library of the running Python is
on every machine (about 9M tokens), and the continuations of a context there are a strong
prior for idioms a 6M-parameter denoiser never learned (`if __name__ == "__main__":`,
`for key, value in d.items():`). The installed packages (site-packages) add the idioms of
third-party code; each top-level package gives at most PACKAGE_CAP_BYTES, so one large
package (transformers' 54 MB of near-copied model files) does not outweigh the rest. The
index is built once per tokenizer and file set (one to two minutes on two cores) and cached
under the user's cache folder; other roots (a monorepo) can be indexed instead.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from .token_index import MAX_ORDER, TokenIndex

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 400_000  # larger files are generated tables more often than code
PACKAGE_CAP_BYTES = 8_000_000  # per installed top-level package
SITE_CAP_BYTES = 100_000_000  # all installed packages together: bounds build time and memory
TOKENIZE_BATCH = 256  # files tokenized at once: only their ids are kept, not the encodings
SKIP_PARTS = frozenset({"site-packages", "dist-packages", "__pycache__", "lib2to3", "idlelib"})
INDEX_VERSION = 2
STALE_DAYS = 30  # an index no process loaded for this long goes when another is built


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get("DIFFILL_CACHE", Path(base) / "diffill"))


def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def site_roots() -> list[Path]:
    """The running Python's site-packages folders (purelib, and platlib where it differs)."""
    paths = sysconfig.get_paths()
    found: list[Path] = []
    for key in ("purelib", "platlib"):
        path = Path(paths[key])
        if path.is_dir() and path not in found:
            found.append(path)
    return found


def sampled(files: list[Path], cap: int, base: Path) -> list[Path]:
    """Files in a stable pseudo-random order, as many as fit in cap bytes, sorted back.

    A random rather than alphabetical cut spreads a large package's share over all its
    modules (torch's `_dynamo` and `_inductor` sort first). The order hashes each path below
    base, so the same packages give the same index wherever the environment lives.
    """
    order = sorted(files, key=lambda p: hashlib.sha1(p.relative_to(base).as_posix().encode()).digest())
    kept, total = [], 0
    for path in order:
        size = path.stat().st_size
        if total + size <= cap:
            kept.append(path)
            total += size
    return sorted(kept)


def package_files(site: Path, exclude: Sequence[str] = ()) -> list[Path]:
    """Python files of each top-level package under site, at most PACKAGE_CAP_BYTES each."""
    skip = set(exclude)
    found: list[Path] = []
    try:
        entries = sorted(site.iterdir())
    except OSError as exc:  # unreadable: the standard library still makes an index
        log.warning("corpus index: skipping %s: %s", site, exc)
        return []
    for entry in entries:
        name = entry.name.removesuffix(".py")
        if name in skip or name.startswith(".") or entry.suffix in (".dist-info", ".egg-info", ".pth"):
            continue
        if entry.is_dir():
            found += sampled(python_files([entry], exclude), PACKAGE_CAP_BYTES, site)
        elif entry.suffix == ".py" and entry.is_file() and entry.stat().st_size <= MAX_FILE_BYTES:
            found.append(entry)
    return found


def default_files(exclude: Sequence[str] = ()) -> list[Path]:
    """The standard library, then the installed packages (SITE_CAP_BYTES of them at most)."""
    files = python_files([stdlib_root()], exclude)
    roots = site_roots()
    site = [path for root in roots for path in package_files(root, exclude)]
    # purelib and platlib share their parent (lib/ and lib64/ aside): paths hash below it.
    return files + sampled(site, SITE_CAP_BYTES, Path(os.path.commonpath(roots)) if roots else Path("/"))


def distribution_modules(names: Iterable[str]) -> list[str]:
    """Top-level module names that the installed distributions `names` provide.

    An evaluation leaves its projects out of the index by these (a project installed here
    would otherwise be copied verbatim into its own benchmark).
    """
    import importlib.metadata

    found: set[str] = set()
    for name in names:
        try:
            files = importlib.metadata.distribution(name).files or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for file in files:
            top = file.parts[0] if file.parts else ""
            if top and top != ".." and not top.endswith((".dist-info", ".egg-info", ".pth")):
                found.add(top.removesuffix(".py"))
    return sorted(found - {"__pycache__", "bin"})


def python_files(roots: Iterable[Path], exclude: Sequence[str] = ()) -> list[Path]:
    """Python files under roots, sorted (a stable order makes a stable cache key).

    exclude: folder names to leave out (e.g. projects held out for evaluation).
    """
    skip = SKIP_PARTS | set(exclude)
    found: list[Path] = []
    for root in roots:
        for folder, dirs, names in os.walk(root):
            dirs[:] = [d for d in dirs if d not in skip]  # prune: never walk skipped trees
            for name in names:
                if not name.endswith(".py"):
                    continue
                path = Path(folder, name)
                try:
                    if path.is_file() and path.stat().st_size <= MAX_FILE_BYTES:
                        found.append(path)
                except OSError:
                    continue
    return sorted(found)


def index_key(tokenizer: Tokenizer, files: Sequence[Path]) -> str:
    h = hashlib.sha256(f"v{INDEX_VERSION}:{MAX_ORDER}".encode())
    h.update(tokenizer.to_str().encode())
    for path in files:
        st = path.stat()
        h.update(f"{path}\0{st.st_size}\0{int(st.st_mtime)}\n".encode())
    return h.hexdigest()[:20]


def read_sources(files: Sequence[Path]) -> list[str]:
    texts = []
    for path in files:
        try:
            texts.append(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError):
            continue  # a few stdlib test files are deliberately not UTF-8
    return texts


def build_index(tokenizer: Tokenizer, files: Sequence[Path], separator: int) -> TokenIndex:
    docs: list[np.ndarray] = []
    for at in range(0, len(files), TOKENIZE_BATCH):  # an encoding weighs ~50x its ids
        texts = read_sources(files[at : at + TOKENIZE_BATCH])
        docs += [np.asarray(enc.ids, np.uint16) for enc in tokenizer.encode_batch(texts)]
    return TokenIndex.build(docs, separator)


def load_or_build(tokenizer: Tokenizer, separator: int, roots: Sequence[Path] | None = None,
                  exclude: Sequence[str] = (), on_build: Callable[[Path], None] | None = None) -> TokenIndex:
    """The cached index of the Python files under roots (default: `default_files`).

    on_build: called with the cache folder when this call builds the index (a minute or two).
    """
    files = python_files(roots, exclude) if roots is not None else default_files(exclude)
    path = cache_dir() / f"token-index-{index_key(tokenizer, files)}"
    if (cached := loaded(path)) is not None:
        return cached
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(path.with_name(path.name + ".lock"), "w")  # noqa: SIM115 - held while building
    except OSError as exc:
        log.warning("could not cache the corpus index: %s", exc)
        return build_index(tokenizer, files, separator)
    with lock:
        # One process builds; the others (a test suite, a second editor) wait and load it.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (cached := loaded(path)) is not None:
            return cached
        log.info("building the corpus index over %d files (once; cached in %s)", len(files), path.parent)
        if on_build is not None:
            on_build(path.parent)
        index = built_in_child(tokenizer, files, separator, path)
        if index is None:  # no child could build it (or save it): here, as before
            index = build_index(tokenizer, files, separator)
            try:
                index.save(path)
            except OSError as exc:
                log.warning("could not cache the corpus index: %s", exc)
        prune_stale(path)
        return index


def loaded(path: Path) -> TokenIndex | None:
    """The cached index at path, marked used; None when there is none or it is corrupt (rebuilt)."""
    if not path.exists():
        return None
    try:
        index = TokenIndex.load(path)
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
        log.warning("rebuilding the corpus index: %s", exc)
        return None
    mark_used(path)
    return index


def built_in_child(tokenizer: Tokenizer, files: Sequence[Path], separator: int,
                   path: Path) -> TokenIndex | None:
    """The index a child process built and saved at path (index_child: the peak stays there).

    None when it could not: no process could start, it failed, or what it saved does not load.
    """
    job = json.dumps({"tokenizer": tokenizer.to_str(), "files": [str(f) for f in files],
                      # Not in to_str(): whether `<|pad|>` in a source file is text or the token.
                      "encode_special_tokens": tokenizer.encode_special_tokens,
                      "separator": separator, "path": str(path)})
    try:
        # Its stdout goes nowhere: the language server's stdout is the protocol.
        done = subprocess.run([sys.executable, "-m", "diffill.infill.drafts.index_child"], input=job,
                              text=True, stdout=subprocess.DEVNULL, check=False)
        if done.returncode != 0:
            raise OSError(f"the child exited with {done.returncode}")
        return TokenIndex.load(path)
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
        log.warning("building the corpus index in this process instead: %s", exc)
        return None


def mark_used(path: Path) -> None:
    """Touch the index's meta.json: its time says when a process last loaded it."""
    try:
        os.utime(path / "meta.json")
    except OSError:
        pass  # a read-only cache still serves


def prune_stale(keep: Path, now: float | None = None) -> None:
    """Delete the other cached indexes no process loaded for STALE_DAYS.

    Each Python and set of installed packages has its own index (about 200 MB); without
    this, every virtual environment a user ever made would keep one.
    """
    cutoff = (time.time() if now is None else now) - STALE_DAYS * 86_400
    for other in keep.parent.glob("token-index-*"):
        if other == keep or not other.is_dir() or other.suffix == ".tmp":
            continue
        try:
            stale = (other / "meta.json").stat().st_mtime < cutoff
        except OSError:
            continue  # incomplete: being built, or not an index
        if stale:
            shutil.rmtree(other, ignore_errors=True)
            other.with_name(other.name + ".lock").unlink(missing_ok=True)


class BackgroundIndex:
    """Builds or loads the corpus index off the request path; None until it is ready."""

    def __init__(self, tokenizer: Tokenizer, separator: int, roots: Sequence[Path] | None = None,
                 exclude: Sequence[str] = (), start: bool = True,
                 on_build: Callable[[Path], None] | None = None) -> None:
        self._index: TokenIndex | None = None
        self._ready = threading.Event()
        self._args = (tokenizer, separator, roots, tuple(exclude))
        self.exclude = tuple(exclude)  # the projects it leaves out, for others that read installed code
        self._on_build = on_build
        self.error: str | None = None
        if start:
            threading.Thread(target=self._run, name="diffill-corpus-index", daemon=True).start()

    def _run(self) -> None:
        try:
            tokenizer, separator, roots, exclude = self._args
            self._index = load_or_build(tokenizer, separator, roots, exclude, self._on_build)
        except Exception as exc:  # noqa: BLE001 - the engine works without it; say why
            self.error = f"{type(exc).__name__}: {exc}"
            log.warning("corpus index unavailable: %s", self.error)
        finally:
            self._ready.set()

    def get(self, wait: float | None = 0.0) -> TokenIndex | None:
        """The index, waiting at most `wait` seconds (None: until it is built)."""
        self._ready.wait(wait)
        return self._index
