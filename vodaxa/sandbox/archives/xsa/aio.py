"""The XSA's AIO servlet, ``/nxsa-sl/servlet/data-action-aio``: one tarball per observation and level.

``?obsno=<10 digits>&level=ODF|PPS[&instname=M1|M2|PN|OM|R1|R2][&extension=FTZ,...]
[&AIOUSER=<user>&AIOPWD=<password>]`` answers GET and HEAD with a ``.tar.gz`` built from the very
files of the sandbox's HEASARC ``xmm/data/rev0/<obsid>/`` tree (same builder, same cache), so both
archives hold byte-identical data.  Tarballs are cached under the sandbox cache, written atomically,
and sent with Content-Length, ETag, Last-Modified, Range and ``Content-Disposition``.

Confirmed (astroquery ``esa/xmm_newton`` code, docs and tests; DAXA ``mission/xmm.py``; pySAS
``sasutils.download_data``; see vo-clients.md section 5 and daxa.md section 1.4):

- the URL and its parameters; ``level`` ODF or PPS, ``instname`` two characters; proprietary data
  need ``AIOUSER``/``AIOPWD`` in the query string, and without them the answer is 401;
- clients HEAD first and take the file name from ``Content-Disposition``
  (``inline; filename="0560181401.tar.gz"`` for an ODF request);
- the ODF answer is a gzipped tar holding one inner tar whose name carries the revolution and the
  ObsID and ends ``.TAR`` (``<rev>_<obsid>.TAR``); that inner tar holds the ODF files flat, named
  ``<rev>_<obsid>_<II>...`` (II the instrument code, ``SC`` for spacecraft files) plus ``MANIFEST.<rev>``;
- PPS members sit under ``<obsid>/pps/`` and are named ``P<obsid><II>...`` (instrument at [11:13]).

Assumed (no public source found; revisit against the live service):

- the inner tar's members are the ODF files uncompressed (``.FIT``, as MANIFEST lists them), where
  HEASARC gzips each (``.FIT.gz``); the bytes equal HEASARC's once gunzipped;
- the PPS answer is gzipped too, named ``<obsid>_PPS.tar.gz`` (third-party scripts save PPS
  answers as ``<obsid>.tar``, which suggests the live service sends a plain tar);
- ``instname`` narrows the answer: for ODF to that instrument's files plus the ``SC`` files and
  MANIFEST (without which the ODF cannot be processed), for PPS to files with that instrument code.
  DAXA#15 (2022) reports that the live service ignored ``instname`` for ODFs; set
  ``honour_instname = False`` to serve that behaviour;
- ``extension`` keeps members whose extension (before ``.gz``) is one of the comma-separated values;
  the other astroquery filters (``instmode``, ``filter``, ``expflag``, ``expno``, ``name``,
  ``datasubsetno``, ``sourceno``) are accepted and ignored;
- an observation without science data (``pps_version`` NULL) has no PPS, and a request that selects
  no file is answered 404; the answers carry Content-Length (the live one may stream without it);
- AIOUSER/AIOPWD must be one of the sandbox's configured accounts (:func:`credentials_ok`; the same
  accounts as ESO's token endpoint); a NULL ``proprietary_end_date`` means no proprietary period.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import hmac
import io
import os
import re
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from aiohttp import web

from ...protocols.faults import FaultInjector
from ...protocols.files import serve_file
from ..heasarc import tree as heasarc_tree

__all__ = [
    "AIO_PATH",
    "INSTRUMENTS",
    "LEVELS",
    "AioQuery",
    "AioServlet",
    "credentials_ok",
    "instrument_code",
    "parse_query",
    "select_members",
]

AIO_PATH = "/nxsa-sl/servlet/data-action-aio"
LEVELS = ("ODF", "PPS")
INSTRUMENTS = ("M1", "M2", "PN", "OM", "R1", "R2")
#: Bumped whenever tarball names, members or bytes change, so cached tarballs are not reused.
LAYOUT_VERSION = 1
#: Modification time of every tar member and cached tarball (2000-01-01T12:00:00Z): bytes never vary.
FIXED_MTIME = 946728000
_OBSNO = re.compile(r"^[0-9]{10}$")
_DISPOSITION = web.RequestKey("vodaxa_aio_disposition", str)
_TABLE = "xmmmaster"


# ----------------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class AioQuery:
    """One AIO request: which observation, level, instrument and file extensions."""

    obsid: str
    level: str = "ODF"
    instname: str | None = None
    extensions: tuple[str, ...] = ()

    @property
    def download_name(self) -> str:
        """The name sent in Content-Disposition: ``<obsid>.tar.gz`` for ODF, ``<obsid>_PPS.tar.gz`` for PPS."""
        return f"{self.obsid}.tar.gz" if self.level == "ODF" else f"{self.obsid}_{self.level}.tar.gz"

    @property
    def cache_name(self) -> str:
        """A cache file name unique to the request's selection."""
        parts = [self.obsid, self.level, self.instname or "ALL", "-".join(self.extensions) or "ANY"]
        return "_".join(parts) + ".tar.gz"


def _html(status: int, title: str, message: str) -> str:
    """A short HTML error page, as the servlet container sends."""
    return (
        f"<!DOCTYPE html>\n<html><head><title>HTTP Status {status} - {title}</title></head>"
        f"<body><h1>HTTP Status {status} - {title}</h1><p>{message}</p></body></html>\n"
    )


def _error(kind: Callable[..., web.HTTPException], status: int, title: str, message: str) -> web.HTTPException:
    """An aiohttp HTTP error carrying a short HTML page."""
    return kind(text=_html(status, title, message), content_type="text/html")


def parse_query(query: Mapping[str, str]) -> AioQuery:
    """The request's parameters, or HTTP 400 naming the bad one (obsno must be exactly 10 digits)."""
    obsno = query.get("obsno", "")
    if not _OBSNO.match(obsno):
        raise _error(web.HTTPBadRequest, 400, "Bad Request", f"obsno must be a 10-digit ObsID, not {obsno!r}")
    level = query.get("level", "ODF")
    if level not in LEVELS:
        raise _error(web.HTTPBadRequest, 400, "Bad Request", f"level must be one of {', '.join(LEVELS)}")
    instname = query.get("instname") or None
    if instname is not None and instname not in INSTRUMENTS:
        raise _error(web.HTTPBadRequest, 400, "Bad Request", f"instname must be one of {', '.join(INSTRUMENTS)}")
    extensions = tuple(sorted({e.strip().upper() for e in query.get("extension", "").split(",") if e.strip()}))
    return AioQuery(obsno, level, instname, extensions)


def credentials_ok(user: str | None, password: str | None, accounts: Mapping[str, str]) -> bool:
    """Whether AIOUSER/AIOPWD open proprietary data: a configured account and its password (constant-time)."""
    known = accounts.get(user or "")
    return bool(user) and known is not None and hmac.compare_digest(known.encode(), (password or "").encode())


# ----------------------------------------------------------------------------------- members


def instrument_code(level: str, obsid: str, name: str) -> str | None:
    """The two-letter instrument code in an ODF (``<rev>_<obsid>_<II>...``) or PPS (``P<obsid><II>...``) name."""
    if level == "ODF":
        _, sep, rest = name.partition(f"{obsid}_")
        return rest[:2] if sep else None
    return name[11:13] if name.startswith(f"P{obsid}") else None


def _extension(name: str) -> str:
    """A member's extension before any ``.gz``, upper-cased (``FIT``, ``FTZ``, ``HTM``)."""
    return PurePosixPath(name.removesuffix(".gz")).suffix.lstrip(".").upper()


def select_members(query: AioQuery, names: Iterable[str]) -> list[str]:
    """The file names (of one level's directory) the query selects, sorted."""
    keep = []
    for name in sorted(names):
        code = instrument_code(query.level, query.obsid, name)
        if query.instname:
            spacecraft = query.level == "ODF" and (code == "SC" or name.startswith("MANIFEST"))
            if code != query.instname and not spacecraft:
                continue
        if query.extensions and _extension(name) not in query.extensions:
            continue
        keep.append(name)
    return keep


def _info(name: str, size: int = 0, *, directory: bool = False) -> tarfile.TarInfo:
    """A tar header with fixed owner, mode and time, so the archive's bytes depend on content only."""
    info = tarfile.TarInfo(name)
    info.size = 0 if directory else size
    info.mtime = FIXED_MTIME
    info.mode = 0o755 if directory else 0o644
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def tar_bytes(members: Iterable[tuple[str, bytes | None]]) -> bytes:
    """A ustar archive of ``(name, bytes)`` members in order (``None`` bytes: a directory)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, payload in members:
            if payload is None:
                tar.addfile(_info(name, directory=True))
            else:
                tar.addfile(_info(name, len(payload)), io.BytesIO(payload))
    return buffer.getvalue()


def odf_tarball(obsid: str, rev4: str, files: Mapping[str, bytes]) -> bytes:
    """The ODF answer: gzip(tar(``<rev>_<obsid>.TAR``)), the inner tar holding the files flat."""
    inner = tar_bytes(sorted(files.items()))
    return gzip.compress(tar_bytes([(f"{rev4}_{obsid}.TAR", inner)]), compresslevel=6, mtime=0)


def pps_tarball(obsid: str, files: Mapping[str, bytes]) -> bytes:
    """The PPS answer: gzip(tar) with the files under ``<obsid>/pps/``."""
    members: list[tuple[str, bytes | None]] = [(f"{obsid}/", None), (f"{obsid}/pps/", None)]
    members += [(f"{obsid}/pps/{name}", payload) for name, payload in sorted(files.items())]
    return gzip.compress(tar_bytes(members), compresslevel=6, mtime=0)


def _odf_payload(name: str, data: bytes) -> tuple[str, bytes]:
    """An ODF file as the XSA holds it: HEASARC's ``.gz`` files uncompressed (assumed, see module doc)."""
    if name.endswith(".gz"):
        return name.removesuffix(".gz"), gzip.decompress(data)
    return name, data


# ----------------------------------------------------------------------------------- servlet


@dataclass(frozen=True)
class AioObservation:
    """What the servlet knows of one XSA observation."""

    row: dict[str, Any]  # the xmmmaster-style row the HEASARC tree builder takes
    proprietary_end: np.datetime64 | None
    has_pps: bool


async def _add_disposition(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare`` hook: name the tarball of a 200/206 AIO answer."""
    name = request.get(_DISPOSITION)
    if name is not None and response.status in (200, 206):
        response.headers["Content-Disposition"] = f'inline; filename="{name}"'


class AioServlet:
    """The AIO servlet over a lookup ``obsid -> AioObservation``, building tarballs on first request."""

    #: Narrow answers to ``instname``; False serves DAXA#15's "every instrument, always" behaviour.
    honour_instname = True

    def __init__(
        self,
        lookup: Callable[[str], AioObservation | None],
        *,
        heasarc_root: Path,
        cache: Path,
        injector: FaultInjector,
        now_mjd: float,
        accounts: Mapping[str, str],
    ) -> None:
        self.lookup = lookup
        self.accounts = accounts  # username -> password, as SandboxConfig.accounts
        self.heasarc_root = heasarc_root
        key = hashlib.sha256(f"{LAYOUT_VERSION}:{heasarc_root.name}".encode()).hexdigest()[:16]
        self.cache = cache / f"xsa-aio-{key}"
        self.injector = injector
        self.now = np.datetime64("1858-11-17T00:00:00", "s") + np.timedelta64(round(now_mjd * 86400), "s")
        self._locks: dict[str, asyncio.Lock] = {}

    def add_routes(self, app: web.Application) -> None:
        """Answer GET and HEAD at :data:`AIO_PATH`."""
        app.router.add_get(AIO_PATH, self.handle)
        if _add_disposition not in app.on_response_prepare:
            app.on_response_prepare.append(_add_disposition)

    def proprietary(self, obs: AioObservation) -> bool:
        """Whether the observation's proprietary period has not ended yet."""
        return obs.proprietary_end is not None and bool(obs.proprietary_end > self.now)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """400 for bad parameters, 404 for unknown ObsIDs or empty selections, 401 for locked data, else the file."""
        query = parse_query(request.query)
        obs = self.lookup(query.obsid)
        if obs is None:
            raise _error(web.HTTPNotFound, 404, "Not Found", f"Observation {query.obsid} is not in the archive")
        user, password = request.query.get("AIOUSER"), request.query.get("AIOPWD")
        if self.proprietary(obs) and not credentials_ok(user, password, self.accounts):
            raise _error(
                web.HTTPUnauthorized, 401, "Unauthorized", "Data protected by proprietary rights: login required"
            )
        path = await self.tarball(query if self.honour_instname else replace(query, instname=None), obs)
        if path is None:
            raise _error(web.HTTPNotFound, 404, "Not Found", f"No {query.level} data match the request")
        request[_DISPOSITION] = query.download_name
        return await serve_file(request, path, self.injector)

    async def tarball(self, query: AioQuery, obs: AioObservation) -> Path | None:
        """The cached tarball answering ``query`` (built once, atomically), or None if it selects nothing."""
        target = self.cache / query.cache_name
        if target.is_file():
            return target
        lock = self._locks.setdefault(query.cache_name, asyncio.Lock())
        async with lock:
            if not target.is_file():
                payload = await asyncio.to_thread(self.build, query, obs)
                if payload is None:
                    return None
                await asyncio.to_thread(_write_atomically, target, payload)
        return target

    def build(self, query: AioQuery, obs: AioObservation) -> bytes | None:
        """The tarball's bytes from the observation's HEASARC-tree files (blocking), or None if none match."""
        if query.level == "PPS" and not obs.has_pps:
            return None
        paths = heasarc_tree.build_observation(_TABLE, obs.row, self.heasarc_root)
        marker = f"/{query.level}/"
        level_files = {p.rsplit("/", 1)[-1]: p for p in paths if marker in p}
        chosen = select_members(query, level_files)
        if not chosen:
            return None
        files = {name: (self.heasarc_root / level_files[name]).read_bytes() for name in chosen}
        if query.level == "PPS":
            return pps_tarball(query.obsid, files)
        rev4 = _revolution(level_files, obs.row)
        return odf_tarball(query.obsid, rev4, dict(_odf_payload(n, b) for n, b in files.items()))


def _revolution(names: Iterable[str], row: Mapping[str, Any]) -> str:
    """The 4-digit revolution of an ODF, from its ``MANIFEST.<rev>`` name (else from the row)."""
    for name in names:
        if name.startswith("MANIFEST."):
            return name.split(".", 1)[1]
    return f"{int(row.get('xmm_revolution') or 0):04d}"


def _write_atomically(target: Path, payload: bytes) -> None:
    """Write ``payload`` to ``target`` via a temporary sibling, fsync and rename; fixed mtime."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.utime(tmp, (FIXED_MTIME, FIXED_MTIME))
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
