"""What a partial download leaves beside its final name, shared by whole-file and ranged fetches:
``<name>.part`` (the bytes) and ``<name>.part.json`` (the URL, the server's validator, and for
ranged fetches the segment map), plus how to read a validator and a Content-Range.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

__all__ = ["CONTENT_RANGE", "part_path", "state_path", "validator"]

#: ``Content-Range: bytes first-last/total`` (total may be ``*``).
CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


def part_path(path: Path) -> Path:
    """Where the bytes of ``path`` accumulate until verified."""
    return path.with_name(path.name + ".part")


def state_path(path: Path) -> Path:
    """Where the validator (and segment map) of ``path``'s partial file is kept."""
    return path.with_name(path.name + ".part.json")


def validator(headers: Mapping[str, str]) -> dict[str, str]:
    """The strong validator for If-Range: a strong ETag, else Last-Modified (empty if neither)."""
    etag = headers.get("ETag", "")
    if etag and not etag.startswith("W/"):
        return {"etag": etag}
    modified = headers.get("Last-Modified")
    return {"last_modified": modified} if modified else {}
