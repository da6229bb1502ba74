"""File names from the server: ``Content-Disposition`` names a download whose row gave no better name.

The rule (:func:`url_named`): the server's name is used only when the row's file name came from its URL
alone, that is when the row is a plain URL (or a mapping without ``local_path``), or a manifest row whose
``local_path`` ends in the URL's last path segment (as is, or with runs of characters outside
``[A-Za-z0-9._+-]`` turned into ``_``, as resolvers spell them) and that segment has no type extension
(``.../dataPortal/file/FORS2.2021-01-02T00:59:12.533``: ``.533`` is not one; ``evt2.fits.gz`` has one).
The server's name (RFC 6266; ``filename*`` of RFC 5987/8187 before ``filename``) then replaces the last
component only, in the folder the manifest or template chose, after :func:`vodaxa.manifest.safe_file_name`;
a refused name, or one another file of the run is written to, leaves the URL's name.

The ``.part`` file and its state stay under the URL's name, so a resume never depends on a header; the
answer that completes the file names it.  A name that differs from the URL's is recorded in the folder's
:data:`INDEX` so a rerun finds the complete file under it without the network.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from ..errors import ResolveError
from ..manifest import safe_file_name
from .decompress import decompressed_name
from .partial import read_private, write_private

__all__ = [
    "INDEX",
    "URL_NAMED",
    "ServerName",
    "content_disposition_name",
    "recorded",
    "recorded_owner",
    "server_name",
    "url_name",
    "url_named",
]

log = logging.getLogger(__name__)

INDEX = ".vodaxa-names.json"  # per folder: {URL's name: {"url": ..., "name": the server's name}}
URL_NAMED = "_name_from_url"  # row key set by download() on rows made from plain URLs
_EXTENSION = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,7}$")
_ESCAPE = re.compile(r"[^A-Za-z0-9._+-]+")  # characters the generic DataLink resolver turns into "_"
_EXT_VALUE = re.compile(r"^([A-Za-z0-9!#$&+^_`{}~-]+)'[^']*'(.*)$", re.S)
_CHARSETS = {"utf-8": "utf-8", "iso-8859-1": "latin-1", "us-ascii": "ascii"}
_OURS = (".part", ".part.json", ".tmp")  # names of vodaxa's own working files: never a server's to take
_LOCK = threading.Lock()  # index updates come from the event loop and from local-mirror copy threads
_OWNERS: dict[Path, tuple[tuple[int, int, int], dict[str, str]]] = {}  # folder -> (index stamp, {name: URL})
_CACHE: dict[Path, tuple[tuple[int, int, int], dict[str, Any]]] = {}  # folder -> (index inode, mtime, size; content)


def url_name(url: str) -> str:
    """The URL's last path segment, percent-decoded (``index`` for a URL ending in ``/``)."""
    try:
        path = urlsplit(url).path
    except ValueError:  # unparseable (refused before any request); a name is still needed to report it
        path = url.split("?", 1)[0]
    return unquote(path.rstrip("/").rsplit("/", 1)[-1]) or "index"


def url_named(row: Mapping[str, Any]) -> bool:
    """Whether ``row``'s file name came from its URL alone, so the server's name may replace it."""
    if row.get(URL_NAMED):
        return True
    local, url = row.get("local_path"), row.get("url")
    if not isinstance(local, str) or not isinstance(url, str):
        return False
    leaf = url_name(url)
    name = PurePosixPath(local).name
    same = name == leaf or name == _ESCAPE.sub("_", leaf).strip("_")  # as resolvers spell unsafe characters
    return same and not _EXTENSION.search(leaf)


def content_disposition_name(value: str | None) -> str | None:
    """The file name a ``Content-Disposition`` value gives (``filename*`` first), unsanitised; None if none."""
    if not value:
        return None
    params: dict[str, str] = {}
    for part in _split(value):
        key, sep, raw = part.partition("=")
        if sep:
            params.setdefault(key.strip().lower(), _unquote(raw.strip()))
    extended = params.get("filename*")
    if extended is not None:
        match = _EXT_VALUE.match(extended.strip())
        charset = _CHARSETS.get(match.group(1).lower()) if match else None
        if match and charset:
            try:
                return unquote(match.group(2), encoding=charset, errors="strict")
            except UnicodeDecodeError:
                log.info("Content-Disposition filename* is not valid %s: %r", charset, extended[:80])
    return params.get("filename")


def _split(value: str) -> list[str]:
    """The ``;``-separated parts of a header value, ``;`` inside quoted strings kept."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for ch in value:
        if escaped:
            escaped = False
        elif quoted and ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


def _unquote(raw: str) -> str:
    """A token as is, a quoted string without its quotes and backslash escapes."""
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return re.sub(r"\\(.)", r"\1", raw[1:-1], flags=re.S)
    return raw


def server_name(value: str | None, url: str = "") -> str | None:
    """The sanitised name a ``Content-Disposition`` gives, or None (none given, or refused: logged)."""
    raw = content_disposition_name(value)
    if raw is None:
        return None
    try:
        name = safe_file_name(raw)
    except ResolveError as err:
        log.warning("%s: ignoring the server's file name: %s", url, err)
        return None
    if name.endswith(_OURS) or name == INDEX:
        log.warning("%s: ignoring the server's file name %r: vodaxa uses such names for partial files", url, name)
        return None
    return name


@dataclass(eq=False)
class ServerName:
    """Where a URL-named file lands: ``provisional`` until an answer names it (shared ``taken`` avoids clashes)."""

    provisional: Path
    url: str
    taken: set[Path] = field(default_factory=set)  # every path some file of this run is written to
    final: Path | None = None
    previous: Path | None = None  # where an earlier run installed it (:func:`recorded`): this file's to reuse

    @property
    def path(self) -> Path:
        """The path the file goes to as far as known now."""
        return self.final or self.provisional

    def offer(self, headers: Mapping[str, str]) -> Path:
        """Take the name an answer gives (if usable and free); return the path the file now goes to."""
        name = server_name(headers.get("Content-Disposition"), self.url)
        if name is None or name == self.path.name:
            return self.path
        candidate = self.provisional.with_name(name)
        own = (self.provisional, self.previous, self.final)
        unpacked = decompressed_name(candidate)  # (what other files unpack to is in ``taken`` already)
        if (candidate in self.taken or unpacked in self.taken) and candidate not in own:
            log.warning("%s: the server names it %r, which another file of this download uses; keeping %r",
                        self.url, name, self.path.name)  # fmt: skip
            return self.path
        if candidate not in own and (candidate.exists() or (unpacked is not None and unpacked.exists())):
            log.warning("%s: the server names it %r, but a file of that name is already there and is not this "
                        "URL's; keeping %r", self.url, name, self.path.name)  # fmt: skip
            return self.path
        if self.final is not None and self.final != self.provisional:
            self.taken.discard(self.final)
            log.info("%s: the server now names it %r (was %r)", self.url, name, self.final.name)
        self.final = candidate
        self.taken.add(candidate)
        return candidate

    def settle(self) -> None:
        """Record (or forget) the server's name in the folder's index once the file is installed."""
        _write(self.provisional, self.url, self.final if self.final != self.provisional else None)


def recorded(provisional: Path, url: str) -> Path | None:
    """The path an earlier run installed ``url`` under, from the folder's index (None if none recorded).

    The index is a file on disk, trusted no more than a header: the name must be a safe file name and not
    one of vodaxa's working files, and a file there must be the one this run installed (its size and
    modification time as recorded), so a hand-edited entry can neither claim nor delete another file.
    """
    entry = _read(provisional.parent).get(provisional.name)
    if not isinstance(entry, dict) or entry.get("url") != url or not isinstance(entry.get("name"), str):
        return None
    try:
        name = safe_file_name(entry["name"])
    except ResolveError:
        return None
    if name.endswith(_OURS) or name == INDEX:
        return None
    path = provisional.with_name(name)
    try:
        stat = path.stat()
    except OSError:
        return path  # not there (any more): nothing of anyone's to claim
    if entry.get("size") != stat.st_size or entry.get("mtime_ns") != stat.st_mtime_ns:
        return None
    return path


def recorded_owner(path: Path) -> str | None:
    """The URL whose file an earlier run installed under ``path`` by the server's name, if any."""
    try:
        stamp = _stamp((path.parent / INDEX).stat())
    except OSError:
        return None  # no index: nothing recorded
    owners = _OWNERS.get(path.parent)
    if owners is None or owners[0] != stamp:  # the reverse map, built once per version of the index
        data = _read(path.parent)
        entries = [e for e in data.values() if isinstance(e, dict)]
        names = {
            e["name"]: e["url"] for e in entries if isinstance(e.get("name"), str) and isinstance(e.get("url"), str)
        }
        owners = _OWNERS[path.parent] = (stamp, names)
    return owners[1].get(path.name)


def _read(folder: Path) -> dict[str, Any]:
    """The folder's index (a copy), read once per change of the file (a run plans many files per folder)."""
    try:
        stat = (folder / INDEX).stat()
    except OSError:
        return {}
    stamp = _stamp(stat)
    cached = _CACHE.get(folder)
    if cached is None or cached[0] != stamp:
        try:
            data = json.loads(read_private(folder / INDEX) or "{}")
        except ValueError:
            data = {}
        cached = (stamp, data if isinstance(data, dict) else {})
        _CACHE[folder] = cached
    return dict(cached[1])


def _stamp(stat: os.stat_result) -> tuple[int, int, int]:
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


def _write(provisional: Path, url: str, final: Path | None) -> None:
    """Update one entry of the folder's index atomically."""
    with _LOCK:
        _update(provisional, url, final)


def _update(provisional: Path, url: str, final: Path | None) -> None:
    data = _read(provisional.parent)
    if final is None:
        if data.pop(provisional.name, None) is None:
            return
    else:
        entry: dict[str, Any] = {"url": url, "name": final.name}
        try:
            stat = final.stat()
            entry.update(size=stat.st_size, mtime_ns=stat.st_mtime_ns)  # which file it is, for recorded()
        except OSError:
            pass
        if data.get(provisional.name) == entry:
            return
        data[provisional.name] = entry
    index = provisional.parent / INDEX
    if not data:
        index.unlink(missing_ok=True)
        _CACHE.pop(provisional.parent, None)
        return
    write_private(index, json.dumps(data, indent=1, sort_keys=True))
    _CACHE[provisional.parent] = (_stamp(index.stat()), data)  # what was just written, however coarse mtime is
