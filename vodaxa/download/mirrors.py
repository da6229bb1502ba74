"""Mirrors: other places holding the same files (HEASARC's S3 copy, a CDA mirror, a local directory).

``mirrors`` maps an archive name (its file tree's base URL from the endpoints) or any URL prefix to
one or more alternative bases; a file under that prefix is tried at each mirror in order, then at
its own URL.  A base that is not an http(s) URL is a local directory holding the same layout.
"""

from __future__ import annotations

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
    out = []
    for key, bases in (mirrors or {}).items():
        if key in ARCHIVE_TREES:
            prefix = endpoints.get(key, ARCHIVE_TREES[key])
        elif key.startswith(("http://", "https://")):
            prefix = key
        else:
            known = ", ".join(ARCHIVE_TREES)
            raise ConfigError(f"mirror key {key!r} is neither an archive ({known}) nor an http(s) URL prefix")
        listed = [bases] if isinstance(bases, (str, Path)) else list(bases)
        out.append((prefix, [_base(str(b)) for b in listed]))
    return sorted(out, key=lambda item: -len(item[0]))


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
