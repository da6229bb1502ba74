"""Download a manifest (or plain URLs) into a folder: concurrent, resumable, verified, never a corrupt file.

Each file goes to ``dest/<local_path>`` (resolvers lay manifests out as ``<mission>/<obs_id>/...``; pass
``template`` to choose another layout from the manifest's columns) through ``<name>.part``;
a complete file is skipped without touching the network; one file's failure never stops the others.
A file whose name came from its URL alone is named by the server's Content-Disposition (:mod:`.naming`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from string import Formatter
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from .._lazy import LazyModule, loaded
from ..config import endpoints
from ..errors import ConfigError, DownloadError, InputError, ResolveError, VodaxaError
from ..manifest import Manifest, digest_name, safe_relative_path
from ..net import HttpClient, HttpConfig, run_sync
from ..net.policy import url_problem
from . import disk, verified
from .decompress import decompress_file, decompressed_name
from .fetch import FileTask, confirm_on_disk, fetch_file, fsync_dirs, is_complete
from .locks import claim
from .mirrors import candidates, normalise
from .naming import INDEX as NAMES_INDEX
from .naming import URL_NAMED, ServerName, recorded, recorded_owner, url_name, url_named
from .progress import Progress
from .report import DownloadReport, FileResult

if TYPE_CHECKING:
    import pandas as pd

    from ..typing import ManifestSource, PathLike
else:
    pd = LazyModule("pandas")  # imported when a table is handed over


__all__ = [
    "DEFAULT_TEMPLATE",
    "DownloadReport",
    "FileResult",
    "download",
    "download_async",
    "host_limits",
]

log = logging.getLogger(__name__)

#: Where each file goes under the destination, by default: its manifest ``local_path`` (resolvers already write
#: ``<mission>/<obs_id>/<path>``).
DEFAULT_TEMPLATE = "{local_path}"


def host_limits(max_per_host: int | None = None) -> dict[str, int]:
    """Return the connections allowed per archive host, from the effective endpoints.

    Each archive sets a ceiling on parallel connections in its module (``max_connections``; the HTTP
    default, :attr:`vodaxa.net.HttpConfig.per_host`, when it sets none); every host of its endpoints gets it.

    Parameters
    ----------
    max_per_host : int, optional
        A lower limit for every host; it can only lower an archive's ceiling, never raise it.
        By default each archive's own ceiling.

    Returns
    -------
    dict of str to int
        ``{"host:port": connections}`` for every host of the effective endpoints (lower case).

    See Also
    --------
    download : Uses these limits unless given an ``http`` client.

    Examples
    --------
    >>> from vodaxa.downloader import host_limits
    >>> limits = host_limits(max_per_host=2)
    >>> max(limits.values())
    2
    """
    limits: dict[str, int] = {}
    from .. import archives

    known = archives.by_name()
    for archive, services in endpoints.table().items():
        ceiling = getattr(known.get(archive), "max_connections", None) or HttpConfig.per_host
        for url in services.values():
            host = urlsplit(url).netloc.lower()
            limits[host] = min(limits.get(host, ceiling), max_per_host or ceiling, ceiling)
    return limits


def _missing(value: Any) -> bool:
    """A table cell holding nothing (None, NaN, NA)."""
    if value is None:
        return True
    try:
        if value != value:  # NaN of any float type, numpy's NaT
            return True
    except (TypeError, ValueError):  # pandas' NA answers NA, an array answers an array
        pass
    if not loaded("pandas"):  # no pandas object (NA, NaT) can exist yet
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _rows(source: ManifestSource) -> list[dict[str, Any]]:
    """Manifest rows with a URL, or rows made from plain URLs (or mappings without ``local_path``): those are
    named after the URL's last segment until the server names them (see :mod:`.naming`)."""
    if isinstance(source, Manifest):
        return [cast("dict[str, Any]", r) for r in source.frame.to_dict("records") if r.get("url")]
    items: object = source
    if loaded("pandas") and isinstance(source, pd.DataFrame):  # manifest.files or a selection: its rows
        if "url" not in source.columns:
            raise InputError(f"download: the table has no 'url' column (its columns: {', '.join(map(str, source))})")
        items = [{k: v for k, v in r.items() if not _missing(v)} for r in source.to_dict("records")]
    if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Iterable):
        raise InputError(
            f"download takes a Manifest (from vodaxa.resolve) or a list of URLs, not {type(items).__name__}"
            + (" (a single URL: put it in a list)" if isinstance(items, str) else "")
        )
    rows = []
    for item in items:
        if not isinstance(item, (str, Mapping)):
            raise InputError(f"download: {item!r} is not a URL (a string) or a row (a mapping with 'url')")
        row: dict[str, Any] = {"url": item} if isinstance(item, str) else dict(item)
        if isinstance(row.get("url"), str) and not row.get("local_path"):
            row.update({"local_path": url_name(row["url"]), URL_NAMED: True})
        rows.append(row)
    return rows


class _Blank(dict):
    """Every field empty: a trial fill of a template, before any row is planned."""

    def __missing__(self, key: str) -> str:
        return ""


def _checked_template(template: Any) -> str:
    """``template`` if it fills in as a path from column names; else InputError now, since it would fail every row."""
    how = "name manifest columns in braces, e.g. '{obs_id}/{local_path}' (a literal brace is written '{{' or '}}')"
    if not isinstance(template, str) or not template.strip():
        raise InputError(f"template={template!r}: give a text template; {how}")
    try:
        names = [name for _, name, _, _ in Formatter().parse(template) if name is not None]
    except ValueError as err:
        raise InputError(f"template={template!r}: {err}; {how}") from None
    for name in names:
        if not name.isidentifier():
            raise InputError(f"template={template!r}: {{{name}}} is not a column name (no positions, attributes "
                             f"or indexes); {how}")  # fmt: skip
    try:
        template.format_map(_Blank())
    except (ValueError, IndexError, KeyError, TypeError, AttributeError) as err:
        raise InputError(f"template={template!r} cannot be filled in ({err}); {how}") from None
    return template


def _destination(dest: Any) -> Path:
    """``dest`` as an existing folder (made if needed); InputError if it is not a path or a file is in its way."""
    if not isinstance(dest, (str, os.PathLike)):
        raise InputError(f"dest={dest!r}: give the folder to download into (a str or Path)")
    path = Path(dest).expanduser()
    if path.exists() and not path.is_dir():
        raise InputError(f"the destination {path} is a file, not a folder; give a folder to download into")
    blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise InputError(f"the destination {path} cannot be made: {blocking} is a file, not a folder; "
                         "give a folder to download into")  # fmt: skip
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"the destination {path} cannot be made ({err.strerror or err}); give a folder you can "
                         "write to") from None  # fmt: skip
    try:  # once, up front: not one failure per file and advice to retry
        with tempfile.NamedTemporaryFile(dir=path, prefix=".vodaxa-write-test-"):
            pass
    except OSError as err:
        raise InputError(f"the destination {path} is not writable ({err.strerror or err}); give a folder you can "
                         "write to") from None  # fmt: skip
    return path


#: Bytes of one file name, and of a whole path, that POSIX file systems accept.
NAME_MAX, PATH_MAX = 255, 4096


def target_path(dest: Path, row: Mapping[str, Any], template: str, resolved: dict[Path, str] | None = None) -> Path:
    """Where ``row`` is written under ``dest``; raises DownloadError if it would land outside ``dest``.
    ``resolved`` caches the real paths of folders across the rows of one download."""
    values = {k: ("" if v is None else str(v)) for k, v in row.items()}
    values["obs_id"] = values.get("obs_id", "").split(",")[0]  # a file shared by observations goes once
    values.setdefault("mission", "")
    try:
        relative = template.format(**values)
    except KeyError as err:
        raise DownloadError(f"download template {template!r} names {err}, which the manifest lacks") from None
    try:
        clean = safe_relative_path(relative.strip("/"))  # empty template fields leave "//" or a leading "/"
    except ResolveError as err:
        raise DownloadError(f"refusing to write {relative!r}: {err}", url=row.get("url")) from None
    path = dest / clean
    room = NAME_MAX - len(".part.json.00000-00000.tmp")  # vodaxa's working files add to the name
    long = next((part for part in str(clean).split("/") if len(part.encode()) > room), None)
    if long is not None or len(str(path).encode()) > PATH_MAX:  # the disk would refuse it ("File name too long")
        what = f"the name {long[:60]!r}... is {len(long.encode())}" if long else f"the path is {len(str(path))}"
        what += " bytes"
        raise DownloadError(f"refusing to write {relative[:80]!r}...: {what}, more than the disk allows; give "
                            "the row a shorter local_path", url=row.get("url"))  # fmt: skip
    if path.name in (NAMES_INDEX, verified.INDEX):  # a downloaded file there would be overwritten or appended to
        raise DownloadError(f"refusing to write {relative!r}: vodaxa keeps its own records under that name",
                            url=row.get("url"))  # fmt: skip
    if _outside(dest, path, {} if resolved is None else resolved):  # a symlink inside dest pointing out of it
        raise DownloadError(f"refusing to write {relative!r}: it resolves outside {dest}", url=row.get("url"))
    return path


def _outside(dest: Path, path: Path, resolved: dict[Path, str]) -> bool:
    """Whether ``path`` resolves outside ``dest``, each folder resolved once (a download writes many files to
    few folders); the file's own name is followed only if it is a symbolic link."""
    folder = path.parent
    for each in (dest, folder):
        if each not in resolved:
            resolved[each] = os.path.realpath(each)
    full = os.path.join(resolved[folder], path.name)
    if os.path.islink(full):
        full = os.path.realpath(full)
    root = resolved[dest]
    return not (full == root or full.startswith(root.rstrip(os.sep) + os.sep))


def _keepers(planned: Sequence[tuple[Mapping[str, Any], Path]]) -> dict[Path, str]:
    """For each path several URLs would land on, the URL that keeps the plain name: the smallest, so the
    choice does not depend on the order rows come in (a rerun finds each file where the last run put it)."""
    urls: dict[Path, set[str]] = {}
    for row, path in planned:
        urls.setdefault(path, set()).add(str(row["url"]))
    return {path: min(found) for path, found in urls.items() if len(found) > 1}


def _beside(path: Path, url: str, taken: Mapping[Path, str]) -> Path:
    """A name next to ``path`` for another URL that would land on it (the same name on every run)."""
    return path.with_name(digest_name(path.name, url, lambda name: path.with_name(name) in taken))


async def download_async(
    source: ManifestSource,
    dest: PathLike,
    *,
    max_per_host: int | None = None,
    max_total: int | None = None,
    overwrite: bool = False,
    verify: bool | str = True,
    retries: int = 5,
    template: str = DEFAULT_TEMPLATE,
    decompress: bool | str = "auto",
    keep_compressed: bool = False,
    progress: bool = True,
    mirrors: Mapping[str, str | Sequence[str]] | None = None,
    budget: float | None = None,
    splits: int = 4,
    http: HttpClient | None = None,
) -> DownloadReport:
    """Download every file of ``source`` into ``dest``: the coroutine behind :func:`download`, for asyncio callers.

    Await it in asyncio code (``asyncio.run(download_async(manifest, "data/"))``); :func:`download` runs it
    from scripts and Jupyter alike.

    Parameters
    ----------
    source : Manifest, pandas.DataFrame or iterable of str or mapping
        What to download, as in :func:`download`.
    dest : str or os.PathLike
        The folder to download into, as in :func:`download`.
    max_per_host : int, optional
        Parallel connections per host, as in :func:`download`.
    max_total : int, optional
        Parallel connections in all, as in :func:`download`.
    overwrite : bool, optional
        Fetch complete files again, as in :func:`download`.
    verify : bool or {'fits'}, optional
        What is checked before a file is installed, as in :func:`download`.
    retries : int, optional
        Attempts after the first, per file, as in :func:`download`.
    template : str, optional
        The layout under ``dest``, as in :func:`download`.
    decompress : bool or {'auto'}, optional
        What is unpacked, as in :func:`download`.
    keep_compressed : bool, optional
        Keep a packed file beside the unpacked one, as in :func:`download`.
    progress : bool, optional
        Show progress bars, as in :func:`download`.
    mirrors : mapping of str to str or sequence of str, optional
        Sources tried before the archive, as in :func:`download`.
    budget : float, optional
        Seconds for the whole call, as in :func:`download`.
    splits : int, optional
        Byte ranges fetched at once for a large file, as in :func:`download`.
    http : vodaxa.net.HttpClient, optional
        The client to fetch with, as in :func:`download`.

    Returns
    -------
    DownloadReport
        What happened to each file: fetched, skipped, or failed with its reason.

    Raises
    ------
    vodaxa.errors.InputError
        When ``source``, ``dest``, ``template``, ``decompress``, ``budget``, ``retries``, ``max_per_host`` or
        ``max_total`` cannot be used (before anything is fetched).
    vodaxa.errors.ConfigError
        When ``verify`` or ``splits`` is not one of their values.

    See Also
    --------
    download : The same, for code that is not asyncio.
    """
    if decompress not in (True, False, "auto"):
        raise InputError(f"decompress={decompress!r}: use 'auto' (unpack what astropy cannot open: .Z), True (.gz "
                         "too) or False (keep the archive's bytes)")  # fmt: skip
    if verify not in (True, False, "fits"):
        raise ConfigError(f"verify={verify!r}: use True, False or 'fits'")
    if isinstance(splits, bool) or not isinstance(splits, int) or splits < 1:
        raise ConfigError(f"splits={splits!r}: use a whole number >= 1 (1 fetches every file in one piece)")
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, (int, float))
                               or not math.isfinite(budget) or budget <= 0):  # fmt: skip
        raise InputError(f"budget={budget!r}: use a positive number of seconds (or leave it out for no limit)")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise InputError(f"retries={retries!r}: use a whole number >= 0")
    for name, value in (("max_per_host", max_per_host), ("max_total", max_total)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise InputError(f"{name}={value!r}: use a whole number >= 1 (or leave it out for the archive's default)")
    template = _checked_template(template)
    alternatives = normalise(mirrors)
    dest = await disk.run(_destination, dest)  # a folder on a stalled disk must not block the caller's loop
    started = time.perf_counter()
    results: list[FileResult] = []
    tasks: list[tuple[FileTask, dict[str, Any]]] = []
    seen: set[Path] = set()
    owners: dict[Path, str] = {}  # path -> the URL written there
    planned: list[tuple[dict[str, Any], Path]] = []
    folders: dict[Path, str] = {}  # real paths, resolved once per folder

    def plan() -> dict[str, int]:  # on the disk worker: deciding what to fetch reads the destination and indexes
        for row in _rows(source):
            broken = url_problem(row["url"]) if isinstance(row.get("url"), str) else None
            if broken:
                results.append(FileResult(str(row.get("url")), dest, "failed", reason=broken, row=row))
                continue
            try:
                planned.append((row, target_path(dest, row, template, folders)))
            except DownloadError as err:
                results.append(FileResult(str(row.get("url")), dest, "failed", reason=str(err), row=row))
        keeper = _keepers(planned)
        for row, path in planned:
            url = str(row["url"])
            claimed = recorded_owner(path)  # a name an earlier run gave another URL's file (the server named it)
            if keeper.get(path, url) != url or (claimed is not None and claimed != url):
                if path in owners and owners[path] == url:
                    continue  # the same file listed twice
                if not (url_named(row) and path.name == _leaf(row)):
                    other = owners.get(path) or keeper.get(path) or claimed
                    why = f"another file of this download ({other}) has the same path {path.relative_to(dest)}"
                    results.append(FileResult(url, path, "failed", reason=why, row=row))
                    continue
                path = _beside(path, url, owners)  # two URLs ending alike (get?id=1, get?id=2): both kept, stably
            elif path in owners:
                continue  # the same file listed twice
            owners[path] = url
            seen.add(path)
            unpacked_name = decompressed_name(path)
            if unpacked_name is not None:
                seen.add(unpacked_name)  # no server may name another file onto what this one unpacks to
            size = None if _missing(row.get("size")) else int(row["size"])
            checksum = row.get("checksum") if verify else None
            mirrored = tuple(candidates(url, alternatives)[:-1])
            named = ServerName(path, url, seen) if url_named(row) and path.name == _leaf(row) else None
            task = FileTask(url, path, size if verify else None, checksum, mirrored, fits=verify == "fits",
                            splits=splits, named=named)  # fmt: skip
            earlier = recorded(path, url) if named else None  # named by the server in an earlier run
            if named is not None and earlier is not None:
                named.previous = earlier
                seen.add(earlier)
                if overwrite:
                    earlier.unlink(missing_ok=True)
                elif (done := _complete(replace(task, path=earlier, named=None), decompress)) is not None:
                    results.append(FileResult(task.url, done, "skipped", row=row))
                    continue
            unpacked = decompressed_name(path)
            if unpacked is not None and not (unpacks(path, decompress) or verified.recorded(unpacked, url)):
                unpacked = None  # a file of that name vodaxa did not unpack from this URL: not taken for it
            if not overwrite and unpacked is not None and unpacked.exists() and not path.exists():
                results.append(FileResult(task.url, unpacked, "skipped", row=row))  # decompressed in an earlier run
            elif path.exists() and not overwrite and is_complete(task):
                results.append(FileResult(task.url, path, "skipped", row=row))
            else:
                if overwrite:
                    path.unlink(missing_ok=True)
                tasks.append((task, row))

        return host_limits(max_per_host)  # the archives' registry (its plugins are found on disk the first time)

    limits = await disk.run(plan)

    own = http is None
    config = HttpConfig(
        per_host=max_per_host or HttpConfig.per_host,
        total=max_total or HttpConfig.total,
        host_limits=limits,
    )
    if http is None:
        from .. import auth  # credentials go only to their own archive's hosts (vodaxa.auth.scoped)

        _activate_credentials({r for _, row in tasks if isinstance(r := row.get("auth_realm"), str) and r})
        scoped = auth.scope()
        http = HttpClient(
            config, headers_for=scoped.headers_for, on_rejected=auth.rejected, params_for=scoped.params_for
        )
    client = http
    known = [t.size for t, _ in tasks if t.size is not None]
    bar = Progress(len(tasks), sum(known) if len(known) == len(tasks) else None, enabled=progress)
    deadline = None if budget is None else time.monotonic() + budget
    written: set[Path] = set()  # folders whose renames are fsynced once, at the end

    async def worker(pending: Iterator[tuple[FileTask, dict[str, Any]]]) -> None:
        for task, row in pending:
            try:
                found: list[Path | None] = [None, None]  # complete already; on disk, to be confirmed

                def look(waited: bool, task: FileTask = task, found: list[Path | None] = found) -> None:
                    # on the disk worker, with the lock held: another process may have fetched it meanwhile
                    found[0] = _done_meanwhile(task, decompress) if waited or not overwrite else None
                    found[1] = _on_disk(task) if found[0] is None and not overwrite else None

                async with claim(task.path, then=look):  # one writer per file, also across processes
                    done = found[0]
                    if done is None and found[1] is not None:
                        done = await _confirmed_on_disk(client, task, found[1], deadline)
                    if done is not None:  # another process fetched it while this one waited, or it was whole
                        results.append(FileResult(task.url, done, "skipped", row=row))
                        bar.add_file(row.get("mission"))
                        continue
                    got = await fetch_file(
                        client, task, retries=retries, on_bytes=bar.add_bytes, sync_dirs=written, deadline=deadline
                    )
                results.append(FileResult(task.url, task.target, "ok", got, row=row))
                log.debug("%s -> %s (%d bytes)", task.url, task.target, got)
                bar.add_file(row.get("mission"))
            except DownloadError as err:
                bar.add_file(row.get("mission"), failed=True)
                log.warning("%s", err)
                results.append(FileResult(task.url, task.path, "failed", reason=str(err), row=row))
            except OSError as err:  # the disk, not the network: say so, keep going with the others
                bar.add_file(row.get("mission"), failed=True)
                results.append(FileResult(task.url, task.path, "failed", reason=f"local file error: {err}", row=row))

    try:
        await client.open()
        await asyncio.gather(*(worker(queue) for queue, count in _queues(tasks, client) for _ in range(count)))
    finally:
        await asyncio.to_thread(fsync_dirs, written)
        bar.close()
        if own:
            await client.close()
    if decompress:
        results = [await _unpack(r, keep_compressed) if unpacks(r.path, decompress) else r for r in results]

    def again(failed: list[FileResult]) -> DownloadReport:
        return download([r.row for r in failed], dest, max_per_host=max_per_host, max_total=max_total,
                        overwrite=False, verify=verify, retries=retries, template=template,
                        decompress=decompress, keep_compressed=keep_compressed, progress=progress,
                        mirrors=mirrors, budget=budget, splits=splits)  # fmt: skip

    return DownloadReport(results, time.perf_counter() - started, again)


def _leaf(row: Mapping[str, Any]) -> str:
    """The file name ``local_path`` gives."""
    return str(row.get("local_path") or "").rstrip("/").rsplit("/", 1)[-1]


def _done_meanwhile(task: FileTask, decompress: bool | str) -> Path | None:
    """Where another process put ``task``'s file while this one waited for it, if it is complete."""
    if task.named is not None and (earlier := recorded(task.path, task.url)) is not None:
        found = _complete(replace(task, path=earlier, named=None), decompress)
        if found is not None:
            return found
    return _complete(replace(task, named=None), decompress)


def _on_disk(task: FileTask) -> Path | None:
    """The file already where ``task``'s would go, when no size or checksum could judge it (then the server is
    asked: :func:`_confirmed_on_disk`); None when there is none, or it was judged already."""
    if task.size is not None or task.checksum:
        return None  # is_complete judged it already: a file on disk is not the one described
    for path in (task.named.previous if task.named else None, task.path):
        if path is not None and path.is_file() and not path.is_symlink():
            return path
    return None


async def _confirmed_on_disk(http: HttpClient, task: FileTask, path: Path, deadline: float | None) -> Path | None:
    """``path`` if the file there is ``task``'s whole file as the server confirms (vodaxa did not record it: left
    by another tool, or by a vodaxa before the record): see :func:`~.fetch.confirm_on_disk`.  None: fetch it."""
    left = None if deadline is None else deadline - time.monotonic()
    return path if await confirm_on_disk(http, replace(task, path=path, named=None), left) else None


def unpacks(path: Path, decompress: bool | str) -> bool:
    """Whether ``decompress`` unpacks the file at ``path``: ``"auto"`` (the default) what astropy cannot open
    as it is (Unix ``compress``, ``.Z``: ESO's raw frames), True ``.gz`` too, False nothing."""
    if not decompress or decompressed_name(path) is None:
        return False
    return decompress is True or path.suffix.lower() == ".z"


def _complete(task: FileTask, decompress: bool | str) -> Path | None:
    """Where ``task``'s file already is, complete (or decompressed by an earlier run), without the network."""
    unpacked = decompressed_name(task.path)
    # unpacked by an earlier run: done, whatever this run's options (a plain rerun must not fetch it again)
    ours = unpacked is not None and (unpacks(task.path, decompress) or verified.recorded(unpacked, task.url))
    if ours and unpacked is not None and unpacked.exists() and not task.path.exists():
        return unpacked
    return task.path if task.path.exists() and is_complete(task) else None


def _activate_credentials(realms: set[str]) -> None:
    """Log in to the archives whose files need credentials, from the environment or keyring; say so if
    there are none (those files will fail with a clear reason, the others go on)."""
    from .. import auth

    for realm in sorted(realms):
        try:
            ready = auth.ensure(realm)
        except VodaxaError as err:  # a refused login: those files fail with the archive's answer, the rest go on
            log.warning("could not log in to %s: %s", realm, err)
            continue
        if not ready:
            name = realm.upper()
            log.warning(
                "some files need %s credentials and none are stored: set VODAXA_%s_USERNAME and "
                "VODAXA_%s_PASSWORD, or run 'vodaxa login %s --store'",
                name,
                name,
                name,
                realm,
            )


def _queues(tasks: list[tuple[FileTask, dict[str, Any]]], client: HttpClient) -> list[tuple[Iterator, int]]:
    """One queue per host (of each file's first source) with as many workers as the host allows, so a
    slow archive never holds the workers another archive's files are waiting for."""
    by_host: dict[str, list[tuple[FileTask, dict[str, Any]]]] = {}
    for item in tasks:
        first = (*item[0].mirrors, item[0].url)[0]
        by_host.setdefault(urlsplit(first).netloc.lower() if "://" in first else "", []).append(item)
    queues = []
    for host, items in by_host.items():
        allowed = client.limit(f"http://{host}/") if host else HttpConfig.per_host  # "": a local mirror
        # twice the connections: while one worker's file reaches the disk, another's uses the connection (the
        # client's gates still hold the requests in flight to the host's and the total limit)
        queues.append((iter(items), min(len(items), 2 * min(allowed, client.config.total))))
    return queues


async def _unpack(result: FileResult, keep: bool) -> FileResult:
    """Decompress a fetched or skipped file under its claim (another process unpacking the same file is waited
    for, and its result taken); a failure keeps the compressed file and says why."""
    target = decompressed_name(result.path) if result.status != "failed" else None
    if target is None:
        return result
    async with claim(result.path) as waited:
        if not result.path.exists():  # unpacked (and removed) by another process meanwhile, or by hand
            if target.exists():
                return replace(result, path=target)
            return replace(result, status="failed", reason=f"{result.path.name} vanished before it was unpacked")
        if waited and keep and target.exists():  # another process unpacked it while this one waited
            return replace(result, path=target)
        try:
            unpacked = await asyncio.to_thread(decompress_file, result.path, keep=keep)
            verified.record(unpacked, result.url)  # a later run without decompress= knows it for this URL's file
            return replace(result, path=unpacked)
        except DownloadError as err:
            return replace(result, status="failed", reason=str(err))


def download(
    source: ManifestSource,
    dest: PathLike,
    *,
    max_per_host: int | None = None,
    max_total: int | None = None,
    overwrite: bool = False,
    verify: bool | str = True,
    retries: int = 5,
    template: str = DEFAULT_TEMPLATE,
    decompress: bool | str = "auto",
    keep_compressed: bool = False,
    progress: bool = True,
    mirrors: Mapping[str, str | Sequence[str]] | None = None,
    budget: float | None = None,
    splits: int = 4,
    http: HttpClient | None = None,
) -> DownloadReport:
    """Download every file of ``source`` into ``dest``; works in scripts and inside Jupyter alike.

    Each file goes to ``dest/<local_path>`` through ``<name>.part``, is verified, then renamed: a final name only
    ever holds a verified file.  Complete files are skipped without the network, interrupted ones resume, and one
    file's failure never stops the others (the report says why it failed; :meth:`DownloadReport.retry` tries again).

    A plain URL, a row without ``local_path``, or a row whose ``local_path`` ends in the URL's last segment
    (unsafe characters may be ``_``) when that has no type extension (ESO's ``.../dataPortal/file/<dp_id>``)
    is named by the server's ``Content-Disposition`` when it sends one (sanitised, same folder; see
    :mod:`vodaxa.downloader.naming`); ``report.ok`` shows the final path.

    Parameters
    ----------
    source : Manifest, pandas.DataFrame or iterable of str or mapping
        What to download: a :class:`~vodaxa.manifest.Manifest` (from :func:`vodaxa.resolve`), its ``files`` frame or
        a selection of it (it needs a ``url`` column), a list of URLs, or rows (mappings with ``url`` and
        optionally ``local_path``, ``size``, ``checksum``, ...).
    dest : str or os.PathLike
        The folder to download into; made if needed.
    max_per_host : int, optional
        Parallel connections per host; it can only lower each archive's own ceiling (:func:`host_limits`).
        By default the archive's ceiling.
    max_total : int, optional
        Parallel connections in all. By default :attr:`vodaxa.net.HttpConfig.total`.
    overwrite : bool, optional
        Fetch files again even when they are complete on disk (default False: they are skipped).
    verify : bool or {'fits'}, optional
        True (the default): sizes and the manifest's checksums; ``"fits"``: also FITS CHECKSUM/DATASUM keywords;
        False: nothing.
    retries : int, optional
        Attempts after the first for each file (default 5), with jittered exponential backoff.
    template : str, optional
        The path of each file under ``dest``, from the manifest's column names in braces. Default
        ``"{local_path}"`` (``<mission>/<obs_id>/<path>``); e.g. ``"{obs_id}/{instrument}/{local_path}"``.
    decompress : bool or {'auto'}, optional
        ``"auto"`` (the default): unpack what astropy cannot open, the ``.Z`` files ESO serves; True: ``.gz`` too;
        False: keep the archive's bytes.
    keep_compressed : bool, optional
        Keep the packed file beside the unpacked one (default False).
    progress : bool, optional
        Show progress bars (default True; False for quiet runs).
    mirrors : mapping of str to str or sequence of str, optional
        ``{archive or URL prefix: base URL(s) or local folder(s)}``, tried before the archive, e.g.
        ``{"heasarc": "https://nasa-heasarc.s3.amazonaws.com/"}``. By default none.
    budget : float, optional
        Seconds after which no file starts another retry; what is still failing is reported, nothing is lost.
        By default no limit.
    splits : int, optional
        Byte ranges fetched at once for a file of known size >= 64 MiB (default 4; 1 turns splitting off).
    http : vodaxa.net.HttpClient, optional
        The client to fetch with (its connection limits and credentials). By default one made for this call,
        with :func:`host_limits` and the credentials of :mod:`vodaxa.auth` scoped to their archives.

    Returns
    -------
    DownloadReport
        What happened to each file: ``ok`` (fetched), ``skipped`` (already complete), ``failed`` (with reasons).

    Raises
    ------
    vodaxa.errors.InputError
        When ``source``, ``dest``, ``template``, ``decompress``, ``budget``, ``retries``, ``max_per_host`` or
        ``max_total`` cannot be used (before anything is fetched). A file that cannot be fetched is not an
        error: it is in the report's ``failed``.
    vodaxa.errors.ConfigError
        When ``verify`` or ``splits`` is not one of their values.

    See Also
    --------
    download_async : The coroutine, for asyncio code.
    vodaxa.resolve : Makes the manifest of an observation table.

    Examples
    --------
    >>> import vodaxa
    >>> manifest = vodaxa.resolve(vodaxa.search(["3C 105"], missions=["nustar_pointed"]))
    >>> report = vodaxa.download(manifest.files.head(3), "data/", progress=False)
    >>> report
    <DownloadReport ok=3 skipped=0 failed=0 bytes=... elapsed=...s>
    >>> print(report.ok[0].as_posix())
    data/nustar_pointed/.../auxil/nu..._att.fits.gz

    A second run finds the files complete and fetches nothing:

    >>> vodaxa.download(manifest.files.head(3), "data/", progress=False).skipped == report.ok
    True
    """
    return run_sync(download_async(
        source, dest, max_per_host=max_per_host, max_total=max_total, overwrite=overwrite, verify=verify,
        retries=retries, template=template, decompress=decompress, keep_compressed=keep_compressed,
        progress=progress, mirrors=mirrors, budget=budget, splits=splits, http=http,
    ))  # fmt: skip
