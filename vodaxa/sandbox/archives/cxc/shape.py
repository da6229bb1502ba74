"""The CXC shape: the Chandra Data Archive's observation TAP, served at ``/cxctap`` as at cda.cfa.harvard.edu.

It publishes ``cxc.observation``, one row per ObsID, derived from the HEASARC ``chanmaster``
synthetic table of the same size and seed, so both archives hold exactly the same ObsIDs with the
same positions, instruments, gratings, start times, exposures and release dates.  CXC's own ways:

- ``exposure_time`` is in kiloseconds; ``start_date`` and ``public_avail_date`` are timestamps;
- ``target_name`` is upper case with the spaces removed (``3C 105`` becomes ``3C105``);
- ``status`` uses CXC's words: HEASARC's ``processed`` is ``archived``, and an unobserved
  target-of-opportunity observation is ``untriggered``;
- an observation not yet taken has NULL ``start_date``, ``exposure_time`` and event counts, and a
  NULL ``public_avail_date`` when its release is unknown;
- ``exposure_mode`` is ``TE`` or ``CC`` for ACIS (from the data mode) and NULL for HRC.

The CDA's file tree is served at ``/cdaftp/byobsid/<last digit>/<obsid>/`` with the very files of
HEASARC's Chandra mirror (same layout rules and builder, same cache directory), for the archived,
public ObsIDs only.  Like the real CDA it labels ``.gz`` files ``Content-Encoding: gzip``, so a
client that decodes transparently saves decompressed bytes under a ``.gz`` name.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping

import numpy as np
from aiohttp import web
from astropy.coordinates import SkyCoord

from ... import datafiles
from ...protocols.archive import TapArchive
from ...protocols.scs import ConeSearch, ConeTable
from ...protocols.tapdb import TapDatabase, TapTable
from ...protocols.tree import ObservationTree
from ...protocols.vo import FieldMeta
from ...settings import ShapeContext
from ..heasarc import tree as heasarc_tree
from ..heasarc.shape import public_mask, row_values, tree_root
from ..heasarc.tables import TABLES, generate

__all__ = ["COLUMNS", "SCHEMA", "TABLE", "CxcArchive", "create", "table"]

SCHEMA = "cxc"
TABLE = "observation"
TAP_PATH = "/cxctap"
FTP_PATH = "/cdaftp/"
SCS_PATH = "/cxcscs/coneSearch"  # the CDA's cone search over observations
#: cxc.observation as a cone search: ObsID, position and the default (VERB=2) columns.
CONE = ConeTable(
    f"{SCHEMA}.{TABLE}",
    "obsid",
    verb2=("obsid", "target_name", "ra", "dec", "instrument", "grating", "status", "start_date", "exposure_time",
           "public_avail_date"),
)  # fmt: skip
#: HEASARC's Chandra directory, which the CDA's tree root corresponds to (``byobsid/`` below both).
_MIRRORED = "chandra/data/"
_MJD0 = np.datetime64("1858-11-17T00:00:00", "s")
_LAUNCH_MJD = 51384.0  # 1999-07-23
#: NULL for ``np.where`` (an object array: numpy's type stubs take no bare None there)
_NULL = np.array(None, dtype=object)
#: Statuses meaning the observation has not been taken yet.
NOT_TAKEN = ("scheduled", "unobserved", "untriggered")
#: HEASARC chanmaster class -> the science category digit that starts proposal and sequence numbers.
CATEGORY: dict[str, int] = {r["class"]: int(r["category"]) for r in datafiles.rows(__package__, "categories.csv")}
COLUMNS: tuple[FieldMeta, ...] = datafiles.columns(__package__)[f"{SCHEMA}.{TABLE}"]


# ----------------------------------------------------------------------------------- derivation


def _timestamps(mjd: np.ndarray) -> np.ndarray:
    """UTC timestamps (to the second, NaT for NaN) of Modified Julian Dates."""
    mjd = np.asarray(mjd, dtype=float)
    out = _MJD0 + np.rint(np.nan_to_num(mjd) * 86400.0).astype(np.int64).astype("timedelta64[s]")
    out[~np.isfinite(mjd)] = np.datetime64("NaT")
    return out.astype("datetime64[us]")


def _status(status: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """CXC's status words for HEASARC's."""
    out = np.where(status == "processed", "archived", status).astype(object)
    out[(out == "unobserved") & (kind == "TOO")] = "untriggered"
    return out


def _exposure_mode(detector: np.ndarray, data_mode: np.ndarray) -> np.ndarray:
    """``TE``/``CC`` from the ACIS data mode's prefix; NULL for HRC."""
    acis = np.char.startswith(detector.astype(str), "ACIS")
    prefix = np.array([str(m).split("_")[0][:2] for m in data_mode], dtype=object)
    return np.where(acis, prefix, _NULL).astype(object)


def _numbers(start: np.ndarray, classes: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Proposal numbers (``CCKNNNNN``: cycle, category, serial) and sequence numbers (``KNNNNN``)."""
    n = start.size
    cycle = np.clip(((np.nan_to_num(start, nan=_LAUNCH_MJD) - _LAUNCH_MJD) / 365.25).astype(int) + 1, 1, 99)
    category = np.array([CATEGORY.get(str(c), 9) for c in classes], dtype=int)
    serial = rng.integers(0, 100_000, n)
    proposals = np.array([f"{c:02d}{k}{s:05d}" for c, k, s in zip(cycle, category, serial)], dtype=object)
    sequence = (category * 100_000 + rng.integers(0, 100_000, n)).astype(np.int32)
    return proposals, sequence


def _events(exposure_s: np.ndarray, archived: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Event counts and rates, known only for archived observations with exposure."""
    known = archived & (exposure_s > 0)
    rate = np.exp(rng.uniform(np.log(0.5), np.log(200.0), exposure_s.size))
    counts = np.where(known, np.rint(rate * exposure_s), 0).astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = np.where(known, np.round(counts / exposure_s, 4), np.nan)
    return np.where(known, counts, _NULL).astype(object), rates


def _rare(rng: np.random.Generator, values: list[str], n: int, fraction: float) -> np.ndarray:
    """``values`` drawn for a ``fraction`` of rows, NULL elsewhere."""
    out = np.full(n, None, dtype=object)
    pick = rng.random(n) < fraction
    out[pick] = np.array(values, dtype=object)[rng.integers(0, len(values), int(pick.sum()))]
    return out


def _derive(ch: Mapping[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """cxc.observation's columns for every chanmaster row."""
    n = len(ch["obsid"])
    status = _status(np.asarray(ch["status"], dtype=object), np.asarray(ch["type"], dtype=object))
    taken = ~np.isin(status, NOT_TAKEN)
    exposure_s = np.asarray(ch["exposure"], dtype=float)
    start = np.where(taken, np.asarray(ch["time"], dtype=float), np.nan)
    gal = SkyCoord(ra=ch["ra"], dec=ch["dec"], unit="deg", frame="icrs").galactic
    proposals, sequence = _numbers(start, np.asarray(ch["class"]), rng)
    counts, rates = _events(exposure_s, status == "archived", rng)
    return {
        "obsid": np.asarray(ch["obsid"]).astype(np.int32),
        "target_name": np.array([str(t).upper().replace(" ", "") for t in ch["name"]], dtype=object),
        "ra": np.asarray(ch["ra"], dtype=float),
        "dec": np.asarray(ch["dec"], dtype=float),
        "gal_l": np.round(gal.l.deg, 6),
        "gal_b": np.round(gal.b.deg, 6),
        "instrument": np.asarray(ch["detector"], dtype=object),
        "grating": np.asarray(ch["grating"], dtype=object),
        "proposal_number": proposals,
        "status": status,
        "start_date": _timestamps(start),
        "public_avail_date": _timestamps(np.asarray(ch["public_date"], dtype=float)),
        "exposure_time": np.where(taken, np.round(exposure_s / 1000.0, 4), np.nan),
        "exposure_mode": _exposure_mode(np.asarray(ch["detector"]), np.asarray(ch["data_mode"])),
        "event_count": counts,
        "event_count_rate": rates,
        "sequence_num": sequence,
        "grid_name": _rare(rng, ["GC-GRID", "M31-GRID", "LMC-GRID"], n, 0.03),
        "joint_obs": _rare(rng, ["HST", "XMM-Newton", "NuSTAR", "VLA", "NOIRLab"], n, 0.08),
    }


def table(rows: int, *, seed: int = 0, now_mjd: float = 61000.0) -> dict[str, np.ndarray]:
    """cxc.observation derived from ``generate("chanmaster", rows, ...)``, ordered by ObsID."""
    return _from_chanmaster(generate("chanmaster", rows, seed=seed, now_mjd=now_mjd), seed)


def _from_chanmaster(ch: Mapping[str, np.ndarray], seed: int) -> dict[str, np.ndarray]:
    """cxc.observation's columns, ordered by ObsID, from chanmaster rows."""
    data = _derive(ch, np.random.default_rng([seed, zlib.crc32(b"cxc")]))
    order = np.argsort(data["obsid"], kind="stable")
    return {c.name: data[c.name][order] for c in COLUMNS}


# ----------------------------------------------------------------------------------- service


class CxcArchive(TapArchive):
    """Synthetic CDA: ``cxc.observation`` behind a TAP service, as many rows as chanmaster, and ``/cdaftp``."""

    path = TAP_PATH
    #: Send ``.gz`` files with ``Content-Encoding: gzip``, as the real CDA does.
    gzip_encoding = True

    def __init__(self, context: ShapeContext, *, gzip_encoding: bool | None = None) -> None:
        cfg = context.config
        self.now_mjd = context.now_mjd
        self.chanmaster = generate("chanmaster", context.rows_for("chanmaster"), seed=cfg.seed, now_mjd=self.now_mjd)
        self.data = _from_chanmaster(self.chanmaster, cfg.seed)
        description = "Chandra observations: every ObsID with its status, instrument and release date"
        super().__init__(TapDatabase([TapTable(TABLE, description, list(COLUMNS), self.data, SCHEMA)]), context)
        self.cone = ConeSearch(self.db, default_maxrec=cfg.default_maxrec)
        sizes = {t: context.rows_for(t) for t in TABLES}  # HEASARC's key: both shapes build into one directory
        self.heasarc_root = tree_root(context.cache, cfg.seed, sizes, self.now_mjd)
        self.tree: ObservationTree[int] = ObservationTree(
            FTP_PATH,
            self.heasarc_root / _MIRRORED,
            self.injector,
            tops=("byobsid",),
            index=self._tree_index,
            build=self._build,
            gzip_encoding=self.gzip_encoding if gzip_encoding is None else gzip_encoding,
        )

    def app(self) -> web.Application:
        """The TAP service at ``/cxctap`` and the file tree at ``/cdaftp/``."""
        app = super().app()
        self.tree.add_routes(app)
        app.router.add_get(SCS_PATH, self._cone)
        return app

    async def _cone(self, request: web.Request) -> web.Response:
        return await self.cone.answer(request, CONE)

    def endpoints(self, base: str) -> dict[str, str]:
        """The TAP service and the ``cdaftp`` tree at ``base``."""
        return {**super().endpoints(base), "cdaftp": f"{base}{FTP_PATH}", "scs": f"{base}{SCS_PATH}"}

    def _tree_index(self, top: str) -> Iterator[tuple[str, int]]:
        """(``byobsid/<digit>/<obsid>/``, chanmaster row) for every ObsID HEASARC also serves."""
        for index in np.nonzero(public_mask(self.chanmaster, self.now_mjd))[0]:
            path = heasarc_tree.observation_path("chanmaster", row_values(self.chanmaster, int(index)))
            if path.startswith(_MIRRORED + top + "/"):
                yield path[len(_MIRRORED) :], int(index)

    def _build(self, index: int) -> list[str]:
        """Write one ObsID's directory exactly as the HEASARC shape does (same builder, same cache)."""
        return heasarc_tree.build_observation("chanmaster", row_values(self.chanmaster, index), self.heasarc_root)


def create(context: ShapeContext) -> CxcArchive:
    """The CXC shape for a sandbox (``shapes.SHAPES`` entry point)."""
    archive = CxcArchive(context)
    if context.config.prebuild:
        archive.tree.materialize()
    return archive
