"""eROSITA files for the sandbox: Cal-PV field tarballs and eRASS1-DE (DR1) sky-tile directories.

Layouts as MPE publishes them (file names per the EDR and DR1 naming schemes):

* Cal-PV: one tarball per field at ``/edr/eROSITAObservations/CalPvObs/<Field>.tar.gz`` holding
  ``<Field>/fm00_<ObsID>_020_EventList_c001.fits`` per observation (survey fields one folder deeper,
  ``<Field>/<Field>/...``, as DAXA found for eFEDS and eta Cha).  Each event list has an EVENTS table
  with a TM_NR column (which telescope module saw the photon) and a GTIn extension per active TM.
* DR1: ``/dr1/erodat/data/download/<DDD>/<RRR>/`` per tile RRRDDD, with ``EXP_<ver>/`` (the event
  list ``e?01_<tile>_020_EventList_c<ver>.fits.gz`` and images ``_02[1-7]_Image_``) and
  ``DET_<ver>/`` (``_02[1-7]_ExposureMap_``, ``_02[1-4]_BackgrImage_``, ``_02[1-4]_ApeSensMap?B_``,
  ``_020_AreaTab?Blik5_``, ``_020_SensMap?Blik5_``).  ``e?`` is ``em`` (DE tile) or ``eb`` (shared).
  Every tile has pipeline version 010; about a quarter also have 020 (synthetic: only 010 is public).

Content is synthetic and deterministic byte for byte (seeded from the sandbox seed, the ObsID or tile
and the file name; tar and gzip headers carry fixed times), so ETags and resumed downloads hold.
Tarballs and tile directories are written lazily into the sandbox cache, atomically.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import os
import shutil
import tarfile
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

import numpy as np
from aiohttp import web

from ...protocols.faults import FaultInjector
from ...protocols.files import serve_file
from ...protocols.tree import ObservationTree
from ...synth.fitsgen import Card, Col, bintable_hdu, primary_hdu

__all__ = [
    "CALPV_TARBALLS",
    "DR1_DOWNLOAD",
    "CalPvEvents",
    "CalPvTarballs",
    "Tile",
    "calpv_member",
    "calpv_tarball",
    "dr1_tree",
    "tile_directory",
    "tile_files",
    "tile_versions",
]

CALPV_TARBALLS = "/edr/eROSITAObservations/CalPvObs/"
DR1_DOWNLOAD = "/dr1/erodat/data/download/"
#: SRG's mission time zero (MJD): seconds count from 2000-01-01 00:00 Moscow time.
MJDREF = 51543.875
_MJD_UNIX = 40587.0
_TMS = tuple(range(1, 8))
_EPOCH = datetime(2021, 6, 1, tzinfo=timezone.utc)  # tar member times: the EDR's release month
_IMAGE = 32  # synthetic image side (pixels); the real ones are 3240 x 3240


# ------------------------------------------------------------------------------------------- shared
def _seed(*parts: object) -> np.random.Generator:
    """A generator seeded from stable hashes of ``parts``."""
    return np.random.default_rng([zlib.crc32(str(p).encode()) for p in parts])


def _mission_time(when: datetime | np.datetime64) -> float:
    """Seconds since MJDREF for a UTC time."""
    unix = when.timestamp() if isinstance(when, datetime) else float(when.astype("datetime64[s]").astype(np.int64))
    return round((_MJD_UNIX + unix / 86400.0 - MJDREF) * 86400.0, 3)


def _iso(seconds: float) -> str:
    """A mission time as a FITS date string."""
    return datetime.fromtimestamp((MJDREF - _MJD_UNIX) * 86400.0 + seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def _keys(obs_id: str, target: str, t0: float, t1: float, ra: float, dec: float, tms: Sequence[int]) -> list[Card]:
    """Header keys every HDU carries: mission, observation, time range, pointing and the active TMs."""
    keys: list[Card] = [
        ("TELESCOP", "SRG", "mission"),
        ("INSTRUME", "eROSITA", "instrument"),
        ("OBS_ID", obs_id, "observation or sky tile"),
        ("OBJECT", target[:60], "target"),
        ("DATE-OBS", _iso(t0), "start (UTC)"),
        ("DATE-END", _iso(t1), "end (UTC)"),
        ("MJDREF", MJDREF, "MJD of time zero"),
        ("TIMESYS", "TT", ""),
        ("TIMEUNIT", "s", ""),
        ("TSTART", t0, "start (mission time)"),
        ("TSTOP", t1, "stop (mission time)"),
        ("RA_PNT", round(ra, 6), "pointing or tile centre RA (deg)"),
        ("DEC_PNT", round(dec, 6), "pointing or tile centre Dec (deg)"),
        ("EQUINOX", 2000.0, ""),
        ("RADECSYS", "FK5", ""),
    ]
    keys += [(f"INSTRUM{tm}", f"TM{tm}", "active telescope module") for tm in tms]
    return [*keys, ("ORIGIN", "VODAXA-SANDBOX", "synthetic data"), ("CREATOR", "vodaxa.sandbox", "")]


def _gtis(rng: np.random.Generator, t0: float, t1: float, passes: int) -> np.ndarray:
    """``passes`` good-time intervals spread over ``[t0, t1]`` (one for a pointing, several for scans)."""
    edges = np.linspace(t0, t1, passes + 1)
    width = (edges[1] - edges[0]) * (0.9 if passes == 1 else 0.15)
    starts = edges[:-1] + rng.uniform(0.0, (edges[1] - edges[0]) - width, passes)
    return np.round(np.column_stack([starts, starts + width]), 3)


def _event_list(
    rng: np.random.Generator,
    keys: list[Card],
    *,
    ra: float,
    dec: float,
    half: float,
    gtis: np.ndarray,
    tms: Sequence[int],
    n: int,
) -> bytes:
    """An eSASS-like event list: EVENTS (TIME, RA, DEC, X, Y, PI, TM_NR, PAT_TYP) and a GTIn per TM."""
    lengths = gtis[:, 1] - gtis[:, 0]
    u = np.sort(rng.uniform(0.0, float(lengths.sum()), n))
    k = np.minimum(np.searchsorted(np.cumsum(lengths), u, side="right"), len(gtis) - 1)
    times = gtis[k, 0] + u - (np.cumsum(lengths)[k] - lengths[k])
    src = rng.random(n) < 0.3
    cosd = max(np.cos(np.radians(dec)), 0.05)
    dra = np.where(src, rng.normal(0.0, 0.01, n), rng.uniform(-half, half, n)) / cosd
    ddec = np.where(src, rng.normal(0.0, 0.01, n), rng.uniform(-half, half, n))
    pix = 0.05 / 3600.0  # eSASS sky pixels are 0.05 arcsec
    energy = 200.0 * (10000.0 / 200.0) ** rng.beta(1.0, 4.0, n)
    xy = (("TCTYP", "RA---SIN"), ("TCRPX", 0.0), ("TCRVL", round(ra, 6)), ("TCDLT", -pix), ("TCUNI", "deg"))
    yy = (("TCTYP", "DEC--SIN"), ("TCRPX", 0.0), ("TCRVL", round(dec, 6)), ("TCDLT", pix), ("TCUNI", "deg"))
    cols = [
        Col("TIME", "D", "s", times),
        Col("RA", "D", "deg", np.round((ra + dra) % 360.0, 6)),
        Col("DEC", "D", "deg", np.round(np.clip(dec + ddec, -90.0, 90.0), 6)),
        Col("X", "J", "pixel", np.round(-dra * cosd / pix).astype(np.int64), xy),
        Col("Y", "J", "pixel", np.round(ddec / pix).astype(np.int64), yy),
        Col("PI", "E", "eV", energy.astype(np.float32)),
        Col("TM_NR", "I", "", rng.choice(np.asarray(tms), n)),
        Col("PAT_TYP", "I", "", rng.choice([1, 2, 3, 4], n, p=[0.6, 0.3, 0.05, 0.05])),
    ]
    out = primary_hdu(keys) + bintable_hdu("EVENTS", cols, [("HDUCLAS1", "EVENTS", ""), *keys])
    for tm in tms:
        gti = [Col("START", "D", "s", gtis[:, 0]), Col("STOP", "D", "s", gtis[:, 1])]
        out += bintable_hdu(f"GTI{tm}", gti, [("HDUCLAS1", "GTI", ""), *keys])
    return out


# ------------------------------------------------------------------------------------------- Cal-PV
class CalPvObservationLike(Protocol):
    """The fields of a Cal-PV observation (``erosita.CalPvObservation``) the tarball writer reads (read-only)."""

    @property
    def obsid(self) -> str: ...
    @property
    def field(self) -> str: ...
    @property
    def field_type(self) -> str: ...
    @property
    def ra(self) -> float: ...
    @property
    def dec(self) -> float: ...
    @property
    def mode(self) -> str: ...
    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...
    @property
    def active_insts(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class CalPvEvents:
    """What a Cal-PV event list needs to know about its observation."""

    obsid: str
    field: str
    ra: float
    dec: float
    scan: bool
    start: datetime
    end: datetime
    tms: tuple[int, ...]


def calpv_member(stem: str, obsid: str, *, nested: bool) -> str:
    """The path of an ObsID's event list inside its field tarball."""
    folder = f"{stem}/{stem}/" if nested else f"{stem}/"
    return f"{folder}fm00_{obsid}_020_EventList_c001.fits"


def _calpv_events(obs: CalPvEvents, seed: int) -> bytes:
    """One Cal-PV event list (EDR name ``fm00_<ObsID>_020_EventList_c001.fits``)."""
    rng = _seed(seed, "calpv", obs.obsid)
    t0, t1 = _mission_time(obs.start), _mission_time(obs.end)
    gtis = _gtis(rng, t0, t1, 4 if obs.scan else 1)
    n = int(np.clip((t1 - t0) / 60.0, 200, 1500))
    keys = _keys(obs.obsid, obs.field, t0, t1, obs.ra, obs.dec, obs.tms)
    half = 2.0 if obs.scan else 0.5
    return _event_list(rng, keys, ra=obs.ra, dec=obs.dec, half=half, gtis=gtis, tms=obs.tms, n=n)


def calpv_tarball(stem: str, observations: Sequence[CalPvObservationLike], *, seed: int, nested: bool) -> bytes:
    """A field's tarball (gzip'd tar, fixed times and owners) holding each ObsID's event list."""
    raw = io.BytesIO()
    mtime = int(_EPOCH.timestamp())
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        folders = [f"{stem}/"] + ([f"{stem}/{stem}/"] if nested else [])
        for folder in folders:
            info = tarfile.TarInfo(folder.rstrip("/"))
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, mtime
            tar.addfile(info)
        for obs in sorted(observations, key=lambda o: o.obsid):
            body = _calpv_events(_as_events(obs), seed)
            info = tarfile.TarInfo(calpv_member(stem, obs.obsid, nested=nested))
            info.size, info.mode, info.mtime = len(body), 0o644, mtime
            tar.addfile(info, io.BytesIO(body))
    return gzip.compress(raw.getvalue(), compresslevel=6, mtime=0)


def _as_events(obs: CalPvObservationLike) -> CalPvEvents:
    """The event-list view of a Cal-PV observation."""
    tms = tuple(int(name[2:]) for name in obs.active_insts) or _TMS
    return CalPvEvents(obs.obsid, obs.field, obs.ra, obs.dec, obs.mode == "s", obs.start, obs.end, tms)


class CalPvTarballs:
    """Field tarballs at ``CalPvObs/<Field>.tar.gz``: written into ``root`` on first request, then served."""

    def __init__(self, root: Path, observations: Iterable[CalPvObservationLike], *, seed: int) -> None:
        self.root = root
        self.seed = seed
        self.fields: dict[str, list[CalPvObservationLike]] = {}
        self.nested: dict[str, bool] = {}
        for obs in observations:
            self.fields.setdefault(obs.field, []).append(obs)
            self.nested[obs.field] = obs.field_type == "SURVEY"
        self._locks = {stem: threading.Lock() for stem in self.fields}

    def path(self, stem: str) -> Path:
        """The field's tarball in the cache, written first if missing (blocking, idempotent)."""
        target = self.root / f"{stem}.tar.gz"
        with self._locks[stem]:
            if not target.exists():
                body = calpv_tarball(stem, self.fields[stem], seed=self.seed, nested=self.nested[stem])
                _write_file(target, body)
        return target

    async def handle(self, request: web.Request, injector: FaultInjector) -> web.StreamResponse:
        """GET/HEAD of ``<Field>.tar.gz``: the tarball with Range and ETag, or 404 for an unknown field."""
        name = request.match_info["name"]
        stem = name[: -len(".tar.gz")] if name.endswith(".tar.gz") else None
        if stem not in self.fields:
            raise web.HTTPNotFound(text=f"{request.path} was not found on this server")
        path = await asyncio.to_thread(self.path, stem)
        return await serve_file(request, path, injector)


def _write_file(target: Path, body: bytes) -> None:
    """Write ``body`` to ``target`` atomically (a temporary sibling, then a rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# ------------------------------------------------------------------------------------------- DR1 tiles
@dataclass(frozen=True)
class Tile:
    """One eRASS1-DE sky tile: id RRRDDD, OWNER (2 DE, 0 shared), centre and scan window."""

    tile: str
    owner: int
    ra: float
    dec: float
    start: np.datetime64
    end: np.datetime64


def tile_directory(tile: str) -> str:
    """A tile's directory below the download root: ``<DDD>/<RRR>/`` for tile RRRDDD."""
    return f"{tile[3:]}/{tile[:3]}/"


def tile_versions(tile: str, seed: int) -> tuple[str, ...]:
    """The pipeline versions a tile is published in: 010 always, 020 too for about a quarter of tiles."""
    return ("010", "020") if zlib.crc32(f"{seed}:{tile}".encode()) % 4 == 0 else ("010",)


def _names(t: Tile, version: str) -> dict[str, str]:
    """File name (below the tile directory) -> writer kind, for one pipeline version."""
    stem = f"e{'m' if t.owner == 2 else 'b'}01_{t.tile}"
    exp, det, c = f"EXP_{version}/", f"DET_{version}/", f"c{version}.fits.gz"
    names = {f"{exp}{stem}_020_EventList_{c}": "events"}
    names |= {f"{exp}{stem}_02{b}_Image_{c}": "image" for b in range(1, 8)}
    names |= {f"{det}{stem}_02{b}_ExposureMap_{c}": "exposure" for b in range(1, 8)}
    names |= {f"{det}{stem}_02{b}_BackgrImage_{c}": "background" for b in range(1, 5)}
    names |= {f"{det}{stem}_02{b}_ApeSensMap{'3' if b < 4 else '1'}B_{c}": "sensitivity" for b in range(1, 5)}
    names |= {f"{det}{stem}_020_SensMap{k}Blik5_{c}": "sensitivity" for k in (1, 3)}
    names |= {f"{det}{stem}_020_AreaTab{k}Blik5_{c}": "area" for k in (1, 3)}
    return names


def _tile_image(rng: np.random.Generator, kind: str, keys: list[Card], t: Tile, exposure: float) -> bytes:
    """A small image with a tile-centred WCS: counts, exposure (s), background or sensitivity."""
    pix = 3.6 / _IMAGE
    wcs: list[Card] = [
        ("CTYPE1", "RA---SIN", ""),
        ("CRPIX1", _IMAGE / 2 + 0.5, ""),
        ("CRVAL1", round(t.ra, 6), ""),
        ("CDELT1", -pix, ""),
        ("CUNIT1", "deg", ""),
        ("CTYPE2", "DEC--SIN", ""),
        ("CRPIX2", _IMAGE / 2 + 0.5, ""),
        ("CRVAL2", round(t.dec, 6), ""),
        ("CDELT2", pix, ""),
        ("CUNIT2", "deg", ""),
    ]
    shape = (_IMAGE, _IMAGE)
    if kind == "image":
        image, unit = rng.poisson(0.5, shape).astype(np.int32), "count"
    elif kind == "exposure":
        image, unit = (exposure * rng.uniform(0.8, 1.0, shape)).astype(np.float32), "s"
    elif kind == "background":
        image, unit = rng.uniform(0.01, 0.05, shape).astype(np.float32), "count"
    else:
        image, unit = rng.uniform(1e-14, 1e-13, shape).astype(np.float32), "erg/cm2/s"
    return primary_hdu([*wcs, ("BUNIT", unit, ""), *keys], image)


def _area_table(rng: np.random.Generator, keys: list[Card]) -> bytes:
    """A survey-area curve: area sensitive to each limiting flux (AreaTab*Blik5)."""
    flux = np.logspace(-15, -11, 24)
    area = 12.96 / (1.0 + (3e-14 / flux) ** 2) * rng.uniform(0.98, 1.0)
    cols = [Col("FLUX", "D", "erg/cm2/s", flux), Col("AREA", "D", "deg2", area)]
    return primary_hdu(keys) + bintable_hdu("AREA", cols, keys)


def tile_files(t: Tile, version: str, *, seed: int) -> dict[str, bytes]:
    """Every file of one pipeline version of a tile: path below the tile directory -> gzip'd FITS bytes."""
    t0, t1 = _mission_time(t.start), _mission_time(t.end)
    if t1 <= t0:
        t1 = t0 + 86400.0
    gtis = _gtis(_seed(seed, "dr1", t.tile), t0, t1, 6)  # the same scans in every file of the tile
    keys = _keys(t.tile, f"eRASS1 sky tile {t.tile}", t0, t1, t.ra, t.dec, _TMS)
    keys.append(("PROCVER", version, "pipeline version (synthetic)"))
    out: dict[str, bytes] = {}
    for name, kind in _names(t, version).items():
        rng = _seed(seed, "dr1", version, name)
        if kind == "events":
            n = int(rng.integers(400, 900))
            body = _event_list(rng, keys, ra=t.ra, dec=t.dec, half=1.8, gtis=gtis, tms=_TMS, n=n)
        elif kind == "area":
            body = _area_table(rng, keys)
        else:
            body = _tile_image(rng, kind, keys, t, float(np.sum(gtis[:, 1] - gtis[:, 0])))
        out[name] = gzip.compress(body, compresslevel=6, mtime=0)
    return out


def _write_directory(target: Path, files: dict[str, bytes]) -> None:
    """Write a directory of files atomically: built as a temporary sibling, then renamed into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        for rel, body in files.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_bytes(body)
        os.chmod(tmp, 0o755)
        try:
            os.rename(tmp, target)
        except OSError:  # another builder won the race: keep its identical directory
            if not target.is_dir():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def dr1_tree(
    root: Path,
    injector: FaultInjector,
    *,
    tops: Iterable[str],
    tiles: Callable[[], dict[str, Tile]],
    seed: int,
) -> ObservationTree[str]:
    """The DR1 download area as an :class:`ObservationTree`: ``<DDD>/<RRR>/`` per tile, built on first use."""

    def index(top: str) -> Iterator[tuple[str, str]]:
        for tile in sorted(tiles()):
            if tile[3:] == top:
                yield tile_directory(tile), tile

    def build(tile: str) -> None:
        t = tiles()[tile]
        files = {name: body for v in tile_versions(tile, seed) for name, body in tile_files(t, v, seed=seed).items()}
        target = root / tile_directory(tile)
        if not target.is_dir():
            _write_directory(target, files)

    return ObservationTree(DR1_DOWNLOAD, root, injector, tops=tops, index=index, build=build, page=erodat_page)


def erodat_page(url_path: str, entries: Iterable[tuple[str, bool, int, float]]) -> str:
    """A directory page as MPE's eRODat writes it (not Apache's): a ``files`` table with ``isdir``/``isfile``
    rows, a relative "Parent directory" link, download links with a class, exact sizes in bytes, and the
    date cell of file rows left unclosed, so clients must read it as HTML, not as well-formed XML."""
    shown = url_path.split("/download", 1)[-1] or "/"
    rows = ['  <tr class="isdir"><td><a href="../">Parent directory</a></td><td>Directory</td><td></td><td></td></tr>']
    for name, is_dir, size, mtime in sorted(entries, key=lambda e: (not e[1], e[0])):
        when = datetime.fromtimestamp(mtime, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        link = escape(quote(name))
        if is_dir:
            rows.append(f'  <tr class="isdir"><td><a href="{link}/">{escape(name)}/</a></td><td>Directory</td>'
                        f"<td>{when}</td><td></td></tr>")  # fmt: skip
        else:
            rows.append(f"  <tr class=\"isfile\"><td><a href=\"{link}\" class='matomo_download'>{escape(name)}</a>"
                        f"</td><td>File</td><td>{when}<td>{size}</td></tr>")  # fmt: skip
    body = "\n".join(rows)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n  <!-- eRODat (sandbox) -->\n'
        f"  <title>Directory listing for {escape(shown)} | eRODat</title>\n</head>\n<body>\n"
        f"<h2>Directory listing for {escape(shown)}</h2>\n"
        '<table id="files" class="display">\n  <thead>\n    <tr>\n'
        "      <th>Name</th><th>Type</th><th>Date</th><th>Size</th>\n    </tr>\n  </thead>\n  <tbody>\n"
        f"{body}\n  </tbody>\n</table>\n<footer><span>eROSITA-DE</span></footer>\n</body>\n</html>\n"
    )
