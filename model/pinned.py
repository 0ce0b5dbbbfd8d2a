"""Pinned source archives from the package index, fetched by exact file name.

No build step runs. `pip download` of an sdist prepares its metadata by running the
project's build backend (setup.py, meson, scikit-build): a minute a package from source, a
compiler for some, and code from the archive executed. The index's simple API (PEP 691 JSON,
or the PEP 503 HTML page) names every file of a project with its URL, so the pinned file is
fetched as bytes; the caller checks its sha256 against the pin.
"""

from __future__ import annotations

import html
import json
import os
import re
import ssl
import urllib.request
from pathlib import Path
from urllib.parse import urljoin

DEFAULT_INDEX = "https://pypi.org/simple"
TIMEOUT_S = 120
ANCHOR = re.compile(r"""<a\s[^>]*href=["']([^"']+)["'][^>]*>([^<]+)</a>""", re.I)


class PinnedFileError(Exception):
    """The index does not list the pinned file, or it could not be fetched."""


def index_url() -> str:
    """The index pip would use (PIP_INDEX_URL), else PyPI's."""
    return os.environ.get("PIP_INDEX_URL", DEFAULT_INDEX).rstrip("/")


def project_url(index: str, name: str) -> str:
    return f"{index}/{re.sub(r'[-_.]+', '-', name).lower()}/"  # PEP 503 normalized name


def ssl_context() -> ssl.SSLContext:
    # The certificate bundle pip is configured with, where one is (PIP_CERT).
    cert = os.environ.get("PIP_CERT")
    return ssl.create_default_context(cafile=cert) if cert else ssl.create_default_context()


def read(url: str, accept: str | None = None) -> tuple[bytes, str]:
    """The body and content type at url."""
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    context = ssl_context() if url.startswith("https:") else None
    with urllib.request.urlopen(request, timeout=TIMEOUT_S, context=context) as response:
        return response.read(), response.headers.get("Content-Type", "")


def file_urls(page: bytes, content_type: str, base: str) -> dict[str, str]:
    """File name -> absolute URL, from a project's simple-API page (JSON or HTML)."""
    if "json" in content_type:
        return {f["filename"]: urljoin(base, f["url"]) for f in json.loads(page)["files"]}
    text = page.decode("utf-8", "replace")
    return {html.unescape(name).strip(): urljoin(base, html.unescape(href).split("#", 1)[0])
            for href, name in ANCHOR.findall(text)}


def download_pinned(name: str, filename: str, folder: Path, index: str | None = None) -> Path:
    """folder/filename, downloaded from the index unless it is there already (not hash-checked)."""
    target = folder / filename
    if target.is_file():
        return target
    base = project_url(index or index_url(), name)
    try:
        page, content_type = read(base, "application/vnd.pypi.simple.v1+json, text/html;q=0.1")
        url = file_urls(page, content_type, base).get(filename)
        if url is None:
            raise PinnedFileError(f"{base} does not list {filename}")
        data, _ = read(url)
    except (OSError, ValueError, KeyError) as exc:  # URLError is an OSError
        raise PinnedFileError(f"could not fetch {filename} from {base}: {exc}") from exc
    folder.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    partial.write_bytes(data)
    partial.replace(target)  # never a truncated archive under the real name
    return target
