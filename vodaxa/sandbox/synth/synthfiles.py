"""Synthetic archive files: event lists, GTIs, images, spectra, light curves, Chandra oif.fits.

A mission layout (:class:`Mission`, a tuple of :class:`Entry`) plus one observation (:class:`Obs`)
renders to ``{relative path: bytes}`` with :func:`render`.  Content is deterministic byte for byte:
every random draw comes from a numpy Generator seeded from the table, the ObsID and the file path.
Shared by every sandbox archive shape that serves files.
"""

from __future__ import annotations

import gzip
import math
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from vodaxa import lzw

from .fitsgen import Card, Col, bintable_hdu, primary_hdu

_MJD_EPOCH = datetime(1858, 11, 17)
_GRADES = [0, 2, 3, 4, 6, 1, 5, 7]  # event grades, the ASCA "good" ones most common
_GRADE_WEIGHTS = [0.45, 0.2, 0.1, 0.1, 0.1, 0.02, 0.02, 0.01]


# ======================================================================================= data model


@dataclass(frozen=True)
class Entry:
    """A file (or one file per item of a context list) in an observation directory."""

    template: str  # path below the directory, a str.format template over the observation's fields
    kind: str  # which writer renders it (see _WRITERS)
    over: str = ""  # name of a context list: one file per item, the item's keys added to the fields
    ext: str = ""  # EXTNAME of the main extension, for table kinds
    content: str = ""  # Chandra oif.fits MEMBER_CONTENT (template); empty means not a member
    inst: str = ""  # INSTRUME (template); empty means the item's "inst" or the mission's default


@dataclass(frozen=True)
class Mission:
    """How one HEASARC master table's observations are laid out and what their files contain."""

    telescop: str
    key: str  # the ObsID column
    path: str  # directory template, relative to the FTP root, with a trailing slash
    start: str  # column holding the start (MJD)
    stop: str  # column holding the end (MJD); empty: start + the ``span`` column (seconds)
    mjdref: float  # mission time zero (MJD)
    inst: str  # default INSTRUME
    ev_per_chan: float  # PI gain
    energy: tuple[float, float]  # event energy range (eV)
    pixel_deg: float  # sky pixel size
    entries: tuple[Entry, ...]
    context: Callable[[Mapping[str, Any], np.random.Generator, str, Span], dict[str, Any]]
    span: str = ""
    day_time: bool = False  # event TIME in days (INTEGRAL IJD) rather than seconds
    shared: tuple[tuple[str, tuple[Entry, ...]], ...] = ()  # directories shared between observations


@dataclass(frozen=True)
class Span:
    """An observation's time range, in MJD and in mission time units."""

    mjd0: float
    mjd1: float
    t0: float
    t1: float


@dataclass
class Obs:
    """Everything the writers need about one observation (or one INTEGRAL revolution)."""

    table: str
    mission: Mission
    obsid: str
    span: Span
    fields: dict[str, Any]
    ra: float | None
    dec: float | None
    target: str
    gtis: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    flare: tuple[float, float] | None = None


@dataclass
class File:
    """One file being rendered: its entry, fields and a private random generator."""

    obs: Obs
    entry: Entry
    path: str
    fields: dict[str, Any]
    rng: np.random.Generator

    @property
    def inst(self) -> str:
        """The INSTRUME value of this file."""
        if self.entry.inst:
            return self.entry.inst.format(**self.fields)
        return str(self.fields.get("inst", self.obs.mission.inst))


# ======================================================================================= helpers


def num(row: Mapping[str, Any], column: str, default: float) -> float:
    """A numeric row value, or ``default`` when the column is missing, NULL or NaN."""
    if not column or row.get(column) is None:
        return default
    try:
        value = float(row[column])
    except (TypeError, ValueError):
        return default
    return value if math.isfinite(value) else default


def text(row: Mapping[str, Any], column: str, default: str = "") -> str:
    """A string row value (stripped), or ``default`` when missing or NULL."""
    value = row.get(column)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return default
    return str(value).strip()


def obsid_text(row: Mapping[str, Any], key: str) -> str:
    """The ObsID of a row as a string (Chandra's integer ObsIDs without leading zeros)."""
    value = row[key]
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def mjd_date(mjd: float) -> datetime:
    """The UTC date and time of an MJD, to the second."""
    return _MJD_EPOCH + timedelta(seconds=round(mjd * 86400.0))


def _iso(mjd: float) -> str:
    """An MJD as a FITS DATE-OBS string."""
    return mjd_date(mjd).strftime("%Y-%m-%dT%H:%M:%S")


def crc(text: str) -> int:
    """A stable 32-bit seed component."""
    return zlib.crc32(text.encode("utf-8"))


def pick(rng: np.random.Generator, names: list[str], lo: int, hi: int) -> list[str]:
    """Between ``lo`` and ``hi`` of ``names``, in their original order."""
    k = int(rng.integers(lo, hi + 1))
    keep = sorted(rng.choice(len(names), size=min(k, len(names)), replace=False))
    return [names[i] for i in keep]


def _common_keys(obs: Obs, inst: str) -> list[Card]:
    """Header keys every HDU carries: mission, instrument, ObsID, target, dates and time system."""
    mission, span = obs.mission, obs.span
    keys: list[Card] = [
        ("TELESCOP", mission.telescop, "mission"),
        ("INSTRUME", inst, "instrument"),
        ("OBS_ID", obs.obsid, "observation identifier"),
        ("OBJECT", obs.target[:60], "target"),
        ("DATE-OBS", _iso(span.mjd0), "start (UTC)"),
        ("DATE-END", _iso(span.mjd1), "end (UTC)"),
        ("MJDREF", mission.mjdref, "MJD of time zero"),
        ("TIMESYS", "TT", ""),
        ("TIMEUNIT", "d" if mission.day_time else "s", ""),
    ]
    if obs.ra is not None and obs.dec is not None:
        keys += [
            ("RA_NOM", obs.ra, "nominal pointing RA (deg)"),
            ("DEC_NOM", obs.dec, "nominal pointing Dec (deg)"),
            ("EQUINOX", 2000.0, ""),
            ("RADECSYS", "FK5", ""),
        ]
    return [*keys, ("ORIGIN", "VODAXA-SANDBOX", "synthetic data"), ("CREATOR", "vodaxa.sandbox", "")]


# ======================================================================================= file writers


def _window(f: File) -> tuple[np.ndarray, float, float]:
    """The file's GTIs and time range: the observation's, cut to an OBI's share when the item has one."""
    t0, t1 = f.obs.span.t0, f.obs.span.t1
    lo = t0 + float(f.fields.get("t0", 0.0)) * (t1 - t0)
    hi = t0 + float(f.fields.get("t1", 1.0)) * (t1 - t0)
    gtis = np.clip(f.obs.gtis, lo, hi)
    return gtis[gtis[:, 1] > gtis[:, 0]], lo, hi


def _seconds(f: File, length: float) -> float:
    """A length in mission time units, in seconds."""
    return length * (86400.0 if f.obs.mission.day_time else 1.0)


def _time_keys(f: File, lo: float, hi: float, gtis: np.ndarray) -> list[Card]:
    """TSTART/TSTOP and exposure keys for a file covering ``[lo, hi]``."""
    live = _seconds(f, float(np.sum(gtis[:, 1] - gtis[:, 0])))
    return [
        ("TSTART", lo, "start (mission time)"),
        ("TSTOP", hi, "stop (mission time)"),
        ("EXPOSURE", round(live, 3), "exposure (s)"),
        ("ONTIME", round(live, 3), "on-source time (s)"),
    ]


def _uniform_in(rng: np.random.Generator, gtis: np.ndarray, n: int) -> np.ndarray:
    """``n`` times uniform over the union of ``gtis``."""
    lengths = gtis[:, 1] - gtis[:, 0]
    u = rng.uniform(0.0, float(lengths.sum()), n)
    ends = np.cumsum(lengths)
    k = np.minimum(np.searchsorted(ends, u, side="right"), len(gtis) - 1)
    return gtis[k, 0] + u - (ends[k] - lengths[k])


def _event_times(f: File, gtis: np.ndarray) -> np.ndarray:
    """Sorted event times: a steady rate inside the GTIs plus, if the observation flares, a burst."""
    seconds = _seconds(f, float(np.sum(gtis[:, 1] - gtis[:, 0])))
    n = max(60, int(np.clip(seconds / 40.0, 300, 1500) * float(f.fields.get("frac", 1.0))))
    times = [_uniform_in(f.rng, gtis, n)]
    if f.obs.flare:
        burst = f.rng.uniform(*f.obs.flare, n // 2)
        inside = ((burst[:, None] >= gtis[:, 0]) & (burst[:, None] <= gtis[:, 1])).any(axis=1)
        times.append(burst[inside])
    return np.sort(np.concatenate(times))


def _sky(f: File, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Sky pixel positions: 40% from a point source near the aim point, the rest a flat background."""
    src = f.rng.random(n) < 0.4
    centre = 512.5 + f.rng.normal(0.0, 5.0, 2)
    x = np.where(src, f.rng.normal(centre[0], 3.0, n), f.rng.uniform(212.5, 812.5, n))
    y = np.where(src, f.rng.normal(centre[1], 3.0, n), f.rng.uniform(212.5, 812.5, n))
    return np.round(x, 2), np.round(y, 2)


def _sky_wcs(f: File, axis: str) -> tuple[tuple[str, Any], ...]:
    """Column WCS keys tying sky pixels to RA or Dec."""
    ra = f.obs.ra if f.obs.ra is not None else 0.0
    dec = f.obs.dec if f.obs.dec is not None else 0.0
    pix = f.obs.mission.pixel_deg
    if axis == "X":
        return (
            ("TCTYP", "RA---TAN"),
            ("TCRPX", 512.5),
            ("TCRVL", ra),
            ("TCDLT", -pix),
            ("TCUNI", "deg"),
            ("TLMIN", 0.5),
            ("TLMAX", 1024.5),
        )
    return (
        ("TCTYP", "DEC--TAN"),
        ("TCRPX", 512.5),
        ("TCRVL", dec),
        ("TCDLT", pix),
        ("TCUNI", "deg"),
        ("TLMIN", 0.5),
        ("TLMAX", 1024.5),
    )


def _gti_hdu(f: File, gtis: np.ndarray, extname: str, keys: list[Card]) -> bytes:
    """A GTI extension (START, STOP)."""
    unit = "d" if f.obs.mission.day_time else "s"
    cols = [Col("START", "D", unit, gtis[:, 0]), Col("STOP", "D", unit, gtis[:, 1])]
    return bintable_hdu(extname, cols, [("HDUCLASS", "OGIP", ""), ("HDUCLAS1", "GTI", ""), *keys])


def _write_evt(f: File) -> bytes:
    """An event list: empty primary, EVENTS (TIME, ENERGY, PI, GRADE, STATUS, X, Y) and GTI."""
    gtis, lo, hi = _window(f)
    times = _event_times(f, gtis)
    n = times.size
    emin, emax = f.obs.mission.energy
    rng = f.rng
    energy = emin * (emax / emin) ** rng.beta(1.0, 2.5, n)
    line = rng.random(n) < 0.1
    energy[line] = np.clip(rng.normal(0.6 * emin + 0.4 * emax, 0.01 * emax, int(line.sum())), emin, emax)
    nchan = math.ceil(emax / f.obs.mission.ev_per_chan)
    status = np.zeros((n, 4), dtype=np.uint8)
    flagged = np.flatnonzero(rng.random(n) < 0.04)
    status[flagged, rng.integers(0, 4, flagged.size)] = 1 << rng.integers(0, 8, flagged.size)
    x, y = _sky(f, n)
    cols = [
        Col("TIME", "D", "d" if f.obs.mission.day_time else "s", times),
        Col("ENERGY", "E", "eV", energy.astype(np.float32)),
        Col(
            "PI",
            "J",
            "chan",
            np.clip((energy / f.obs.mission.ev_per_chan).astype(np.int64), 0, nchan - 1),
            (("TLMIN", 0), ("TLMAX", nchan - 1)),
        ),
        Col("GRADE", "I", "", rng.choice(_GRADES, n, p=_GRADE_WEIGHTS)),
        Col("STATUS", "32X", "", status),
        Col("X", "E", "pixel", x, _sky_wcs(f, "X")),
        Col("Y", "E", "pixel", y, _sky_wcs(f, "Y")),
    ]
    keys = _common_keys(f.obs, f.inst)
    timing = _time_keys(f, lo, hi, gtis)
    events = bintable_hdu(
        "EVENTS",
        cols,
        [("HDUCLASS", "OGIP", ""), ("HDUCLAS1", "EVENTS", ""), ("TIMEZERO", 0.0, ""), *timing, *keys],
    )
    return primary_hdu(keys) + events + _gti_hdu(f, gtis, "GTI", timing[:2] + keys)


def _write_gti(f: File) -> bytes:
    """A file holding only good-time intervals (``flt1``, ``_gti.fits``)."""
    gtis, lo, hi = _window(f)
    keys = _common_keys(f.obs, f.inst)
    return primary_hdu(keys) + _gti_hdu(f, gtis, f.entry.ext or "GTI", _time_keys(f, lo, hi, gtis) + keys)


_TABLE_COLUMNS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "ATTITUDE": (("RA", "D", "deg"), ("DEC", "D", "deg"), ("ROLL", "E", "deg")),
    "ASPSOL": (("RA", "D", "deg"), ("DEC", "D", "deg"), ("ROLL", "D", "deg")),
    "ORBIT": (("X", "D", "km"), ("Y", "D", "km"), ("Z", "D", "km")),
    "EPHEM": (("X", "D", "km"), ("Y", "D", "km"), ("Z", "D", "km")),
}


def _write_tab(f: File) -> bytes:
    """A small time-tagged table (housekeeping, attitude, orbit, ...) named after the entry's ``ext``."""
    gtis, lo, hi = _window(f)
    rows = 32
    cols = [Col("TIME", "D", "d" if f.obs.mission.day_time else "s", np.linspace(lo, hi, rows))]
    centre = {"RA": f.obs.ra or 0.0, "DEC": f.obs.dec or 0.0, "ROLL": 0.0}
    for name, tform, unit in _TABLE_COLUMNS.get(f.entry.ext, (("VALUE", "E", ""), ("QUALITY", "I", ""))):
        values: np.ndarray
        if name in centre:
            values = centre[name] + f.rng.normal(0.0, 1e-3, rows)
        elif unit == "km":
            values = 7000.0 * np.cos(np.linspace(0.0, 6.0, rows) + f.rng.uniform(0.0, 6.3))
        else:
            values = f.rng.normal(10.0, 1.0, rows) if tform == "E" else f.rng.integers(0, 2, rows)
        cols.append(Col(name, tform, unit, values))
    keys = _common_keys(f.obs, f.inst)
    table = bintable_hdu(f.entry.ext or "TABLE", cols, _time_keys(f, lo, hi, gtis) + keys)
    return primary_hdu(keys) + table


def _write_img(f: File) -> bytes:
    """A 48x48 primary image with a sky WCS: counts with a source, or a flat exposure map."""
    gtis, lo, hi = _window(f)
    size = 48
    if f.entry.ext == "EXPOSURE":
        live = _seconds(f, float(np.sum(gtis[:, 1] - gtis[:, 0])))
        image = (live * f.rng.uniform(0.9, 1.0, (size, size))).astype(np.float32)
        unit = "s"
    else:
        yy, xx = np.mgrid[:size, :size]
        model = 0.3 + 40.0 * np.exp(-((xx - 23.5) ** 2 + (yy - 23.5) ** 2) / 8.0)
        image = f.rng.poisson(model).astype(np.int32)
        unit = "count"
    pix = f.obs.mission.pixel_deg * 1024 / size
    wcs: list[Card] = [
        ("CTYPE1", "RA---TAN", ""),
        ("CRPIX1", size / 2 + 0.5, ""),
        ("CRVAL1", f.obs.ra or 0.0, ""),
        ("CDELT1", -pix, ""),
        ("CUNIT1", "deg", ""),
        ("CTYPE2", "DEC--TAN", ""),
        ("CRPIX2", size / 2 + 0.5, ""),
        ("CRVAL2", f.obs.dec or 0.0, ""),
        ("CDELT2", pix, ""),
        ("CUNIT2", "deg", ""),
        ("BUNIT", unit, ""),
    ]
    return primary_hdu(wcs + _time_keys(f, lo, hi, gtis) + _common_keys(f.obs, f.inst), image)


def _write_pha(f: File) -> bytes:
    """An OGIP type-I spectrum (CHANNEL, COUNTS)."""
    gtis, lo, hi = _window(f)
    nchan = min(1024, math.ceil(f.obs.mission.energy[1] / f.obs.mission.ev_per_chan))
    channel = np.arange(nchan)
    counts = f.rng.poisson(50.0 * np.exp(-channel / (0.2 * nchan)))
    keys = _common_keys(f.obs, f.inst)
    spec = bintable_hdu(
        "SPECTRUM",
        [Col("CHANNEL", "J", "chan", channel), Col("COUNTS", "J", "count", counts)],
        [
            ("HDUCLASS", "OGIP", ""),
            ("HDUCLAS1", "SPECTRUM", ""),
            ("HDUVERS", "1.2.1", ""),
            ("CHANTYPE", "PI", ""),
            ("DETCHANS", nchan, ""),
            ("POISSERR", True, ""),
            ("AREASCAL", 1.0, ""),
            ("BACKSCAL", 1.0, ""),
            ("CORRSCAL", 0.0, ""),
            ("BACKFILE", "none", ""),
            ("RESPFILE", "none", ""),
            ("ANCRFILE", "none", ""),
            *_time_keys(f, lo, hi, gtis),
            *keys,
        ],
    )
    return primary_hdu(keys) + spec


def _write_lc(f: File) -> bytes:
    """An OGIP light curve (TIME, RATE, ERROR) of 64 bins plus its GTI."""
    gtis, lo, hi = _window(f)
    bins = 64
    times = np.linspace(lo, hi, bins, endpoint=False) + (hi - lo) / bins / 2
    delta = _seconds(f, (hi - lo) / bins)
    counts = f.rng.poisson(20.0, bins)
    keys = _common_keys(f.obs, f.inst)
    timing = _time_keys(f, lo, hi, gtis)
    rate = bintable_hdu(
        "RATE",
        [
            Col("TIME", "D", "d" if f.obs.mission.day_time else "s", times),
            Col("RATE", "E", "count/s", counts / delta),
            Col("ERROR", "E", "count/s", np.sqrt(np.maximum(counts, 1)) / delta),
        ],
        [("HDUCLASS", "OGIP", ""), ("HDUCLAS1", "LIGHTCURVE", ""), ("TIMEDEL", delta, "s"), *timing, *keys],
    )
    return primary_hdu(keys) + rate + _gti_hdu(f, gtis, "GTI", timing[:2] + keys)


def _write_txt(f: File) -> bytes:
    """A short text file describing the observation (README, ODF summary, ASCII orbit)."""
    o = f.obs
    lines = [
        f"{o.mission.telescop} observation {o.obsid} ({o.target})",
        f"start {_iso(o.span.mjd0)}  end {_iso(o.span.mjd1)}",
        f"file {Path(f.path).name}: synthetic sandbox data, not real observations",
        "",
    ]
    return "\n".join(lines).encode("ascii", "replace")


def _write_pdf(f: File) -> bytes:
    """A placeholder PDF (valid header and trailer markers)."""
    return (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n% sandbox "
        + f.path.encode()
        + b"\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )


def _write_jpg(f: File) -> bytes:
    """A placeholder JPEG (SOI, JFIF APP0 and EOI markers)."""
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8" + app0 + f.path.encode() + b"\xff\xd9"


def _write_gif(f: File) -> bytes:
    """A 1x1 GIF."""
    return (
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
        b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    )


def _write_html(f: File) -> bytes:
    """A placeholder HTML page."""
    return (
        f"<!DOCTYPE html>\n<html><head><title>{f.obs.obsid}</title></head>"
        f"<body><p>{f.obs.mission.telescop} observation {f.obs.obsid}</p></body></html>\n"
    ).encode()


_Writer = Callable[[File], bytes]
_WRITERS: dict[str, _Writer] = {
    "evt": _write_evt,
    "gti": _write_gti,
    "tab": _write_tab,
    "img": _write_img,
    "pha": _write_pha,
    "lc": _write_lc,
    "txt": _write_txt,
    "pdf": _write_pdf,
    "jpg": _write_jpg,
    "gif": _write_gif,
    "html": _write_html,
}

#: (MEMBER_XTENSION, MEMBER_NAME, MEMBER_POSITION) of each kind's main HDU, for oif.fits.
_MEMBER_HDU = {
    "evt": ("BINTABLE", "EVENTS", 2),
    "gti": ("BINTABLE", "", 2),
    "tab": ("BINTABLE", "", 2),
    "img": ("PRIMARY", "PRIMARY", 1),
    "pha": ("BINTABLE", "SPECTRUM", 2),
}


def _write_oif(f: File, members: list[File]) -> bytes:
    """Chandra's observation index: a GROUPING table of the ObsID's files, and the observation's keys."""
    rows = [m for m in members if m.entry.content]
    width = max(len(m.path) for m in rows)
    hdus = [_MEMBER_HDU[m.entry.kind] for m in rows]
    cols = [
        Col("MEMBER_XTENSION", "8A", "", [h[0] for h in hdus]),
        Col("MEMBER_NAME", "16A", "", [h[1] or m.entry.ext for h, m in zip(hdus, rows)]),
        Col("MEMBER_VERSION", "J", "", [m.fields["v"] for m in rows]),
        Col("MEMBER_POSITION", "J", "", [h[2] for h in hdus]),
        Col("MEMBER_LOCATION", f"{width}A", "", [m.path for m in rows]),
        Col("MEMBER_URI_TYPE", "3A", "", ["URL"] * len(rows)),
        Col("MEMBER_CONTENT", "16A", "", [m.entry.content.format(**m.fields) for m in rows]),
    ]
    fd, o = f.fields, f.obs
    keys: list[Card] = [
        ("GRPNAME", "OIF", "observation index file"),
        ("SEQ_NUM", fd["seq"], "sequence number"),
        ("DETNAM", fd["detnam"], "detector"),
        ("GRATING", fd["grating"], "grating"),
        ("OBS_MODE", "POINTING", ""),
        ("DATAMODE", fd["datamode"], ""),
        ("ROLL_NOM", fd["roll"], "nominal roll (deg)"),
        ("SIM_X", -0.7837, "SIM position (mm)"),
        ("SIM_Y", 0.0, ""),
        ("SIM_Z", fd["sim_z"], ""),
        ("TSTART", o.span.t0, ""),
        ("TSTOP", o.span.t1, ""),
        ("REVISION", fd["v"], "processing version"),
    ]
    common = _common_keys(o, fd["inst"])
    if o.ra is None:  # RA_NOM/DEC_NOM are required by oif readers
        common += [("RA_NOM", 0.0, ""), ("DEC_NOM", 0.0, "")]
    return primary_hdu(keys + common) + bintable_hdu("GROUPING", cols, keys + common)


def _write_manifest(f: File, members: list[File]) -> bytes:
    """The ODF MANIFEST: the ODF's file names (uncompressed), one per line."""
    here = str(Path(f.path).parent)
    names = sorted(
        Path(m.path).name.removesuffix(".gz")
        for m in members
        if str(Path(m.path).parent) == here and m.entry.kind not in _INDEX_WRITERS
    )
    return ("\n".join(names) + "\n").encode("ascii")


_INDEX_WRITERS: dict[str, Callable[[File, list[File]], bytes]] = {
    "oif": _write_oif,
    "manifest": _write_manifest,
}


def _encode_file(path: str, raw: bytes) -> bytes:
    """Compress ``raw`` as its name says: gzip (``.gz``, ``.FTZ``; mtime 0, no name) or compress (``.Z``)."""
    if path.endswith((".gz", ".FTZ")):
        return gzip.compress(raw, compresslevel=6, mtime=0)
    if path.endswith(".Z"):
        return lzw.compress(raw)
    return raw


def _expand(obs: Obs, entries: tuple[Entry, ...]) -> list[File]:
    """One File per entry and item of its context list, in entry order; file names must be unique."""
    files: list[File] = []
    for entry in entries:
        for item in obs.fields[entry.over] if entry.over else [{}]:
            fields = {**obs.fields, **item}
            path = entry.template.format(**fields)
            seed = [crc(obs.table), crc(obs.obsid), crc(path)]
            files.append(File(obs, entry, path, fields, np.random.default_rng(seed)))
    paths = [f.path for f in files]
    if len(set(paths)) != len(paths):
        raise RuntimeError(f"{obs.table} {obs.obsid}: layout produces duplicate file names")
    return files


def render(obs: Obs, entries: tuple[Entry, ...]) -> dict[str, bytes]:
    """Every file of a directory: path -> final (compressed) bytes; index files are rendered last."""
    files = _expand(obs, entries)
    out: dict[str, bytes] = {}
    for f in files:
        if f.entry.kind not in _INDEX_WRITERS:
            out[f.path] = _encode_file(f.path, _WRITERS[f.entry.kind](f))
    for f in files:
        if f.entry.kind in _INDEX_WRITERS:
            out[f.path] = _encode_file(f.path, _INDEX_WRITERS[f.entry.kind](f, files))
    return out
