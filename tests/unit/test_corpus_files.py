"""Which files the corpus index reads: the standard library, then each installed package capped."""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer

from diffill.infill.bench import benchmark_modules
from diffill.infill.drafts import corpus_index
from diffill.infill.drafts.corpus_index import distribution_modules, load_or_build, package_files, sampled
from diffill.model.checkpoint import DEFAULT_CHECKPOINT


def write(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x = 1\n" * (size // 6))
    return path


def test_a_large_package_gives_only_its_cap_and_small_ones_give_everything(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus_index, "PACKAGE_CAP_BYTES", 6_000)
    site = tmp_path / "site-packages"
    big = [write(site / "big" / f"m{i}.py", 1_200) for i in range(20)]
    small = [write(site / "small" / "core.py", 1_200), write(site / "small" / "sub" / "util.py", 600)]
    module = write(site / "single.py", 300)
    write(site / "big-1.0.dist-info" / "record.py", 300)  # metadata, not code
    write(site / "small" / "__pycache__" / "core.py", 300)

    files = package_files(site)

    taken = [f for f in files if f.parent.name == "big"]
    assert 0 < sum(f.stat().st_size for f in taken) <= 6_000 and len(taken) < len(big)
    assert set(small) <= set(files) and module in files
    assert not any("dist-info" in str(f) or "__pycache__" in str(f) for f in files)
    assert package_files(site) == files  # the same cut every time: the cache key stays stable


def test_excluded_modules_leave_folders_and_single_files_out(tmp_path):
    site = tmp_path / "site-packages"
    write(site / "heldout" / "core.py", 600)
    write(site / "bottle.py", 600)
    write(site / "other" / "_vendor" / "heldout" / "api.py", 600)  # a vendored copy
    kept = write(site / "other" / "main.py", 600)
    assert package_files(site, exclude=["heldout", "bottle"]) == [kept]


def test_the_sample_is_spread_and_bounded(tmp_path):
    files = [write(tmp_path / f"f{i:02d}.py", 1_000) for i in range(30)]
    picked = sampled(files, 10_000, tmp_path)
    assert len(picked) == 10 and picked == sorted(picked)
    assert picked != files[:10]  # not the alphabetical head


def test_the_same_packages_give_the_same_files_wherever_they_are_installed(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus_index, "PACKAGE_CAP_BYTES", 6_000)
    chosen = []
    for home in ("one/venv", "two/elsewhere/venv"):
        site = tmp_path / home / "site-packages"
        for i in range(20):
            write(site / "big" / f"m{i}.py", 1_200)
        chosen.append([f.relative_to(site) for f in package_files(site)])
    assert chosen[0] == chosen[1]


def test_distribution_modules_reads_what_an_installed_project_provides():
    assert "attr" in distribution_modules(["attrs"]) and "attrs" in distribution_modules(["attrs"])
    assert distribution_modules(["no-such-project-here"]) == []


def test_benchmarks_leave_out_their_projects_under_their_import_names():
    modules = benchmark_modules()
    # dev projects whose import name differs from the project's, a single-module project,
    # and one pip vendors
    assert {"dateutil", "jwt", "dotenv", "pycodestyle", "bottle", "platformdirs"} <= set(modules)


def test_an_unreadable_site_folder_gives_nothing_and_no_error(tmp_path):
    assert package_files(tmp_path / "missing") == []


class RecordedIndex:
    """Stands in for the corpus index: records what it was asked to leave out, builds nothing."""

    made: list[tuple[str, ...]] = []

    def __init__(self, tokenizer, separator, roots=None, exclude=(), start=True, on_build=None):  # noqa: ANN001
        RecordedIndex.made.append(tuple(exclude))

    def get(self, wait=0.0):  # noqa: ANN001
        return None


def test_only_an_evaluation_leaves_the_benchmark_projects_out_of_the_index(monkeypatch):
    import argparse

    from diffill.infill import cli, engine

    monkeypatch.setattr(engine, "BackgroundIndex", RecordedIndex)
    monkeypatch.setenv("DIFFILL_CORPUS_INDEX", "1")
    args = argparse.Namespace(model=None, device="cpu", dtype="fp32")
    RecordedIndex.made.clear()
    cli.load_engine(args)
    cli.load_engine(args, for_bench=True)
    editor, bench = RecordedIndex.made
    assert editor == ()
    assert {"anyio", "dateutil", "platformdirs"} <= set(bench)


def test_building_an_index_deletes_those_no_process_loaded_for_a_month(tmp_path):
    import os
    import time

    from diffill.infill.drafts.corpus_index import STALE_DAYS, mark_used, prune_stale

    def index(name: str, age_days: float) -> Path:
        folder = tmp_path / f"token-index-{name}"
        folder.mkdir()
        (folder / "meta.json").write_text("{}")
        (tmp_path / f"token-index-{name}.lock").write_text("")
        then = time.time() - age_days * 86_400
        os.utime(folder / "meta.json", (then, then))
        return folder

    new, recent = index("new", 0), index("recent", 3)
    old, used = index("old", STALE_DAYS + 1), index("used", 90)
    building = tmp_path / "token-index-half.tmp"
    building.mkdir()  # another process's build in progress: no meta.json yet
    mark_used(used)  # loaded now, however old its build
    prune_stale(new)
    assert new.exists() and recent.exists() and used.exists() and building.exists()
    assert not old.exists() and not (tmp_path / "token-index-old.lock").exists()


def cached_in(cache: Path, monkeypatch) -> Tokenizer:
    """The shipped tokenizer, with corpus indexes cached in `cache` for this test."""
    monkeypatch.setenv("DIFFILL_CACHE", str(cache))
    return Tokenizer.from_file(str(DEFAULT_CHECKPOINT / "tokenizer.json"))


def test_the_caller_hears_when_an_index_is_built_and_not_when_it_is_loaded(tmp_path, monkeypatch):
    tokenizer = cached_in(tmp_path / "cache", monkeypatch)
    write(tmp_path / "code" / "m.py", 600)
    heard: list[Path] = []
    load_or_build(tokenizer, 4, roots=[tmp_path / "code"], on_build=heard.append)
    load_or_build(tokenizer, 4, roots=[tmp_path / "code"], on_build=heard.append)  # cached now
    assert heard == [tmp_path / "cache"]


def test_a_child_process_builds_the_index_and_this_one_maps_it(tmp_path, monkeypatch):
    tokenizer = cached_in(tmp_path / "cache", monkeypatch)
    tokenizer.encode_special_tokens = True  # as the denoisers load it: `<|pad|>` in code is text
    (tmp_path / "code").mkdir()
    source = 'def main(pad="<|pad|>"):\n    return 0\n'
    (tmp_path / "code" / "m.py").write_text(source)

    def not_here(*args: object) -> None:
        raise AssertionError("built in the calling process")

    monkeypatch.setattr(corpus_index, "build_index", not_here)  # the child has its own
    index = load_or_build(tokenizer, 4, roots=[tmp_path / "code"])
    assert not isinstance(index.buf, bytes)  # memory-mapped from what the child saved
    assert index.tokens.tolist()[:-1] == tokenizer.encode(source).ids


def test_the_index_is_built_here_when_no_child_can(tmp_path, monkeypatch):
    tokenizer = cached_in(tmp_path / "cache", monkeypatch)
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "m.py").write_text("x = 1\n")
    monkeypatch.setattr(corpus_index.sys, "executable", str(tmp_path / "no-python"))
    index = load_or_build(tokenizer, 4, roots=[tmp_path / "code"])
    assert index.tokens.tolist()[:-1] == tokenizer.encode("x = 1\n").ids
    assert any((tmp_path / "cache").glob("token-index-*/meta.json"))  # and cached as before


def test_a_corrupt_cached_index_is_rebuilt(tmp_path, monkeypatch):
    tokenizer = cached_in(tmp_path / "cache", monkeypatch)
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "m.py").write_text("y = 2\n")
    first = load_or_build(tokenizer, 4, roots=[tmp_path / "code"]).tokens.tolist()
    [saved] = (tmp_path / "cache").glob("token-index-*/tokens.be16")
    saved.unlink()
    saved.write_bytes(b"\x00")  # truncated (a new file: the first index still maps the old one)
    again = load_or_build(tokenizer, 4, roots=[tmp_path / "code"])
    assert again.tokens.tolist() == first
