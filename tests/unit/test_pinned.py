from __future__ import annotations

import json
from pathlib import Path

import pytest

from diffill.model import corpus, pinned
from diffill.model.pinned import PinnedFileError, download_pinned, file_urls

INDEX = "https://index.example/simple"
ARCHIVE = b"not really a tarball"


def fake_index(pages: dict[str, tuple[bytes, str]], asked: list[str]):
    def read(url: str, accept: str | None = None) -> tuple[bytes, str]:
        asked.append(url)
        if url not in pages:
            raise OSError(f"404 {url}")
        return pages[url]
    return read


def test_the_pinned_file_is_fetched_by_name_from_the_json_page(tmp_path: Path, monkeypatch):
    page = json.dumps({"files": [
        {"filename": "Demo_Pkg-1.0-py3-none-any.whl", "url": "../../files/wheel"},
        {"filename": "demo_pkg-1.0.tar.gz", "url": "../../files/demo_pkg-1.0.tar.gz"},
    ]}).encode()
    asked: list[str] = []
    monkeypatch.setattr(pinned, "read", fake_index({
        f"{INDEX}/demo-pkg/": (page, "application/vnd.pypi.simple.v1+json"),
        "https://index.example/files/demo_pkg-1.0.tar.gz": (ARCHIVE, "application/octet-stream"),
    }, asked))
    target = download_pinned("Demo_Pkg", "demo_pkg-1.0.tar.gz", tmp_path / "cache", index=INDEX)
    assert target.read_bytes() == ARCHIVE
    assert asked == [f"{INDEX}/demo-pkg/", "https://index.example/files/demo_pkg-1.0.tar.gz"]
    assert [p.name for p in target.parent.iterdir()] == ["demo_pkg-1.0.tar.gz"]  # no partial file left
    # cached: the index is not asked again
    monkeypatch.setattr(pinned, "read", lambda *a, **k: pytest.fail("fetched again"))
    assert download_pinned("Demo_Pkg", "demo_pkg-1.0.tar.gz", tmp_path / "cache", index=INDEX) == target


def test_an_html_index_page_is_read_too():
    page = (b'<html><body><a href="https://files.example/a/demo-1.0.tar.gz#sha256=ab">demo-1.0.tar.gz</a>\n'
            b'<a href="/b/demo-1.0.zip" data-requires-python="&gt;=3.8">demo-1.0.zip</a></body></html>')
    urls = file_urls(page, "text/html", f"{INDEX}/demo/")
    assert urls == {"demo-1.0.tar.gz": "https://files.example/a/demo-1.0.tar.gz",
                    "demo-1.0.zip": "https://index.example/b/demo-1.0.zip"}


def test_a_file_the_index_does_not_list_or_cannot_serve_is_a_clear_error(tmp_path: Path, monkeypatch):
    page = json.dumps({"files": [{"filename": "demo-2.0.tar.gz", "url": "x"}]}).encode()
    monkeypatch.setattr(pinned, "read", fake_index({f"{INDEX}/demo/": (page, "application/json")}, []))
    with pytest.raises(PinnedFileError, match="does not list demo-1.0.tar.gz"):
        download_pinned("demo", "demo-1.0.tar.gz", tmp_path, index=INDEX)
    monkeypatch.setattr(pinned, "read", fake_index({}, []))
    with pytest.raises(PinnedFileError, match="could not fetch"):
        download_pinned("demo", "demo-1.0.tar.gz", tmp_path, index=INDEX)
    assert not list(tmp_path.iterdir())


def test_the_corpus_rejects_a_fetched_archive_whose_hash_is_not_the_pin(tmp_path: Path, monkeypatch):
    page = json.dumps({"files": [{"filename": "demo-1.0.tar.gz", "url": "/f/demo-1.0.tar.gz"}]}).encode()
    monkeypatch.setenv("PIP_INDEX_URL", INDEX)
    monkeypatch.setattr(pinned, "read", fake_index({
        f"{INDEX}/demo/": (page, "application/json"),
        "https://index.example/f/demo-1.0.tar.gz": (ARCHIVE, "application/octet-stream"),
    }, []))
    entry = {"name": "demo", "filename": "demo-1.0.tar.gz", "sha256": "0" * 64}
    with pytest.raises(corpus.CorpusError, match="manifest says"):
        corpus.fetch_sdist(entry, tmp_path)
