"""The eROSITA shape: MPE's EDR observations page and the eRASS1-DE sky-tile file, with synthetic content.

Paths as at erosita.mpe.mpg.de: ``/edr/eROSITAObservations/`` (an HTML table per Cal-PV field
category: field name, ObsIDs, R.A., Dec., mode, tarball link) and
``/dr1/eSASS4DR1/eSASS4DR1_ProductsDescription/SKYMAPS_052022_MPE.fits`` (extension SMAPS with the
real file's 24 columns).  The sky tiles follow the real tiling scheme: 3-degree declination bands
(caps below -88.5 and above 88.5 deg) cut into round(120 cos(edge nearer the equator)) tiles each,
4700 in all; a tile is DE (OWNER 2) when its 3.6-degree footprint lies wholly in the western Galactic
hemisphere (179.944 < l < 359.944 deg), shared (OWNER 0) when it straddles the border, RU (OWNER 1)
otherwise, and the file holds the DE and shared tiles as the real one does.  Cal-PV fields are ~30
real targets with synthetic ObsIDs; the page misprints Puppis A's ObsIDs as 700195, as the real one does.

What the real tables lack (observation times, active cameras) the shape still knows and writes into
the files it serves (:mod:`.files`): the Cal-PV field tarballs at ``/edr/eROSITAObservations/
CalPvObs/<Field>.tar.gz`` and the DR1 tile directories below ``/dr1/erodat/data/download/``.
"""

from __future__ import annotations

import asyncio
import io
import math
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html import escape
from pathlib import Path

import numpy as np
from aiohttp import web

from ... import datafiles
from ...protocols.faults import FaultInjector, make_app
from ...settings import ShapeContext
from .files import CALPV_TARBALLS, DR1_DOWNLOAD, CalPvTarballs, Tile, dr1_tree

__all__ = [
    "CalPvObservation",
    "ErositaArchive",
    "calpv_page",
    "calpv_programme",
    "create",
    "sky_tiles",
    "tiles_fits",
]

CALPV_PAGE = "/edr/eROSITAObservations/"
TILES_FILE = "/dr1/eSASS4DR1/eSASS4DR1_ProductsDescription/SKYMAPS_052022_MPE.fits"
DE_OWNERS = (0, 2)
FILES_VERSION = 1  # bump when the served files change, so old sandbox caches are not reused
_DE_LON = (179.94423568, 359.94423568)  # the western Galactic hemisphere: eROSITA-DE's half
_ERASS1 = (datetime(2019, 12, 12, tzinfo=timezone.utc), datetime(2020, 6, 11, 12, tzinfo=timezone.utc))
_CALPV = (datetime(2019, 9, 9, 12, tzinfo=timezone.utc), datetime(2019, 12, 8, 12, tzinfo=timezone.utc))
#: The EDR page's sections: (category, title), from data/calpv_sections.csv.
_SECTIONS: tuple[tuple[str, str], ...] = tuple(
    (r["category"], r["title"]) for r in datafiles.rows(__package__, "calpv_sections.csv")
)
#: (tarball stem, category, R.A., Dec. (deg), observations, modes): real targets, synthetic programme;
#: from data/calpv_fields.csv.
_FIELDS: tuple[tuple[str, str, float, float, int, str], ...] = tuple(
    (r["field"], r["category"], float(r["ra"]), float(r["dec"]), int(r["observations"]), r["modes"])
    for r in datafiles.rows(__package__, "calpv_fields.csv")
)
_MISPRINTED = {"Puppis_A": ("700195", ("700199", "700200"))}  # printed ObsID, real ObsIDs


@dataclass(frozen=True)
class CalPvObservation:
    """One synthetic Cal-PV observation, with what the EDR page does not show (times, cameras)."""

    obsid: str
    field: str
    field_type: str
    ra: float
    dec: float
    mode: str  # "p" pointing or "s" scan, as the page writes it
    start: datetime
    end: datetime
    active_insts: tuple[str, ...]


# ------------------------------------------------------------------------------------------- Cal-PV
def calpv_programme(seed: int = 0) -> list[CalPvObservation]:
    """The synthetic Cal-PV programme: ~170 ObsIDs in ~30 fields, observed between Sept and Dec 2019."""
    rng = np.random.default_rng(seed)
    reserved = {"700195"} | {o for _, real in _MISPRINTED.values() for o in real}
    pointing = (f"{n}" for n in range(700010, 700400) if f"{n}" not in reserved)
    scan = (f"{n}" for n in range(300001, 300100))
    specs: list[tuple[str, str, str, float, float, str]] = []
    for name, kind, ra, dec, count, modes in _FIELDS:
        ids = list(_MISPRINTED[name][1]) if name in _MISPRINTED else []
        for i in range(count):
            mode = modes[i] if len(modes) == count else modes
            obsid = ids[i] if ids else next(scan if mode == "s" else pointing)
            if name == "eFEDS":  # four long scans side by side along the equator
                pos = (129.55 + 4.3 * i, dec)
            else:
                offset = rng.normal(0.0, 0.15, 2) if count > 1 else np.zeros(2)
                pos = ((ra + offset[0] / math.cos(math.radians(dec))) % 360, dec + offset[1])
            specs.append((obsid, name, kind, round(pos[0], 2), round(pos[1], 2), mode))
    durations = [_duration(rng, spec[5]) for spec in specs]
    span = (_CALPV[1] - _CALPV[0]).total_seconds()
    gaps = rng.dirichlet(np.ones(len(specs) + 1)) * (span - sum(durations))
    out, clock = [], _CALPV[0]
    for spec, duration, gap in zip(specs, durations, gaps):
        start = clock + timedelta(seconds=round(float(gap)))
        end = start + timedelta(seconds=round(duration))
        out.append(CalPvObservation(*spec, start, end, _cameras(rng, start)))
        clock = end
    return out


def _duration(rng: np.random.Generator, mode: str) -> float:
    """Seconds on target: scans of a day or so, pointings of an hour to a day and a half."""
    if mode == "s":
        return float(rng.uniform(85e3, 95e3))
    return float(np.clip(rng.lognormal(9.0, 0.9), 2.7e3, 1.5e5))


def _cameras(rng: np.random.Generator, start: datetime) -> tuple[str, ...]:
    """Which telescope modules were on: few in the early commissioning weeks, mostly all seven later."""
    early = (("TM5", "TM6", "TM7"), ("TM6",), ("TM1", "TM2"), ("TM3", "TM4"))
    late = (tuple(f"TM{i}" for i in range(1, 8)), ("TM1", "TM2", "TM3", "TM4", "TM6"))
    if start < datetime(2019, 10, 13, tzinfo=timezone.utc):
        return early[int(rng.choice(4, p=[0.7, 0.1, 0.1, 0.1]))]
    return late[int(rng.choice(2, p=[0.9, 0.1]))]


def calpv_page(observations: list[CalPvObservation]) -> str:
    """The EDR observations page: per category a table with one row per field and its tarball link."""
    parts = [
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>eROSITA-DE EDR: Observations</title>"
        "</head><body>\n<h1>eROSITA-DE Early Data Release: Cal-PV observations</h1>\n"
        "<p>Calibrated event files of the observations of the Calibration and Performance Verification "
        "phase, one tarball per field.</p>\n"
    ]
    for kind, title in _SECTIONS:
        parts.append(
            f"<h2>{title}</h2>\n<table border='1'>\n<tr><th>Field name</th><th>Obs. ID</th>"
            "<th>R.A. [deg]</th><th>Dec. [deg]</th><th>Obs. mode</th><th>Data</th></tr>\n"
        )
        for name, *_ in (f for f in _FIELDS if f[1] == kind):
            rows = [o for o in observations if o.field == name]
            ids = [o.obsid for o in rows]
            if name in _MISPRINTED:  # the real page's misprint: one ObsID, one position
                ids, rows = [_MISPRINTED[name][0]], rows[:1]
            cells = (
                escape(name.replace("_", " ")),
                ", ".join(ids),
                ", ".join(f"{o.ra:.2f}" for o in rows),
                ", ".join(f"{o.dec:.2f}" for o in rows),
                ", ".join(o.mode for o in rows),
                f"<a href='CalPvObs/{escape(name)}.tar.gz'>{escape(name)}.tar.gz</a>",
            )
            parts.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>\n")
        parts.append("</table>\n")
    parts.append("</body></html>\n")
    return "".join(parts)


# ------------------------------------------------------------------------------------------- sky tiles
def _bands() -> list[tuple[float, float, float, int]]:
    """(dec_min, dec_max, dec_centre, tiles) per declination band of the eRASS tiling, south to north."""
    bands = [(-90.0, -88.5, -90.0, 1)]
    for centre in range(-87, 88, 3):
        lo, hi = centre - 1.5, centre + 1.5
        edge = 0.0 if lo < 0 < hi else min(abs(lo), abs(hi))
        bands.append((lo, hi, float(centre), round(120 * math.cos(math.radians(edge)))))
    return [*bands, (88.5, 90.0, 90.0, 1)]


def _neighbours(band: np.ndarray, ra: np.ndarray, dec: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """FIELD1..9 per tile: the tiles whose 3.6-degree squares can touch (centres under 5 deg apart),
    those of the band to the north first, then of its own band, then of the band to the south."""
    out = np.zeros((len(ids), 9), dtype=np.int64)
    members = [np.flatnonzero(band == b) for b in range(int(band.max()) + 1)]
    for b, mine in enumerate(members):
        near = np.concatenate([members[c] for c in (b + 1, b, b - 1) if 0 <= c < len(members)])
        r1, d1 = np.radians(ra[mine])[:, None], np.radians(dec[mine])[:, None]
        r2, d2 = np.radians(ra[near])[None, :], np.radians(dec[near])[None, :]
        hav = np.sin((d2 - d1) / 2) ** 2 + np.cos(d1) * np.cos(d2) * np.sin((r2 - r1) / 2) ** 2
        close = np.degrees(2 * np.arcsin(np.sqrt(np.clip(hav, 0, 1)))) < 5.0
        for row, i in enumerate(mine):
            found = near[close[row] & (near != i)][:9]
            out[i, : len(found)] = ids[found]
    return out


def sky_tiles(owners: tuple[int, ...] = DE_OWNERS) -> dict[str, np.ndarray]:
    """The sky tiles with the given OWNER codes, as the SMAPS columns plus each tile's START/END."""
    from astropy.coordinates import SkyCoord

    bands = _bands()
    rows: list[tuple[int, int, float, float]] = []  # band, index, ra_min, ra_max
    for b, (_, _, _, n) in enumerate(bands):
        rows += [(b, k, 360.0 * k / n, 360.0 * (k + 1) / n) for k in range(n)]
    band = np.array([r[0] for r in rows])
    t = {
        "RA_MIN": np.array([r[2] for r in rows]),
        "RA_MAX": np.array([r[3] for r in rows]),
        "DE_MIN": np.array([bands[b][0] for b in band]),
        "DE_MAX": np.array([bands[b][1] for b in band]),
        "DE_CEN": np.array([bands[b][2] for b in band]),
    }
    cap = t["RA_MAX"] - t["RA_MIN"] >= 360
    t["RA_CEN"] = np.where(cap, 0.0, (t["RA_MIN"] + t["RA_MAX"]) / 2)
    # RRRDDD: R.A. and 90 - Dec. of the centre in degrees; the caps are 001180 (south) and 001000 (north)
    t["SRVMAP"] = np.where(cap, 1000, np.round(t["RA_CEN"]) * 1000) + np.round(90 - t["DE_CEN"])
    t["SRVMAP"] = t["SRVMAP"].astype(np.int64)
    centre = SkyCoord(t["RA_CEN"], t["DE_CEN"], unit="deg")
    gal, ecl = centre.galactic, centre.barycentricmeanecliptic
    t["ELON_CEN"], t["ELAT_CEN"] = ecl.lon.deg, ecl.lat.deg
    t["GLON_CEN"], t["GLAT_CEN"] = gal.l.deg, gal.b.deg
    t["X_MIN"] = t["Y_MIN"] = np.full(len(rows), 18.0)  # the margins that widen a tile to 3.6 deg
    t["OWNER"] = _owners(t)
    fields = _neighbours(band, t["RA_CEN"], t["DE_CEN"], t["SRVMAP"])
    t["N_NBRS"] = (fields > 0).sum(axis=1)
    t |= {f"FIELD{i + 1}": fields[:, i] for i in range(9)}
    t["START"], t["END"] = _scan_windows(t["ELON_CEN"], t["ELAT_CEN"])
    keep = np.isin(t["OWNER"], owners)
    return {name: values[keep] for name, values in t.items()}


def _owners(t: dict[str, np.ndarray]) -> np.ndarray:
    """OWNER per tile: 2 if its 3.6-degree footprint is all in the DE half, 1 if none of it, else 0."""
    from astropy.coordinates import SkyCoord

    frac = np.linspace(0.0, 1.0, 3)
    cosd = np.clip(np.cos(np.radians(t["DE_CEN"])), 0.05, None)
    ra_lo, ra_hi = t["RA_MIN"] - 0.3 / cosd, t["RA_MAX"] + 0.3 / cosd
    de_lo, de_hi = np.maximum(t["DE_MIN"] - 0.3, -90), np.minimum(t["DE_MAX"] + 0.3, 90)
    ra = (ra_lo[:, None, None] + (ra_hi - ra_lo)[:, None, None] * frac[None, :, None]) % 360
    dec = de_lo[:, None, None] + (de_hi - de_lo)[:, None, None] * frac[None, None, :]
    ra, dec = np.broadcast_arrays(ra, dec)
    lon = SkyCoord(ra.ravel(), dec.ravel(), unit="deg").galactic.l.deg.reshape(len(ra), -1)
    de = (lon > _DE_LON[0]) & (lon < _DE_LON[1])
    return np.where(de.all(axis=1), 2, np.where(de.any(axis=1), 0, 1))


def _scan_windows(elon: np.ndarray, elat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """When eRASS1 scanned each tile: its great circles through the ecliptic poles keep 90 deg from the
    Sun, so a tile is crossed when the Sun's longitude is its own +-90 deg, for longer near the poles."""
    rate = 360.0 / 365.25  # deg per day
    sun0 = 260.0  # the Sun's ecliptic longitude when eRASS1 began
    days = (_ERASS1[1] - _ERASS1[0]).total_seconds() / 86400
    crossing = np.minimum(((elon - 90 - sun0) % 360) / rate, ((elon + 90 - sun0) % 360) / rate)
    half = 2.3 / np.clip(np.cos(np.radians(elat)), 1e-3, None) / rate
    start = np.clip(crossing - half, 0, days)
    end = np.clip(crossing + half, 0, days)
    t0 = np.datetime64(_ERASS1[0].replace(tzinfo=None), "s")
    return t0 + (start * 86400).astype("timedelta64[s]"), t0 + (end * 86400).astype("timedelta64[s]")


def tiles_fits(tiles: dict[str, np.ndarray]) -> bytes:
    """The tiles as the real SKYMAPS file lays them out: extension SMAPS, 24 columns."""
    from astropy.io import fits

    layout = (
        [("SRVMAP", "J", None), ("OWNER", "I", None)]
        + [(c, "D", "deg") for c in ("RA_MIN", "RA_MAX", "DE_MIN", "DE_MAX", "RA_CEN", "DE_CEN")]
        + [(c, "D", "deg") for c in ("ELON_CEN", "ELAT_CEN", "GLON_CEN", "GLAT_CEN")]
        + [("X_MIN", "D", "arcmin"), ("Y_MIN", "D", "arcmin"), ("N_NBRS", "I", None)]
        + [(f"FIELD{i}", "J", None) for i in range(1, 10)]
    )
    columns = [fits.Column(name=n, format=f, unit=u, array=tiles[n]) for n, f, u in layout]
    table = fits.BinTableHDU.from_columns(columns, name="SMAPS")
    buffer = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(buffer)
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------- the shape
class ErositaArchive:
    """Synthetic erosita.mpe.mpg.de: the EDR page, Cal-PV field tarballs, the DR1 sky-tile file and tiles."""

    def __init__(self, *, seed: int, injector: FaultInjector, cache: Path) -> None:
        self.injector = injector
        self.seed = seed
        self.observations = calpv_programme(seed)
        self.hits: Counter[str] = Counter()  # requests answered, per path
        self._sky: dict[str, np.ndarray] | None = None
        self._tiles: bytes | None = None
        self._tile_table: dict[str, Tile] | None = None
        self._lock = threading.RLock()
        root = cache / f"erosita-v{FILES_VERSION}-s{seed}"
        self.tarballs = CalPvTarballs(root / "CalPvObs", self.observations, seed=seed)
        tops = {f"{round(90 - centre):03d}" for _, _, centre, _ in _bands()}
        self.tree = dr1_tree(root / "dr1", injector, tops=tops, tiles=self.tiles, seed=seed)

    def endpoints(self, base: str) -> dict[str, str]:
        """vodaxa's eROSITA services at ``base``: both tables, the Cal-PV tarballs and the DR1 download area."""
        return {
            "calpv_table": f"{base}{CALPV_PAGE}",
            "dr1_tiles": f"{base}{TILES_FILE}",
            "calpv": f"{base}{CALPV_TARBALLS}",
            "dr1": f"{base}{DR1_DOWNLOAD}",
        }

    def close(self) -> None:
        """Nothing to release."""

    def app(self) -> web.Application:
        """The aiohttp application answering in erosita.mpe.mpg.de's shapes."""
        app = make_app(self.injector)
        app.router.add_get(CALPV_PAGE, self._calpv)
        app.router.add_get(CALPV_PAGE.rstrip("/"), self._to_directory)
        app.router.add_get(TILES_FILE, self._tiles_file)
        app.router.add_get(CALPV_TARBALLS + "{name}", self._tarball)
        self.tree.add_routes(app)
        return app

    def tiles(self) -> dict[str, Tile]:
        """The DR1 sky tiles by id (computed once, on first use)."""
        with self._lock:
            if self._tile_table is None:
                t = self.sky()
                self._tile_table = {
                    f"{int(srv):06d}": Tile(f"{int(srv):06d}", int(owner), float(ra), float(dec), start, end)
                    for srv, owner, ra, dec, start, end in zip(
                        t["SRVMAP"], t["OWNER"], t["RA_CEN"], t["DE_CEN"], t["START"], t["END"]
                    )
                }
            return self._tile_table

    def sky(self) -> dict[str, np.ndarray]:
        """The DE and shared sky tiles' columns (computed once, on first use)."""
        with self._lock:
            if self._sky is None:
                self._sky = sky_tiles()
            return self._sky

    def tiles_body(self) -> bytes:
        """The sky-tile FITS file (built once, on first use)."""
        with self._lock:
            if self._tiles is None:
                self._tiles = tiles_fits(self.sky())
            return self._tiles

    async def _calpv(self, request: web.Request) -> web.Response:
        self.hits[request.path] += 1
        return web.Response(text=calpv_page(self.observations), content_type="text/html")

    async def _tarball(self, request: web.Request) -> web.StreamResponse:
        self.hits[request.path] += 1
        return await self.tarballs.handle(request, self.injector)

    async def _to_directory(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPMovedPermanently(CALPV_PAGE)

    async def _tiles_file(self, request: web.Request) -> web.Response:
        self.hits[request.path] += 1
        body = await asyncio.to_thread(self.tiles_body)
        return web.Response(body=body, content_type="application/fits")


def create(context: ShapeContext) -> ErositaArchive:
    """The eROSITA shape for a sandbox (``shapes.SHAPES`` entry point)."""
    return ErositaArchive(seed=context.config.seed, injector=context.injector, cache=context.cache)
