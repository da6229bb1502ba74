"""Mirrors: other places holding the same files (HEASARC's S3 copy, a CDA mirror, a local directory).

``mirrors`` maps an archive name (its file tree's base URL from the endpoints) or any URL prefix to
one or more alternative bases; a file under that prefix is tried at each mirror in order, then at
its own URL.  A base that is not an http(s) URL is a local directory holding the same layout.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import unquote

from ..config import endpoints
from ..errors import ConfigError

__all__ = ["ARCHIVE_TREES", "candidates", "normalise"]

#: The endpoint whose URL is the root of each archive's file tree (what a mirror replicates).
ARCHIVE_TREES = {"heasarc": "ftp", "cxc": "cdaftp", "eso": "dataportal", "erosita": "dr1"}


def normalise(mirrors: Mapping[str, str | Sequence[str]] | None) -> list[tuple[str, list[str]]]:
    """``[(prefix, [alternative bases])]``, longest prefix first, archive names turned into their tree URLs."""
    if mirrors is None:
        return []
    if not isinstance(mirrors, Mapping):
        raise ConfigError(f"mirrors={mirrors!r}: give a dict {{archive or URL prefix: base URL or folder, or a list "
                          "of them}, e.g. {'heasarc': '/data/heasarc'}")  # fmt: skip
    out = []
    for key, bases in mirrors.items():
        if key in ARCHIVE_TREES:
            prefix = endpoints.get(key, ARCHIVE_TREES[key])
        elif isinstance(key, str) and key.startswith(("http://", "https://")):
            prefix = key
        else:
            known = ", ".join(ARCHIVE_TREES)
            raise ConfigError(f"mirror key {key!r} is neither an archive ({known}) nor an http(s) URL prefix")
        out.append((prefix, [_base(os.fspath(b)) for b in _places(key, bases)]))
    return sorted(out, key=lambda item: -len(item[0]))


def _places(key: str, bases: object) -> list[str | os.PathLike]:
    """A mirror's bases as a list: one base URL or folder, or a list of them (tried in order)."""
    listed = [bases] if isinstance(bases, (str, os.PathLike)) else bases
    if not isinstance(listed, Sequence) or not all(isinstance(b, (str, os.PathLike)) for b in listed):
        raise ConfigError(f"mirror {key!r}: {bases!r} is not a base URL or folder; give one (a str or Path) "
                          "or a list of them, e.g. {'heasarc': ['https://example.org/heasarc/']}")  # fmt: skip
    return list(listed)


def _base(base: str) -> str:
    if base.startswith(("http://", "https://")):
        return base if base.endswith("/") else base + "/"
    path = Path(base).expanduser()
    if not path.is_dir():
        raise ConfigError(f"mirror directory {base!r} does not exist; give an existing folder or an http(s) URL")
    return str(path.resolve()) + "/"


def candidates(url: str, mirrors: list[tuple[str, list[str]]]) -> list[str]:
    """Where to look for ``url``: each mirror's copy (URLs, or local paths), then ``url`` itself."""
    for prefix, bases in mirrors:
        if url.startswith(prefix):
            rest = url[len(prefix) :].lstrip("/").split("?", 1)[0]
            found = [b + rest if b.startswith("http") else _inside(b, unquote(rest)) for b in bases]
            return [*(f for f in found if f), url]
    return [url]


def _inside(base: str, relative: str) -> str | None:
    """``base/relative`` if it stays inside the local mirror ``base`` (no ``..`` escapes), else None."""
    path = (Path(base) / relative).resolve()
    return str(path) if path.is_relative_to(Path(base).resolve()) else None
