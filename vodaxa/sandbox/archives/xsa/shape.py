"""The XSA shape: ESA's XMM-Newton Science Archive TAP, served at ``/tap-server/tap`` as at nxsa.esac.esa.int.

It publishes ``xsa.v_all_observations`` and its public subset ``xsa.v_public_observations`` with
XSA's column names (listed alphabetically, as XSA lists them).  The rows are derived from the
HEASARC ``xmmmaster`` synthetic table of the same size and seed, so the two archives describe the
same observations (ObsIDs, positions, start times, durations, revolutions, proprietary dates),
with XSA's own differences:

- observations not yet performed (``status = 'scheduled'`` in xmmmaster) are absent;
- calibration and engineering observations that xmmmaster does not list are present (ObsIDs
  starting with ``05``), some with ``with_science`` false and a NULL ``proprietary_end_date``;
- a few shared observations have ``with_science`` false (no science exposure);
- where xmmmaster gives the (0, 0) placeholder position, XSA has NULL ``ra``/``dec`` and
  ``moving_target`` true;
- times are timestamps to the second; ``duration`` is whole seconds and ``end_utc`` =
  ``start_utc`` + ``duration``.

Unqualified table names resolve in the ``xsa`` schema, as on the real service (DAXA queries
``from v_all_observations``).  XSA's geometry columns (``footprint_fov``,
``observation_*_spoint``, ``observation_fov_scircle``) are not served: the sandbox's query engine
has no pgsphere types.  ``stc_s`` carries the field of view as STC-S text instead.

The AIO data servlet (``/nxsa-sl/servlet/data-action-aio``, tarballs of each observation's ODF
and PPS files) is :mod:`.aio`; its files are those of the HEASARC tree for the same ObsID.
Postcards (``/nxsa-sl/servlet/data-action?RETRIEVAL_TYPE=POSTCARD``) are :mod:`.postcard`; the
TAP service is ESAC's TAP+ flavour (:mod:`.esac`).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping

import numpy as np
from aiohttp import web
from astropy.coordinates import SkyCoord

from ... import datafiles
from ...protocols.archive import TapArchive
from ...protocols.tapdb import TableRef, TapDatabase, TapTable
from ...protocols.uws import JobLimits
from ...protocols.vo import FieldMeta
from ...settings import ShapeContext
from ..heasarc.shape import row_values, tree_root
from ..heasarc.tables import TABLES, generate
from .aio import AIO_PATH, AioObservation, AioServlet
from .esac import EsacTapService
from .postcard import PostcardServlet

__all__ = ["ALL_COLUMNS", "PUBLIC_COLUMNS", "SCHEMA", "XsaArchive", "create", "mjd_to_datetime64", "tables"]

SCHEMA = "xsa"
TAP_PATH = "/tap-server/tap"
#: XMM-Newton's field of view is 30 arcmin across.
FOV_RADIUS_DEG = 0.25
_MJD0 = np.datetime64("1858-11-17T00:00:00", "s")
_SECONDS_PER_DAY = 86400.0
#: NULL for ``np.where`` (an object array: numpy's type stubs take no bare None there)
_NULL = np.array(None, dtype=object)
#: Fraction of xmmmaster's row count added as XSA-only calibration/engineering observations.
EXTRA_FRACTION = 0.05
#: Fraction of shared observations XSA marks as having no science exposure.
NO_SCIENCE_FRACTION = 0.03


_COLUMNS = datafiles.columns(__package__)
#: v_all_observations' columns, alphabetically as XSA lists them (data/columns.csv).
ALL_COLUMNS: tuple[FieldMeta, ...] = _COLUMNS["v_all_observations"]
#: v_public_observations: v_all_observations' columns plus the target name, alphabetically.
PUBLIC_COLUMNS: tuple[FieldMeta, ...] = _COLUMNS["v_public_observations"]


# ----------------------------------------------------------------------------------- derivation


def mjd_to_datetime64(mjd: np.ndarray) -> np.ndarray:
    """UTC timestamps (to the second, NaT for NaN) of Modified Julian Dates."""
    mjd = np.asarray(mjd, dtype=float)
    seconds = np.rint(np.nan_to_num(mjd) * _SECONDS_PER_DAY).astype(np.int64)
    out = _MJD0 + seconds.astype("timedelta64[s]")
    out[~np.isfinite(mjd)] = np.datetime64("NaT")
    return out


def _galactic(ra: np.ndarray, dec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Galactic (l, b) in degrees; NaN where the position is NULL."""
    gal = SkyCoord(ra=ra, dec=dec, unit="deg", frame="icrs").galactic
    return np.round(gal.l.deg, 6), np.round(gal.b.deg, 6)


def _shared(xmm: Mapping[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """XSA's view of the xmmmaster observations that were performed (all but the scheduled ones)."""
    kept = np.asarray(xmm["status"]) != "scheduled"
    n = int(kept.sum())
    ra = np.asarray(xmm["ra"], dtype=float)[kept].copy()
    dec = np.asarray(xmm["dec"], dtype=float)[kept].copy()
    moving = (ra == 0.0) & (dec == 0.0)  # xmmmaster's placeholder; XSA leaves the position NULL
    ra[moving] = np.nan
    dec[moving] = np.nan
    return {
        "observation_id": np.asarray(xmm["obsid"], dtype=object)[kept],
        "target": np.asarray(xmm["name"], dtype=object)[kept],
        "ra": ra,
        "dec": dec,
        "moving_target": moving,
        "start_mjd": np.asarray(xmm["time"], dtype=float)[kept],
        "duration": np.rint(np.asarray(xmm["duration"], dtype=float)[kept]).astype(np.int64),
        "public_mjd": np.asarray(xmm["public_date"], dtype=float)[kept],
        "revolution": np.asarray(xmm["xmm_revolution"])[kept].astype(np.int32),
        "with_science": rng.random(n) >= NO_SCIENCE_FRACTION,
    }


def _extras(n: int, taken: set[str], rng: np.random.Generator, now_mjd: float) -> dict[str, np.ndarray]:
    """Calibration and engineering observations XSA lists and xmmmaster does not (ObsIDs ``05...``)."""
    ids = np.array([f"05{k:08d}" for k in rng.choice(10**8, n, replace=False)], dtype=object)
    if taken & set(ids):  # cannot happen: xmmmaster's ObsIDs start 01, 06, 07, 08 or 09
        raise RuntimeError("XSA-only ObsIDs collide with xmmmaster's")
    start = np.round(rng.uniform(51544.0, now_mjd - 30.0, n), 6)
    science = rng.random(n) < 0.5
    public = np.where(science, start + 365.0, np.nan)  # no proprietary date without science data
    return {
        "observation_id": ids,
        "target": np.array(["CAL CLOSED", "CAL SOURCE", "ENGINEERING"], dtype=object)[rng.integers(0, 3, n)],
        "ra": np.round(rng.uniform(0.0, 360.0, n), 6),
        "dec": np.round(np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n))), 6),
        "moving_target": np.zeros(n, dtype=bool),
        "start_mjd": start,
        "duration": np.rint(np.exp(rng.uniform(np.log(1e3), np.log(3e4), n))).astype(np.int64),
        "public_mjd": public,
        "revolution": np.clip(((start - 51544.0) / 2.0).astype(np.int64) + 1, 1, 9999).astype(np.int32),
        "with_science": science,
    }


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Rows of several column dicts, one after another."""
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def _choice(rng: np.random.Generator, values: list[str], n: int) -> np.ndarray:
    """``n`` values drawn uniformly from ``values``."""
    return np.array(values, dtype=object)[rng.integers(0, len(values), n)]


def _nominal(ra: np.ndarray, dec: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Nominal pointings (ra_nom, dec_nom) up to 2 arcmin from the targets; NaN where the target has none."""
    offset = rng.uniform(0.0, 2.0 / 60.0, ra.size)
    angle = rng.uniform(0.0, 2 * np.pi, ra.size)
    dec_nom = np.clip(dec + offset * np.cos(angle), -90.0, 90.0)
    ra_nom = (ra + offset * np.sin(angle) / np.maximum(np.cos(np.radians(dec)), 1e-3)) % 360.0
    return np.round(ra_nom, 6), np.round(dec_nom, 6)


def _processing(
    end: np.ndarray, science: np.ndarray, rng: np.random.Generator, now_mjd: float
) -> tuple[np.ndarray, np.ndarray]:
    """ODF and pipeline-product dates after the observation's end (no products without science data)."""
    now = mjd_to_datetime64(np.array([now_mjd]))[0]
    days = np.timedelta64(86400, "s")
    odf = np.minimum(end + (rng.uniform(1.0, 10.0, end.size) * days).astype("timedelta64[s]"), now)
    pps = np.minimum(odf + (rng.uniform(5.0, 60.0, end.size) * days).astype("timedelta64[s]"), now)
    pps[~science] = np.datetime64("NaT")
    return odf, pps


def _stc_s(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """The field of view as STC-S text; NULL where the position is."""
    text = [f"Circle ICRS {r:.6f} {d:.6f} {FOV_RADIUS_DEG}" for r, d in zip(ra.tolist(), dec.tolist())]
    return np.where(np.isnan(ra), _NULL, np.array(text, dtype=object)).astype(object)


def _complete(base: dict[str, np.ndarray], rng: np.random.Generator, now_mjd: float) -> dict[str, np.ndarray]:
    """Add XSA's remaining columns to the core ones, rows ordered by start time."""
    order = np.argsort(base["start_mjd"], kind="stable")
    core = {k: v[order] for k, v in base.items()}
    n = len(order)
    ra, dec, science = core["ra"], core["dec"], core["with_science"]
    lii, bii = _galactic(ra, dec)
    ra_nom, dec_nom = _nominal(ra, dec, rng)
    start = mjd_to_datetime64(core["start_mjd"])
    end = start + core["duration"].astype("timedelta64[s]")
    odf_proc, pps_proc = _processing(end, science, rng, now_mjd)
    proposal = np.array([str(o)[:6] for o in core["observation_id"]], dtype=object)
    _, proposal_index = np.unique(proposal.astype(str), return_inverse=True)
    return {
        "bii": bii,
        "dec": dec,
        "dec_nom": dec_nom,
        "duration": core["duration"].astype(np.int32),
        "end_utc": end,
        "lii": lii,
        "moving_target": core["moving_target"],
        "observation_id": core["observation_id"],
        "observation_oid": np.arange(n, dtype=np.int64) + 100_000_001,
        "odf_proc_date": odf_proc,
        "odf_version": _choice(rng, ["1", "2", "3"], n),
        "position_angle": np.round(rng.uniform(0.0, 360.0, n), 3),
        "pps_proc_date": pps_proc,
        "pps_version": np.where(science, _choice(rng, ["1", "2"], n), _NULL).astype(object),
        "proposal_id": proposal,
        "proposal_oid": proposal_index.astype(np.int64) + 500_001,
        "proprietary_end_date": mjd_to_datetime64(core["public_mjd"]),
        "ra": ra,
        "ra_nom": ra_nom,
        "revolution": core["revolution"],
        "sas_version": np.where(science, _choice(rng, ["xmmsas_20210317_1624", "xmmsas_20230412_1735"], n), _NULL),
        "start_utc": start,
        "stc_s": _stc_s(ra, dec),
        "target": core["target"],
        "with_science": science,
    }


def tables(
    rows: int, *, seed: int = 0, now_mjd: float = 61000.0, xmm: Mapping[str, np.ndarray] | None = None
) -> dict[str, dict[str, np.ndarray]]:
    """XSA's tables derived from ``generate("xmmmaster", rows, ...)`` (or ``xmm``, that table already generated)."""
    xmm = xmm if xmm is not None else generate("xmmmaster", rows, seed=seed, now_mjd=now_mjd)
    rng = np.random.default_rng([seed, zlib.crc32(b"xsa")])
    shared = _shared(xmm, rng)
    extras = _extras(int(np.ceil(rows * EXTRA_FRACTION)), set(xmm["obsid"]), rng, now_mjd)
    full = _complete(_concat([shared, extras]), rng, now_mjd)
    for key in ("odf_version", "pps_version", "sas_version"):
        full[key] = np.asarray(full[key], dtype=object)
    for key in ("start_utc", "end_utc", "odf_proc_date", "pps_proc_date", "proprietary_end_date"):
        full[key] = full[key].astype("datetime64[us]")
    now = mjd_to_datetime64(np.array([now_mjd]))[0]
    public = ~np.isnat(full["proprietary_end_date"]) & (full["proprietary_end_date"] <= now)
    return {
        "v_all_observations": {c.name: full[c.name] for c in ALL_COLUMNS},
        "v_public_observations": {c.name: full[c.name][public] for c in PUBLIC_COLUMNS},
    }


# ----------------------------------------------------------------------------------- service


class _XsaDatabase(TapDatabase):
    """XSA's query engine: an unqualified table name is looked up in the ``xsa`` schema too."""

    def _resolve(self, schema: str | None, name: str, uploads: Mapping[str, str], read: list[str]) -> TableRef:
        if schema is None and name.lower() not in self.tables and f"{SCHEMA}.{name}".lower() in self.tables:
            schema = SCHEMA
        return super()._resolve(schema, name, uploads, read)


class XsaArchive(TapArchive):
    """Synthetic XSA: the two observation views behind a TAP service, from as many rows as xmmmaster, and AIO."""

    path = TAP_PATH
    #: ESAC's TAP+ jobs: executionDuration 1800 s, destroyed three days after creation (the hard limit is assumed).
    job_limits = JobLimits(execution_duration=1800, execution_hard=1800, retention=3 * 86_400.0)
    tap_class = EsacTapService  # ESAC's TAP+: /tables carries the esatapplus attributes TapPlus needs

    def __init__(self, context: ShapeContext) -> None:
        cfg, rows = context.config, context.rows_for("xmmmaster")
        self.xmmmaster = generate("xmmmaster", rows, seed=cfg.seed, now_mjd=context.now_mjd)
        self.data = tables(rows, seed=cfg.seed, now_mjd=context.now_mjd, xmm=self.xmmmaster)
        descriptions = {
            "v_all_observations": "All XMM-Newton observations in the archive",
            "v_public_observations": "XMM-Newton observations whose proprietary period has ended",
        }
        columns = {"v_all_observations": ALL_COLUMNS, "v_public_observations": PUBLIC_COLUMNS}
        db = _XsaDatabase(
            [TapTable(name, descriptions[name], list(columns[name]), data, SCHEMA) for name, data in self.data.items()]
        )
        super().__init__(db, context)
        self._xsa_index = {str(o): i for i, o in enumerate(self.data["v_all_observations"]["observation_id"])}
        self._xmm_index = {str(o): i for i, o in enumerate(self.xmmmaster["obsid"])}
        sizes = {t: context.rows_for(t) for t in TABLES}  # HEASARC's key: both shapes build into one directory
        self.aio = AioServlet(
            self.aio_observation,
            heasarc_root=tree_root(context.cache, cfg.seed, sizes, context.now_mjd),
            cache=context.cache,
            injector=context.injector,
            now_mjd=context.now_mjd,
            accounts=cfg.accounts,
        )

    def app(self) -> web.Application:
        """The TAP service at ``/tap-server/tap``, the AIO servlet and the postcard servlet."""
        app = super().app()
        self.aio.add_routes(app)
        PostcardServlet(self.has_postcard).add_routes(app)
        return app

    def has_postcard(self, obsid: str) -> bool:
        """Whether ``obsid`` has pipeline products, and so postcards."""
        index = self._xsa_index.get(obsid)
        return index is not None and self.data["v_all_observations"]["pps_version"][index] is not None

    def endpoints(self, base: str) -> dict[str, str]:
        """The TAP service and the AIO servlet at ``base`` (vodaxa uses no postcards)."""
        return {**super().endpoints(base), "aio": base + AIO_PATH}

    def aio_observation(self, obsid: str) -> AioObservation | None:
        """What the AIO servlet needs of ``obsid``: HEASARC's xmmmaster row (or one made from XSA's), dates."""
        index = self._xsa_index.get(obsid)
        if index is None:
            return None
        obs = self.data["v_all_observations"]
        end = obs["proprietary_end_date"][index]
        at = self._xmm_index.get(obsid)
        row = row_values(self.xmmmaster, at) if at is not None else _xmmmaster_row(obs, index)
        return AioObservation(row, None if np.isnat(end) else end, obs["pps_version"][index] is not None)


def _xmmmaster_row(obs: Mapping[str, np.ndarray], index: int) -> dict[str, object]:
    """An xmmmaster-style row for an XSA-only observation, so the HEASARC tree builder can write its files."""
    start = (obs["start_utc"][index] - _MJD0) / np.timedelta64(1, "s") / _SECONDS_PER_DAY
    ra, dec = float(obs["ra"][index]), float(obs["dec"][index])
    return {
        "obsid": str(obs["observation_id"][index]),
        "name": str(obs["observation_id"][index]),
        "ra": None if np.isnan(ra) else ra,
        "dec": None if np.isnan(dec) else dec,
        "time": float(start),
        "end_time": float(start + int(obs["duration"][index]) / _SECONDS_PER_DAY),
        "xmm_revolution": int(obs["revolution"][index]),
    }


def create(context: ShapeContext) -> XsaArchive:
    """The XSA shape for a sandbox (``shapes.SHAPES`` entry point)."""
    return XsaArchive(context)
