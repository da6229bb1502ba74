"""On-disk cache of TAP answers, keyed by endpoint, ADQL and uploads, with a time-to-live.

Answers are stored as the VOTables they came as (no pickles), under the platform cache directory.
``VODAXA_QUERY_CACHE=0`` (or ``QueryCache(enabled=False)``) turns it off.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from astropy.table import Table

from ..compat import safe_votable_writer
from ..config import cache_dir
from ..quiet import quiet
from .uploads import votable_bytes

safe_votable_writer()  # answers are cached as VOTables (see vodaxa.compat)

__all__ = ["QueryCache", "default_cache"]


@dataclass
class QueryCache:
    """Cached answers older than ``ttl`` seconds are ignored (and replaced)."""

    directory: Path | None = None
    ttl: float = 24 * 3600.0
    enabled: bool = True

    def _dir(self) -> Path:
        path = self.directory or cache_dir("queries")
        path.mkdir(parents=True, exist_ok=True)
        return path

    @staticmethod
    def key(url: str, adql: str, uploads: Mapping[str, Table | bytes] | None = None) -> str:
        """A digest of everything that determines the answer (uploads as tables or as the VOTables sent)."""
        digest = hashlib.sha256(f"{url}\n{adql}".encode())
        for name in sorted(uploads or {}):
            upload = (uploads or {})[name]
            body = upload if isinstance(upload, bytes) else votable_bytes(upload)
            digest.update(name.encode() + b"\0" + body)
        return digest.hexdigest()

    def get(self, key: str) -> Table | None:
        """The cached table, or None when absent, expired or disabled."""
        if not self.enabled:
            return None
        path = self._dir() / f"{key}.xml"
        try:
            if time.time() - path.stat().st_mtime > self.ttl:
                return None
            with quiet():
                return Table.read(path, format="votable")
        except (OSError, ValueError):
            return None

    def put(self, key: str, table: Table) -> None:
        """Store ``table`` atomically (written aside, then renamed)."""
        if not self.enabled:
            return
        path = self._dir() / f"{key}.xml"
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")  # threads of one process too
        with quiet():
            table.write(tmp, format="votable", overwrite=True)
        os.replace(tmp, path)

    def clear(self) -> int:
        """Remove every cached answer; returns how many there were."""
        files = list(self._dir().glob("*.xml"))
        for f in files:
            f.unlink(missing_ok=True)
        return len(files)


def default_cache() -> QueryCache:
    """The process's cache, honouring ``VODAXA_QUERY_CACHE`` (0/off/false disables it)."""
    flag = os.environ.get("VODAXA_QUERY_CACHE", "1").strip().lower()
    return QueryCache(enabled=flag not in ("0", "off", "false", "no"))
