"""The HEASARC shape: Xamin TAP over the master tables, per-table DataLink, and the ``/FTP`` tree.

URL layout as at heasarc.gsfc.nasa.gov: ``/xamin/vo/tap``, ``/xamin/vo/datalink/<table>`` (IDs are
``__row`` values or ``ivo://nasa.heasarc/<table>?<__row>``), the nested ``/xamin/vo/datalink``,
``/FTP/<mission>/...`` with Apache listings, ``/xamin/TarServlet`` (see :meth:`HeasarcArchive._tar_servlet`)
and cone search per table.  Beside the master tables, TAP publishes ``metainfo`` (default columns and
search radii, :mod:`.meta`).  Only observations whose data are public have a directory in the
tree, as on HEASARC.  DataLink answers in the shape chosen by ``SandboxConfig.heasarc_datalink``
(today's by default, the older one or links straight to files on request; see :mod:`.links`).  Observation
directories are written on first use (deterministically, into a cache directory keyed by the data), so a
100,000-row sandbox starts fast.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import math
import tarfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
from aiohttp import web

from ....resolvers.datalink import LinkRow as Link
from ...protocols.datalink import LinksEndpoint, Resolver
from ...protocols.faults import FaultInjector, make_app
from ...protocols.scs import ConeSearch, ConeTable, scs_error
from ...protocols.tap import TapService
from ...protocols.tapdb import QueryResult, TapDatabase, TapTable
from ...protocols.tree import ObservationTree
from ...protocols.uws import JobLimits
from ...protocols.vo import ServiceDescriptor
from ...settings import ShapeContext
from . import links as heasarc_links
from . import tree as heasarc_tree
from .meta import COLUMNS as META_COLUMNS
from .meta import DESCRIPTION as META_DESCRIPTION
from .meta import NAME as META_NAME
from .meta import metainfo
from .tables import TABLES, TableSpec, generate

__all__ = [
    "SCS_PATH",
    "HeasarcArchive",
    "cone_table",
    "create",
    "mjd_to_datetime",
    "public_mask",
    "row_values",
    "tree_root",
]

IVO_PREFIX = heasarc_links.IVO_PREFIX
#: HEASARC's cone search: ``coneGet.pl?table=<table>&`` plus RA, DEC, SR (and VERB, MAXREC).
SCS_PATH = "/cgi-bin/vo/cone/coneGet.pl"
#: numaster's default (VERB=2) cone-search columns, as HEASARC answers them; other tables get their like.
_SCS_NUMASTER = (
    "name", "ra", "dec", "time", "obsid", "status", "exposure_a", "observation_mode", "obs_type",
    "processing_date", "public_date", "issue_flag",
)  # fmt: skip
_SCS_DEFAULT = ("name", "ra", "dec", "time", "{key}", "status", "exposure", "instrument", "public_date")
TAR_PATH = "/xamin/TarServlet"
#: Most paths one TarServlet request may name (astroquery sends one per observation directory).
TAR_MAX_PATHS = 1000
#: Status values meaning the observation has not been taken or processed yet.
_NOT_DONE = {"scheduled", "accepted", "unobserved", "observed"}
_MJD0 = datetime(1858, 11, 17, tzinfo=timezone.utc)


def mjd_to_datetime(mjd: float) -> datetime:
    """UTC datetime of a Modified Julian Date."""
    return _MJD0 + timedelta(days=float(mjd))


def _py(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def row_values(data: Mapping[str, np.ndarray], index: int) -> dict[str, Any]:
    """One row of a column table as plain Python values (None for NULL), as the tree builder gets it."""
    return {name: _py(values[index]) for name, values in data.items()}


def public_mask(data: Mapping[str, np.ndarray], now_mjd: float) -> np.ndarray:
    """Rows of a master table whose data are public at ``now_mjd``: the rows with an archive directory."""
    ok = np.ones(len(data["__row"]), dtype=bool)
    if "status" in data:
        ok &= ~np.isin(np.char.lower(data["status"].astype(str)), sorted(_NOT_DONE))
    if "data_in_heasarc" in data:
        ok &= data["data_in_heasarc"] != "N"
    if "public_date" in data:
        public = np.asarray(data["public_date"], dtype=float)
        ok &= np.isfinite(public) & (public <= now_mjd)
    return ok


def tree_root(cache: Path, seed: int, sizes: Mapping[str, int], now_mjd: float) -> Path:
    """The cache directory of the tree built from these tables, shared by every shape that mirrors it."""
    key = hashlib.sha256(repr((heasarc_tree.TREE_VERSION, seed, sorted(sizes.items()), now_mjd)).encode())
    return cache / f"heasarc-{key.hexdigest()[:16]}"


@dataclass(frozen=True)
class Availability:
    """Whether an observation's data are in the archive, and if not, why."""

    public: bool
    reason: str = ""


class HeasarcArchive:
    """Synthetic HEASARC: tables, DataLink and the FTP tree, served by one aiohttp application."""

    def __init__(
        self,
        *,
        rows: int | dict[str, int] = 200,
        seed: int = 0,
        now_mjd: float,
        cache: Path,
        injector: FaultInjector,
        datalink_max_ids: int = 1000,
        default_maxrec: int = 100_000,
        queue_delay: float = 0.0,
        datalink_shape: str = "current",
        job_limits: JobLimits | None = None,
    ) -> None:
        if datalink_shape not in heasarc_links.SHAPES:
            raise ValueError(f"heasarc_datalink must be one of {heasarc_links.SHAPES}, not {datalink_shape!r}")
        self.datalink_shape = datalink_shape
        self.datalink_sizes = True  # HEASARC sizes #this directories unless sizefiles=false
        self._masks: dict[str, np.ndarray] = {}
        self._obs_paths: dict[tuple[str, int], str] = {}
        self._link_cache: dict[tuple[str, str, str], list[Link]] = {}  # rows without sizes never change
        self.seed = seed
        self.now_mjd = now_mjd
        self.injector = injector
        sizes = {t: (rows.get(t, 200) if isinstance(rows, dict) else rows) for t in TABLES}
        self.data = {t: generate(t, n, seed=seed, now_mjd=now_mjd) for t, n in sizes.items()}
        self.root = tree_root(cache, seed, sizes, now_mjd)
        self.root.mkdir(parents=True, exist_ok=True)
        self.db = TapDatabase(
            [
                TapTable(
                    name,
                    spec.description,
                    list(spec.columns),
                    self.data[name],
                )
                for name, spec in TABLES.items()
            ]
            + [TapTable(META_NAME, META_DESCRIPTION, list(META_COLUMNS), metainfo())]
        )
        self.tap = TapService(
            self.db,
            descriptors=self._descriptors,
            default_maxrec=default_maxrec,
            queue_delay=queue_delay,
            limits=job_limits,  # None: the generic defaults (HEASARC's own are not published)
        )
        self.cone = ConeSearch(self.db, default_maxrec=default_maxrec, descriptors=self._cone_descriptors)
        self.links = {t: LinksEndpoint(self._link_resolver(t), max_ids=datalink_max_ids) for t in TABLES}
        self.nested = LinksEndpoint(self._nested_resolver, max_ids=datalink_max_ids)
        self._by_row = {t: {k: i for i, k in enumerate(d["__row"])} for t, d in self.data.items()}
        self._roots: dict[str, list[str]] = {}  # first path component -> tables laid out below it
        for table, data in self.data.items():
            if len(data["__row"]):
                root = heasarc_tree.observation_path(table, self.row(table, 0)).split("/")[0]
                self._roots.setdefault(root, []).append(table)
        self.tree: ObservationTree[tuple[str, int]] = ObservationTree(
            "/FTP/", self.root, injector, tops=self._roots, index=self._tree_index, build=self._build
        )

    def close(self) -> None:
        """Release the query engine."""
        self.db.close()

    def endpoints(self, base: str) -> dict[str, str]:
        """vodaxa's HEASARC services at ``base``."""
        return {
            "tap": f"{base}/xamin/vo/tap",
            "datalink": f"{base}/xamin/vo/datalink",
            "ftp": f"{base}/FTP/",
            "scs": f"{base}{SCS_PATH}",
            "tar": f"{base}{TAR_PATH}",
            "s3": f"{base}/FTP/",  # HEASARC's S3 bucket holds the /FTP tree at its root: the same files here
        }

    # --------------------------------------------------------------------------- application
    def app(self) -> web.Application:
        """The aiohttp application answering in HEASARC's shapes."""
        app = make_app(self.injector)
        self.tap.add_routes(app, "/xamin/vo/tap")
        app.router.add_route("*", "/xamin/vo/datalink/{table}", self._datalink)
        app.router.add_route("*", "/xamin/vo/datalink", self._nested_datalink)
        app.router.add_get("/xamin/vo/products/{table}/{row}.html", self._product_page)
        app.router.add_get("/xamin/bib", self._page)
        app.router.add_get("/xamin/query", self._page)
        app.router.add_get(SCS_PATH, self._cone)
        app.router.add_route("*", TAR_PATH, self._tar_servlet)
        self.tree.add_routes(app)
        return app

    # --------------------------------------------------------------------------- rows
    def row(self, table: str, index: int) -> dict[str, Any]:
        """One row as plain Python values (None for NULL)."""
        return row_values(self.data[table], index)

    def _public(self, table: str) -> np.ndarray:
        """The public mask of ``table``, computed once (the sandbox's "now" does not move)."""
        if table not in self._masks:
            self._masks[table] = self.public_mask(table)
        return self._masks[table]

    def _path(self, table: str, index: int) -> str:
        """The observation directory of a row, computed once."""
        key = (table, index)
        if key not in self._obs_paths:
            self._obs_paths[key] = heasarc_tree.observation_path(table, self.row(table, index))
        return self._obs_paths[key]

    def availability(self, table: str, index: int) -> Availability:
        """Public data exist for this row?  HEASARC keeps no directory for the others."""
        row = self.row(table, index)
        status = str(row.get("status") or "").lower()
        if status in _NOT_DONE:
            return Availability(False, f"the observation is {status}: no data yet")
        if row.get("data_in_heasarc") == "N":
            return Availability(False, "the data are not in the HEASARC archive")
        if "public_date" in row:
            public = row["public_date"]
            if public is None:
                return Availability(False, "no public date is scheduled yet")
            if public > self.now_mjd:
                when = mjd_to_datetime(public).strftime("%Y-%m-%d")
                return Availability(False, f"the data are proprietary until {when}")
        return Availability(True)

    def obs_id(self, table: str, index: int) -> str:
        """The observation identifier of a row, as text."""
        return str(_py(self.data[table][TABLES[table].key][index]))

    # --------------------------------------------------------------------------- TAP
    def _descriptors(self, result: QueryResult, base: str) -> list[ServiceDescriptor]:
        names = [f.name for f in result.fields]
        if "__row" not in names:
            return []
        for table in result.tables:
            if table in TABLES:
                return [ServiceDescriptor(f"{base}/xamin/vo/datalink/{table}", "__row")]
        return []

    # --------------------------------------------------------------------------- cone search
    async def _cone(self, request: web.Request) -> web.Response:
        table = request.query.get("table", "")
        spec = TABLES.get(table.lower())
        if spec is None:
            return scs_error(f"Unknown table: No information available on {table}. Is this a valid table?")
        return await self.cone.answer(request, cone_table(spec))

    def _cone_descriptors(self, cone: ConeTable, base: str) -> list[ServiceDescriptor]:
        return [ServiceDescriptor(f"{base}/xamin/vo/datalink/{cone.table}", "__row")]

    # --------------------------------------------------------------------------- DataLink
    async def _datalink(self, request: web.Request) -> web.StreamResponse:
        table = request.match_info["table"]
        if table not in self.links:
            raise web.HTTPNotFound(text=f"no DataLink service for table '{table}'")
        return await self.links[table](request)

    def _link_resolver(self, table: str) -> Resolver:
        async def resolve(request: web.Request, ids: Sequence[str]) -> list[Link]:
            base = f"{request.scheme}://{request.host}"
            form = await request.post() if request.method == "POST" else {}
            default = "true" if self.datalink_sizes else "false"
            sizes = str(request.query.get("sizefiles", form.get("sizefiles", default))).lower() != "false"
            out: list[Link] = []
            for ident in ids:
                cached = None if sizes else self._link_cache.get((table, ident, base))
                if cached is None:
                    cached = await self._links_for(table, ident, base, sizes)
                    if not sizes:
                        self._link_cache[(table, ident, base)] = cached
                out.extend(cached)
            return out

        return resolve

    async def _links_for(self, table: str, ident: str, base: str, sizes: bool) -> list[Link]:
        key = ident[len(f"{IVO_PREFIX}{table}?") :] if ident.startswith(f"{IVO_PREFIX}{table}?") else ident
        index = self._by_row[table].get(key)
        current = self.datalink_shape == "current"
        if index is None:
            return [] if current else [Link(ident, error_message=f"NotFoundFault: {ident} is not a row of {table}")]
        mission = TABLES[table].mission
        obsid = self.obs_id(table, index)
        if not self._public(table)[index]:
            if current:
                return []  # today's HEASARC: no rows at all for data that are not public
            reason = self.availability(table, index).reason
            return [
                Link(ident, error_message=f"NotFoundFault: {mission} observation {obsid}: {reason}", semantics="#this")
            ]
        path = self._path(table, index)
        if self.datalink_shape == "files":
            names = heasarc_tree.data_files(table, self.row(table, index))
            found: list[int | None] = [None] * len(names)
            if sizes:
                directory = await self.tree.ensure_built(path)
                found = [(directory / n).stat().st_size if (directory / n).is_file() else None for n in names]
            return heasarc_links.file_links(ident, base, path, names, obsid, mission, found)
        length = None
        if sizes:
            directory = await self.tree.ensure_built(path)
            length = sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())
        if current:
            return heasarc_links.current_links(table, key, base, path, obsid, length)
        return heasarc_links.legacy_links(table, ident, key, base, path, obsid, mission, length)

    async def _nested_datalink(self, request: web.Request) -> web.StreamResponse:
        return await self.nested(request)

    async def _nested_resolver(self, request: web.Request, ids: Sequence[str]) -> list[Link]:
        """The nested documents ``<ID>/<product>``: an observation product's entries (none if not public)."""
        base = f"{request.scheme}://{request.host}"
        out: list[Link] = []
        for ident in ids:
            parts = heasarc_links.split_nested(ident)
            index = self._by_row.get(parts[0], {}).get(parts[1]) if parts else None
            if parts is None or index is None:
                out.append(Link(ident, error_message=f"NotFoundFault: {ident} names no HEASARC product"))
                continue
            table, _, product = parts
            if not self._public(table)[index]:
                continue
            path = self._path(table, index)
            if product != path.split("/", 1)[0] + ".obs":
                out.append(Link(ident, error_message=f"NotFoundFault: {table} has no product {product}"))
                continue
            directory = await self.tree.ensure_built(path)
            out += heasarc_links.nested_links(ident, base, path, directory, product)
        return out

    async def _page(self, request: web.Request) -> web.Response:
        """Bibliography, abstract and cross-link pages: small HTML, as the real ones are for people."""
        items = "".join(f"<li>{escape(k)}: {escape(v)}</li>" for k, v in request.query.items())
        page = f"<html><body><h1>HEASARC</h1><ul>{items}</ul></body></html>"
        return web.Response(text=page, content_type="text/html")

    async def _product_page(self, request: web.Request) -> web.Response:
        table, key = request.match_info["table"], request.match_info["row"]
        index = self._by_row.get(table, {}).get(key)
        if index is None:
            raise web.HTTPNotFound(text="no such observation")
        row = self.row(table, index)
        items = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in row.items())
        return web.Response(
            text=f"<html><body><h1>{table} row {key}</h1><table>{items}</table></body></html>",
            content_type="text/html",
        )

    # --------------------------------------------------------------------------- TarServlet
    async def _tar_servlet(self, request: web.Request) -> web.Response:
        """``/xamin/TarServlet``: one tar of the files and directories named in ``files``.

        ``files`` (POSTed form or query) is ``>/FTP/a&&>/FTP/b&&``, as astroquery's
        ``Heasarc.download_data(host='heasarc')`` sends it (``filter`` is accepted and ignored).  Each
        directory goes into the tar under its last path component and each file under its name, which is
        where astroquery's remote tests expect them after extraction (``stdprod/FHed_...gz`` for the
        ``.../stdprod`` folder).  Only paths inside public observation directories of ``/FTP`` are served;
        anything else (``..``, a virtual directory above the observations, a private row) is a 404.
        """
        form = await request.post() if request.method == "POST" else {}
        spec = str(form.get("files", request.query.get("files", "")))
        items = [item.strip() for item in spec.split("&&") if item.strip()]
        if not items:
            raise web.HTTPBadRequest(text="TarServlet: no files requested (send files=>/FTP/path&&...)")
        if len(items) > TAR_MAX_PATHS:
            raise web.HTTPBadRequest(text=f"TarServlet: at most {TAR_MAX_PATHS} paths per request")
        found: list[Path] = []
        for item in items:
            path = item[1:] if item.startswith(">") else item
            if not path.startswith("/FTP/"):
                raise web.HTTPNotFound(text=f"TarServlet: {path} is not below /FTP/")
            local = await self.tree.local_path(path[len("/FTP/") :])
            if local is None:
                raise web.HTTPNotFound(text=f"TarServlet: {path} was not found")
            found.append(local)
        body = await asyncio.to_thread(_tar_of, found)
        return web.Response(
            body=body,
            content_type="application/x-tar",
            headers={"Content-Disposition": 'attachment; filename="heasarc-data.tar"'},
        )

    # --------------------------------------------------------------------------- FTP tree
    def public_mask(self, table: str) -> np.ndarray:
        """Rows whose data are public (vectorised :meth:`availability`)."""
        return public_mask(self.data[table], self.now_mjd)

    def _tree_index(self, root: str) -> Iterator[tuple[str, tuple[str, int]]]:
        """(directory, (table, row)) for every public observation below ``root``, shared directories included."""
        for table in self._roots.get(root, []):
            for index in np.nonzero(self.public_mask(table))[0]:
                row = self.row(table, int(index))
                for path in (heasarc_tree.observation_path(table, row), *heasarc_tree.shared_paths(table, row)):
                    yield path, (table, int(index))

    def _build(self, key: tuple[str, int]) -> list[str]:
        """Write the directories of one observation (``(table, row)``) into the cache."""
        table, index = key
        return heasarc_tree.build_observation(table, self.row(table, index), self.root)

    def materialize(self, tables: Sequence[str] | None = None) -> int:
        """Write the directories of every public observation of ``tables`` now; returns how many were new."""
        built = 0
        for table in tables or list(TABLES):
            for index in np.nonzero(self.public_mask(table))[0]:
                row = self.row(table, int(index))
                if not (self.root / heasarc_tree.observation_path(table, row)).exists():
                    heasarc_tree.build_observation(table, row, self.root)
                    built += 1
        return built


def cone_table(spec: TableSpec) -> ConeTable:
    """How a master table is cone-searched: its key, and its default columns (numaster's as HEASARC's)."""
    columns = _SCS_NUMASTER if spec.name == "numaster" else tuple(c.format(key=spec.key) for c in _SCS_DEFAULT)
    return ConeTable(spec.name, spec.key, verb2=columns)


def _tar_of(paths: Sequence[Path]) -> bytes:
    """A tar holding each path under its own name (directories recursively, symbolic links not followed)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in paths:
            tar.add(path, arcname=path.name, recursive=True)
    return buffer.getvalue()


def create(context: ShapeContext) -> HeasarcArchive:
    """The HEASARC shape for a sandbox (``shapes.SHAPES`` entry point)."""
    cfg = context.config
    archive = HeasarcArchive(
        rows={t: context.rows_for(t) for t in TABLES},
        seed=cfg.seed,
        now_mjd=context.now_mjd,
        cache=context.cache,
        injector=context.injector,
        datalink_max_ids=cfg.datalink_max_ids,
        default_maxrec=cfg.default_maxrec,
        queue_delay=cfg.queue_delay,
        job_limits=cfg.job_limits,
    )
    archive.datalink_sizes = cfg.datalink_sizes
    if cfg.heasarc_datalink not in heasarc_links.SHAPES:
        raise ValueError(f"heasarc_datalink must be one of {heasarc_links.SHAPES}, not {cfg.heasarc_datalink!r}")
    archive.datalink_shape = cfg.heasarc_datalink
    if cfg.prebuild:
        archive.materialize()
    return archive
