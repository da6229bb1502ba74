"""The sandbox's HEASARC ``/FTP`` tree: one directory of small but real files per observation.

:func:`observation_path` maps a master-table row to its directory with HEASARC's own layout rules
(the ones DAXA relies on), and :func:`build_observation` writes that directory.  Every mission is
declared as data (:data:`MISSIONS`): a path template, a list of file-name templates, and a small
function that derives the per-observation template fields (which instruments ran, how many CCDs, ...).

Files are deterministic byte for byte: every random draw comes from a numpy Generator seeded with
``zlib.crc32`` of the table, the ObsID and the file's path; gzip members carry ``mtime=0`` and no name;
FITS headers hold no timestamps other than those derived from the row.  FITS files are written by a
small built-in writer (astropy's writer costs ~15 ms per file, too slow for ~50 files per observation);
every HDU carries valid ``DATASUM``/``CHECKSUM`` cards and the tests open each file with astropy.

Deliberate variety, so that client and processing code meet the archive's awkward cases:

* Chandra ObsIDs with ``obsid % 17 == 0`` are multi-OBI (OBIs ``000`` and ``001``: two EVT1 members,
  per-OBI ``ASPSOLOBI`` aspect solutions, one merged EVT2); ACIS ObsIDs with ``obsid % 17 == 1`` are
  alternating-exposure (``_e1_``/``_e2_`` EVT1, EVT2, FLT and STAT files).  HRC gives ``hrcf`` names,
  grating observations add ``evt1a`` and ``pha2`` files.
* About 40% of observations contain a flare: a burst of events in 4% of one GTI, in every event list.
* ROSAT rows with ``proc_rev == 0`` hold a single old-style ``<seq>.fits.Z`` file and none of the
  ``_anc``/``_bas``/``_bk``/``_im`` files (as in DAXA issue #207).
* Instruments with zero exposure in the row get no files (Swift, Suzaku, ASCA, INTEGRAL, NuSTAR cleaned
  events, XRISM instruments with an empty data mode).
"""

from __future__ import annotations

import gzip
import math
import os
import shutil
import tempfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from vodaxa import lzw

__all__ = ["MISSIONS", "TREE_VERSION", "Mission", "build_observation", "observation_path", "shared_paths"]

#: Bumped whenever file names or contents change, so that caches of built trees are not reused.
TREE_VERSION = 1

# ======================================================================================= FITS writer

_BLOCK = 2880
_MJD_EPOCH = datetime(1858, 11, 17)
_CHECKSUM_EXCLUDE = (0x3A, 0x3B, 0x3C, 0x3D, 0x3E, 0x3F, 0x40, 0x5B, 0x5C, 0x5D, 0x5E, 0x5F, 0x60)
_TFORM_DTYPES = {"D": ">f8", "E": ">f4", "J": ">i4", "I": ">i2", "K": ">i8", "B": "u1"}
_GRADES = [0, 2, 3, 4, 6, 1, 5, 7]  # event grades, the ASCA "good" ones most common
_GRADE_WEIGHTS = [0.45, 0.2, 0.1, 0.1, 0.1, 0.02, 0.02, 0.01]

Card = tuple[str, Any, str]  # keyword, value, comment


def _fits_float(value: float) -> str:
    """A float in FITS fixed format: always a decimal point, upper-case exponent, at most 20 characters."""
    if not math.isfinite(value):
        raise ValueError(f"FITS header values must be finite, not {value}")
    text = repr(float(value)).upper()
    if len(text) > 20:
        text = f"{value:.13E}"
    mantissa, _, exponent = text.partition("E")
    if "." not in mantissa:
        mantissa += ".0"
    return f"{mantissa}E{exponent}" if exponent else mantissa


def _card(key: str, value: Any, comment: str = "") -> str:
    """One 80-character header card, formatted the way astropy formats it."""
    if isinstance(value, (bool, np.bool_)):
        text = f"{'T' if value else 'F':>20}"
    elif isinstance(value, (int, np.integer)):
        text = f"{int(value):>20}"
    elif isinstance(value, (float, np.floating)):
        text = f"{_fits_float(float(value)):>20}"
    else:
        clean = str(value).encode("ascii", "replace").decode("ascii").replace("'", "''")
        quoted = "'" + f"{clean:<8}" + "'"
        text = f"{quoted:<20}"
    card = f"{key:<8}= {text}"
    if len(card) > 80:
        raise ValueError(f"header value too long for one card: {key}={value!r}")
    if comment:
        card = f"{card} / {comment}"[:80]
    return f"{card:<80}"


def _ones_sum(data: bytes) -> int:
    """32-bit ones' complement sum of ``data`` (a multiple of 4 bytes), the basis of FITS checksums."""
    if not data:
        return 0
    total = int(np.frombuffer(data, dtype=">u4").sum(dtype=np.uint64))
    while total >> 32:
        total = (total & 0xFFFFFFFF) + (total >> 32)
    return total


def _encode_checksum(value: int) -> str:
    """The 16-character ASCII encoding of a 32-bit checksum (FITS standard, appendix J)."""
    out = [0] * 16
    for i in range(4):
        quotient, remainder = divmod((value >> (24 - 8 * i)) & 0xFF, 4)
        ch = [quotient + 0x30 + remainder] + [quotient + 0x30] * 3
        changed = True
        while changed:  # keep clear of punctuation, preserving each pair's sum
            changed = False
            for bad in _CHECKSUM_EXCLUDE:
                for j in (0, 2):
                    if ch[j] == bad or ch[j + 1] == bad:
                        ch[j] += 1
                        ch[j + 1] -= 1
                        changed = True
        for j in range(4):
            out[4 * j + i] = ch[j]
    return bytes(out[(k + 15) % 16] for k in range(16)).decode("ascii")


def _hdu(cards: list[Card], data: bytes = b"") -> bytes:
    """A complete HDU (header and padded data) with valid DATASUM and CHECKSUM cards."""
    data += b"\0" * (-len(data) % _BLOCK)
    datasum = _ones_sum(data)
    lines = [_card(*c) for c in cards]
    lines.append(_card("DATASUM", str(datasum), "data unit checksum"))
    lines.append(_card("CHECKSUM", "0" * 16, "HDU checksum"))
    text = "".join(lines) + f"{'END':<80}"
    header = (text + " " * (-len(text) % _BLOCK)).encode("ascii")
    total = _ones_sum(header) + datasum
    total = (total & 0xFFFFFFFF) + (total >> 32)
    at = (len(lines) - 1) * 80 + 11  # the CHECKSUM value, after "CHECKSUM= '"
    header = header[:at] + _encode_checksum(~total & 0xFFFFFFFF).encode("ascii") + header[at + 16 :]
    return header + data


def _primary(keys: list[Card], image: np.ndarray | None = None) -> bytes:
    """A primary HDU: header only, or a 2-D image (int16, int32 or float32)."""
    if image is None:
        return _hdu(
            [
                ("SIMPLE", True, "conforms to FITS standard"),
                ("BITPIX", 8, ""),
                ("NAXIS", 0, ""),
                ("EXTEND", True, ""),
                *keys,
            ]
        )
    bitpix = {"i2": 16, "i4": 32, "f4": -32}[image.dtype.str[1:]]
    cards: list[Card] = [
        ("SIMPLE", True, "conforms to FITS standard"),
        ("BITPIX", bitpix, ""),
        ("NAXIS", 2, ""),
        ("NAXIS1", image.shape[1], ""),
        ("NAXIS2", image.shape[0], ""),
        ("EXTEND", True, ""),
        *keys,
    ]
    return _hdu(cards, image.astype(image.dtype.newbyteorder(">")).tobytes())


@dataclass(frozen=True)
class Col:
    """One binary-table column: name, TFORM, unit, values and extra per-column keys (TLMIN, TCTYP...)."""

    name: str
    tform: str
    unit: str
    values: Any
    extra: tuple[tuple[str, Any], ...] = ()


def _col_dtype(col: Col) -> tuple[str, Any] | tuple[str, Any, tuple[int]]:
    """The numpy field of a column (big-endian, packed)."""
    if col.tform.endswith("X"):
        return (col.name, "u1", ((int(col.tform[:-1]) + 7) // 8,))
    if col.tform.endswith("A"):
        return (col.name, f"S{int(col.tform[:-1])}")
    return (col.name, _TFORM_DTYPES[col.tform])


def _bintable(extname: str, cols: list[Col], keys: list[Card]) -> bytes:
    """A BINTABLE extension holding ``cols`` (all of the same length)."""
    rows = len(cols[0].values)
    rec = np.zeros(rows, dtype=[_col_dtype(c) for c in cols])
    for col in cols:
        rec[col.name] = col.values
    cards: list[Card] = [
        ("XTENSION", "BINTABLE", "binary table extension"),
        ("BITPIX", 8, ""),
        ("NAXIS", 2, ""),
        ("NAXIS1", rec.dtype.itemsize, "width of table in bytes"),
        ("NAXIS2", rows, "rows"),
        ("PCOUNT", 0, ""),
        ("GCOUNT", 1, ""),
        ("TFIELDS", len(cols), ""),
    ]
    for n, col in enumerate(cols, 1):
        cards += [(f"TTYPE{n}", col.name, ""), (f"TFORM{n}", col.tform, "")]
        if col.unit:
            cards.append((f"TUNIT{n}", col.unit, ""))
        cards += [(f"{key}{n}", value, "") for key, value in col.extra]
    cards += [("EXTNAME", extname, "name of this binary table extension"), *keys]
    return _hdu(cards, rec.tobytes())


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


def _num(row: Mapping[str, Any], column: str, default: float) -> float:
    """A numeric row value, or ``default`` when the column is missing, NULL or NaN."""
    value = row.get(column) if column else None
    try:
        value = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default
    return value if math.isfinite(value) else default


def _text(row: Mapping[str, Any], column: str, default: str = "") -> str:
    """A string row value (stripped), or ``default`` when missing or NULL."""
    value = row.get(column)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return default
    return str(value).strip()


def _obsid(row: Mapping[str, Any], key: str) -> str:
    """The ObsID of a row as a string (Chandra's integer ObsIDs without leading zeros)."""
    value = row[key]
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def _date(mjd: float) -> datetime:
    """The UTC date and time of an MJD, to the second."""
    return _MJD_EPOCH + timedelta(seconds=round(mjd * 86400.0))


def _iso(mjd: float) -> str:
    """An MJD as a FITS DATE-OBS string."""
    return _date(mjd).strftime("%Y-%m-%dT%H:%M:%S")


def _crc(text: str) -> int:
    """A stable 32-bit seed component."""
    return zlib.crc32(text.encode("utf-8"))


def _items(rng: np.random.Generator, names: list[str], lo: int, hi: int) -> list[str]:
    """Between ``lo`` and ``hi`` of ``names``, in their original order."""
    k = int(rng.integers(lo, hi + 1))
    keep = sorted(rng.choice(len(names), size=min(k, len(names)), replace=False))
    return [names[i] for i in keep]


# ======================================================================================= per-mission fields


def _on(row: Mapping[str, Any], column: str, inst: str) -> list[dict[str, Any]]:
    """A one-item loop list when the row gives the instrument exposure (or says nothing), else empty."""
    return [{"inst": inst}] if _num(row, column, 1.0) > 0 else []


def _path_fields(mission: Mission, row: Mapping[str, Any]) -> dict[str, Any]:
    """The template fields every layout rule may use, derived from the row alone."""
    o = _obsid(row, mission.key)
    start = _num(row, mission.start, mission.mjdref + 1000.0)
    return {
        "o": o,
        "lo": o.lower(),
        "o5": o.zfill(5),
        "o0": o[:1],
        "o12": o[1:3],
        "o2": o[2:3],
        "olast": o[-1:],
        "rev": o[:4],
        "ver": _text(row, "scw_ver", "001") or "001",
        "ym": _date(start).strftime("%Y_%m"),
        "rdet": "hri" if o[1:2].upper() == "H" else "pspc",
    }


def _nustar(row: Mapping[str, Any], rng: np.random.Generator, o: str, span: Span) -> dict[str, Any]:
    """Focal-plane modules: both are always in the raw data, cleaned events only with on-time."""
    fpm = [{"m": m, "inst": f"FPM{m}"} for m in "AB"]
    return {"fpm": fpm, "fpm_on": [d for d in fpm if _num(row, f"ontime_{d['m'].lower()}", 1.0) > 0]}


_ACIS_CCDS = {"ACIS-I": (0, 1, 2, 3, 6, 7), "ACIS-S": (2, 3, 5, 6, 7, 8)}
_SIM_Z = {"ACIS-I": -233.5874, "ACIS-S": -190.5548, "HRC-I": 126.9902, "HRC-S": 250.4660}


def _chandra(row: Mapping[str, Any], rng: np.random.Generator, o: str, span: Span) -> dict[str, Any]:
    """Detector, processing version, OBIs, alternating exposures, CCDs and the oif.fits header values."""
    det = _text(row, "detector", "ACIS-S").upper() or "ACIS-S"
    acis = det.startswith("ACIS")
    number = int(o)
    multi = number % 17 == 0
    alternating = acis and number % 17 == 1
    if multi:
        obis = [
            {"obi": "000", "asol": "ASPSOLOBI", "t0": 0.0, "t1": 0.48},
            {"obi": "001", "asol": "ASPSOLOBI", "t0": 0.52, "t1": 1.0},
        ]
    else:
        obis = [{"obi": "000", "asol": "ASPSOL"}]
    exposures = [{"e": "_e1"}, {"e": "_e2"}] if alternating else [{"e": ""}]
    grating = _text(row, "grating", "NONE").upper() or "NONE"
    mode = _text(row, "data_mode", "")
    ccds = _ACIS_CCDS.get(det, ())
    return {
        "det": "acis" if acis else "hrc",
        "inst": "ACIS" if acis else "HRC",
        "detnam": "ACIS-" + "".join(map(str, ccds)) if acis else det,
        "v": int(rng.integers(1, 6)),
        "t9": f"{max(0, int(span.t0)):09d}",
        "obis": obis,
        "subs": [{**b, **e} for b in obis for e in exposures],
        "evt2s": exposures,
        "bias": [{"ccd": c} for c in ccds],
        "acis": [{}] if acis else [],
        "hrc_obis": [] if acis else obis,
        "grating_obis": obis if grating != "NONE" else [],
        "gratings": [{}] if grating != "NONE" else [],
        "grating": grating,
        "datamode": (mode.replace("TE_", "") or "FAINT") if acis else "NONE",
        "seq": f"{200000 + number * 37 % 700000:06d}",
        "roll": round(float(rng.uniform(0, 360)), 4),
        "sim_z": _SIM_Z.get(det, -190.5548),
        "multi_obi": multi,
        "alternating": alternating,
    }


def _xmm(row: Mapping[str, Any], rng: np.random.Generator, o: str, span: Span) -> dict[str, Any]:
    """ODF instruments with their exposure numbers and CCDs (MOS 7, pn 12, RGS 9 each)."""
    rev = int(_num(row, "xmm_revolution", (span.mjd0 - 51544.0) / 2.0 + 1))

    def ccds(inst: str, exp: str, name: str, n: int) -> list[dict[str, Any]]:
        """One item per CCD of an instrument exposure, each with a 1/n share of the events."""
        return [
            {"i": inst, "exp": exp, "ccd": f"{c:02d}", "inst": name, "frac": 1.0 / n} for c in range(1, n + 1)
        ]

    return {
        "rev4": f"{rev:04d}",
        "epic_ccds": [
            *ccds("M1", "001", "EMOS1", 7),
            *ccds("M2", "002", "EMOS2", 7),
            *ccds("PN", "003", "EPN", 12),
        ],
        "rgs_ccds": ccds("R1", "004", "RGS1", 9) + ccds("R2", "005", "RGS2", 9),
        "om_windows": [{"w": f"{w:02d}", "inst": "OM"} for w in range(int(rng.integers(1, 4)))],
        "hk": [
            {"i": i, "inst": n}
            for i, n in (
                ("M1", "EMOS1"),
                ("M2", "EMOS2"),
                ("PN", "EPN"),
                ("R1", "RGS1"),
                ("R2", "RGS2"),
                ("OM", "OM"),
            )
        ],
        "pps": [
            {"i": "M1", "exp": "001", "t": "MIEVLI", "inst": "EMOS1"},
            {"i": "M2", "exp": "002", "t": "MIEVLI", "inst": "EMOS2"},
            {"i": "PN", "exp": "003", "t": "PIEVLI", "inst": "EPN"},
        ],
    }


def _swift(row: Mapping[str, Any], rng: np.random.Generator, o: str, span: Span) -> dict[str, Any]:
    """Instruments with exposure, XRT windowed-timing mode on some, one to three UVOT filters."""
    xrt, uvot = _on(row, "xrt_exposure", "XRT"), _on(row, "uvot_exposure", "UVOTA")
    filters = _items(rng, ["w1", "m2", "w2", "uu", "bb", "vv"], 1, 3) if uvot else []
    return {
        "xrt": xrt,
        "xrt_wt": xrt if rng.random() < 0.4 else [],
        "uvot": uvot,
        "uvot_filters": [{"f": f, "inst": "UVOTA"} for f in filters],
        "bat": _on(row, "bat_exposure", "BAT"),
    }


def _suzaku(row: Mapping[str, Any], rng: np.random.Generator, o: str, span: Span) -> dict[str, Any]:
    """XIS sensors with exposure and their editing modes (3x3, 5x5, 2x2)."""
    xis, modes = [], []
    for k in range(4):
        if _num(row, f"xis{k}_expo", 1.0) <= 0:
            continue
        n = max(1, min(3, int(_num(row, f"xis{k}_num_modes", 1))))
        item = {"k": k, "inst": f"XIS{k}", "code": "n069" if k == 1 else "n066", "mode": "3x3"}
        xis.append(item)
        modes += [{**item, "mode": m, "frac": 1.0 / n} for m in ("3x3", "5x5", "2x2")[:n]]
    return {"xis": xis, "xis_modes": modes}


def _asca(row: Mapping[str, Any], rng: np.random.Generator, o: str, span: Span) -> dict[str, Any]:
    """SIS and GIS sensors with exposure, bit rates, and the date-based telemetry file names."""
    sis = [{"i": f"s{n}", "inst": f"SIS{n}", "unf": "0101", "scr": "0102"} for n in (0, 1)]
    gis = [{"i": f"g{n}", "inst": f"GIS{n}", "unf": "0170", "scr": "0270"} for n in (2, 3)]
    insts = [
        *(sis if _num(row, "sis_exposure", 1.0) > 0 else []),
        *(gis if _num(row, "gis_exposure", 1.0) > 0 else []),
    ]
    begin, end = _date(span.mjd0), _date(span.mjd1)
    return {
        "insts": insts,
        "sis": [d for d in insts if d["i"][0] == "s"],
        "bitrates": [{**d, "b": b, "frac": 0.5} for d in insts for b in "hm"],
        "day": begin.strftime("%y%m%d"),
        "hm0": begin.strftime("%H%M"),
        "hm1": end.strftime("%H%M"),
    }


def _integral(row: Mapping[str, Any], rng: np.random.Generator, o: str, span: Span) -> dict[str, Any]:
    """Instruments with good time in this science window."""
    isgri, picsit = _on(row, "good_isgri", "IBIS"), _on(row, "good_picsit", "IBIS")
    return {
        "isgri": isgri,
        "picsit": picsit,
        "ibis": (isgri or picsit)[:1],
        "spi": _on(row, "good_spi", "SPI"),
        "jmx1": _on(row, "good_jemx1", "JMX1"),
        "jmx2": _on(row, "good_jemx2", "JMX2"),
    }


def _rosat(row: Mapping[str, Any], rng: np.random.Generator, o: str, span: Span) -> dict[str, Any]:
    """Detector, and whether the directory is in the rationalised format (``proc_rev != 0``)."""
    hri = o[1:2].upper() == "H"
    default = "HRI" if hri else ("PSPCC" if o[:2].upper() == "RS" else "PSPCB")  # the survey used PSPC-C
    inst = _text(row, "instrument", default) or default
    rdf = [{}] if _num(row, "proc_rev", 2.0) != 0 else []
    return {
        "inst": "PSPCB" if inst == "PSPC" else inst,
        "rdf": rdf,
        "old": [] if rdf else [{}],
        "bands": [{"b": b} for b in ((1,) if hri else (1, 2, 3))] if rdf else [],
        "pspc": [] if hri or not rdf else [{}],
    }


def _xrism(row: Mapping[str, Any], rng: np.random.Generator, o: str, span: Span) -> dict[str, Any]:
    """Resolve if it has a data mode, one Xtend event set per non-empty data class."""
    rsl = [{"inst": "RESOLVE"}] if _text(row, "rsl_datamode", "NORMAL") else []
    classes = [_text(row, c, d) for c, d in (("xtd_dataclas1", "31100010"), ("xtd_dataclas2", ""))]
    xtd = [{"cls": c, "inst": "XTEND"} for c in dict.fromkeys(classes) if c]
    return {"rsl": rsl, "xtd": xtd, "xtd_first": xtd[:1]}


# ======================================================================================= layouts

_E = Entry

_NUSTAR = (
    _E("nu{o}.cat.gz", "tab", ext="CATALOG", inst="FPM"),
    _E("auxil/nu{o}_att.fits.gz", "tab", ext="ATTITUDE", inst="SC"),
    _E("auxil/nu{o}_orb.fits.gz", "tab", ext="ORBIT", inst="SC"),
    _E("auxil/nu{o}_fpm.att.gz", "tab", ext="ATTITUDE", inst="SC"),
    _E("event_uf/nu{o}{m}_uf.evt.gz", "evt", over="fpm"),
    _E("event_cl/nu{o}{m}01_cl.evt.gz", "evt", over="fpm_on"),
    _E("event_cl/nu{o}{m}01_gti.fits.gz", "gti", over="fpm_on", ext="STDGTI"),
    _E("event_cl/nu{o}{m}01_sk.img.gz", "img", over="fpm_on"),
    _E("event_cl/nu{o}_mast.fits.gz", "tab", ext="MAST_ASPECT", inst="SC"),
    _E("hk/nu{o}{m}_fpm.hk.gz", "tab", over="fpm", ext="HK"),
    _E("hk/nu{o}_eng.hk.gz", "tab", ext="ENG", inst="SC"),
    _E("hk/nu{o}_ceb.hk.gz", "tab", ext="CEB", inst="SC"),
)

_CXC = "{det}f{o5}"  # acisf01843 / hrcf01843
_CHANDRA = (
    _E("oif.fits", "oif"),
    _E("00README", "txt"),
    _E("axaff{o5}N00{v}_VV001_vv2.pdf", "pdf"),
    _E("axaff{o5}N00{v}_VV001_vvref2.pdf", "pdf"),
    _E(f"primary/{_CXC}N00{{v}}{{e}}_evt2.fits.gz", "evt", over="evt2s", content="EVT2"),
    _E(
        "primary/pcadf{o5}_{obi}N00{v}_asol1.fits.gz",
        "tab",
        over="obis",
        ext="ASPSOL",
        content="{asol}",
        inst="PCAD",
    ),
    _E(f"primary/{_CXC}_{{obi}}N00{{v}}_bpix1.fits.gz", "tab", over="obis", ext="BADPIX", content="BPIX"),
    _E(f"primary/{_CXC}_{{obi}}N00{{v}}_fov1.fits.gz", "tab", over="obis", ext="FOV", content="FOV"),
    _E(f"primary/{_CXC}N00{{v}}_src2.fits.gz", "tab", ext="SRCLIST", content="SRC2"),
    _E(f"primary/{_CXC}N00{{v}}_full_img2.fits.gz", "img", content="FULL_IMG"),
    _E(f"primary/{_CXC}N00{{v}}_full_img2.jpg", "jpg"),
    _E(f"primary/{_CXC}N00{{v}}_cntr_img2.fits.gz", "img", content="CNTR_IMG"),
    _E(f"primary/{_CXC}N00{{v}}_cntr_img2.jpg", "jpg"),
    _E(f"primary/{_CXC}N00{{v}}_pha2.fits.gz", "pha", over="gratings", content="PHA2"),
    _E("primary/hrcf{o5}_{obi}N00{v}_dtf1.fits.gz", "tab", over="hrc_obis", ext="DTF", content="DTF"),
    _E(f"secondary/{_CXC}_{{obi}}N00{{v}}{{e}}_evt1.fits.gz", "evt", over="subs", content="EVT1"),
    _E(f"secondary/{_CXC}_{{obi}}N00{{v}}_evt1a.fits.gz", "evt", over="grating_obis", content="EVT1A"),
    _E(f"secondary/{_CXC}_{{obi}}N00{{v}}_mtl1.fits.gz", "tab", over="obis", ext="MTL", content="MTL"),
    _E(
        f"secondary/{_CXC}_{{obi}}N00{{v}}{{e}}_flt1.fits.gz", "gti", over="subs", ext="FILTER", content="FLT"
    ),
    _E(f"secondary/{_CXC}_{{obi}}N00{{v}}_msk1.fits.gz", "tab", over="obis", ext="MASK", content="MSK"),
    _E(
        f"secondary/{_CXC}_{{obi}}N00{{v}}{{e}}_stat1.fits.gz",
        "tab",
        over="subs",
        ext="EXPSTATS",
        content="STAT",
    ),
    _E("secondary/acisf{t9}N00{v}_{ccd}_bias0.fits.gz", "img", over="bias", content="BIAS"),
    _E("secondary/acisf{t9}N00{v}_pbk0.fits.gz", "tab", over="acis", ext="PARAMBLOCK", content="PBK"),
    _E(
        "secondary/aspect/pcadf{t9}N00{v}_aqual1.fits.gz",
        "tab",
        ext="ASPQUAL",
        content="ASPQUAL",
        inst="PCAD",
    ),
    _E("secondary/aspect/pcadf{t9}N00{v}_osol1.fits.gz", "tab", ext="ASPSOL", content="OSOL", inst="PCAD"),
    _E(
        "secondary/ephem/orbitf{t9}N00{v}_eph1.fits.gz",
        "tab",
        ext="EPHEM",
        content="ORBITEPHEM",
        inst="EPHEM",
    ),
    _E(
        "secondary/ephem/angelf{t9}N00{v}_eph1.fits.gz",
        "tab",
        ext="EPHEM",
        content="ANGLEEPHEM",
        inst="EPHEM",
    ),
    _E(
        "secondary/ephem/lunef{t9}N00{v}_eph1.fits.gz", "tab", ext="EPHEM", content="LUNAREPHEM", inst="EPHEM"
    ),
    _E(
        "secondary/ephem/solarf{t9}N00{v}_eph1.fits.gz",
        "tab",
        ext="EPHEM",
        content="SOLAREPHEM",
        inst="EPHEM",
    ),
)

_ODF = "ODF/{rev4}_{o}_"
_XMM = (
    _E("ODF/MANIFEST.{rev4}", "manifest"),
    _E(_ODF + "SCX00000SUM.SAS.gz", "txt", inst="SC"),
    _E(_ODF + "SCX00000ATS.FIT.gz", "tab", ext="ATTITUDE", inst="SC"),
    _E(_ODF + "SCX00000TCS.FIT.gz", "tab", ext="TCS", inst="SC"),
    _E(_ODF + "SCX00000ROS.ASC.gz", "txt", inst="SC"),
    _E(_ODF + "{i}S{exp}{ccd}IME.FIT.gz", "evt", over="epic_ccds"),
    _E(_ODF + "{i}S{exp}{ccd}SPE.FIT.gz", "evt", over="rgs_ccds"),
    _E(_ODF + "OMS006{w}IMI.FIT.gz", "img", over="om_windows"),
    _E(_ODF + "{i}X00000PAH.FIT.gz", "tab", over="hk", ext="HK"),
    _E("PPS/P{o}{i}S{exp}{t}0000.FTZ", "evt", over="pps"),
    _E("PPS/P{o}EPX000OIMAGE8000.FTZ", "img", inst="EPIC"),
    _E("PPS/P{o}OBX000SUMMAR0000.HTM", "html"),
)

_SWIFT = (
    _E("auxil/sw{o}sat.fits.gz", "tab", ext="ATTITUDE", inst="SC"),
    _E("auxil/sw{o}pat.fits.gz", "tab", ext="ATTITUDE", inst="SC"),
    _E("auxil/sw{o}sao.fits.gz", "tab", ext="PREFILTER", inst="SC"),
    _E("auxil/sw{o}s.mkf.gz", "tab", ext="FILTER", inst="SC"),
    _E("xrt/event/sw{o}xpcw3po_uf.evt.gz", "evt", over="xrt"),
    _E("xrt/event/sw{o}xpcw3po_cl.evt.gz", "evt", over="xrt"),
    _E("xrt/event/sw{o}xwtw2po_uf.evt.gz", "evt", over="xrt_wt"),
    _E("xrt/event/sw{o}xwtw2po_cl.evt.gz", "evt", over="xrt_wt"),
    _E("xrt/hk/sw{o}xhd.hk.gz", "tab", over="xrt", ext="HK"),
    _E("xrt/hk/sw{o}xtr.hk.gz", "tab", over="xrt", ext="TRACKING"),
    _E("xrt/image/sw{o}xim_rw.img.gz", "img", over="xrt"),
    _E("xrt/products/sw{o}xpcw3po_sk.img.gz", "img", over="xrt"),
    _E("xrt/products/sw{o}xpcw3po_ex.img.gz", "img", over="xrt", ext="EXPOSURE"),
    _E("xrt/products/sw{o}xpcw3posr.pha.gz", "pha", over="xrt"),
    _E("uvot/event/sw{o}u{f}w1po_uf.evt.gz", "evt", over="uvot_filters"),
    _E("uvot/hk/sw{o}uac.hk.gz", "tab", over="uvot", ext="HK"),
    _E("uvot/image/sw{o}u{f}_rw.img.gz", "img", over="uvot_filters"),
    _E("uvot/image/sw{o}u{f}_sk.img.gz", "img", over="uvot_filters"),
    _E("uvot/products/sw{o}u{f}_sk.gif", "gif", over="uvot_filters"),
    _E("bat/event/sw{o}bevshpo_uf.evt.gz", "evt", over="bat"),
    _E("bat/rate/sw{o}brtms.lc.gz", "lc", over="bat"),
    _E("bat/rate/sw{o}brt1s.lc.gz", "lc", over="bat"),
    _E("bat/survey/sw{o}bsvpbo.dph.gz", "tab", over="bat", ext="BAT_DPH"),
)

_AE = "ae{o}xi{k}_0_{mode}{code}"
_SUZAKU = (
    _E("auxil/ae{o}.att.gz", "tab", ext="ATTITUDE", inst="SC"),
    _E("auxil/ae{o}.orb.gz", "tab", ext="ORBIT", inst="SC"),
    _E("auxil/ae{o}.tim.gz", "tab", ext="TIM", inst="SC"),
    _E("auxil/ae{o}.ehk.gz", "tab", ext="EHK", inst="SC"),
    _E("auxil/ae{o}.mkf.gz", "tab", ext="FILTER", inst="SC"),
    _E(f"xis/event_uf/{_AE}z_uf.evt.gz", "evt", over="xis_modes"),
    _E(f"xis/event_cl/{_AE}a_cl.evt.gz", "evt", over="xis_modes"),
    _E("xis/hk/ae{o}xi{k}_0.hk.gz", "tab", over="xis", ext="HK"),
    _E("xis/hk/ae{o}xis_0.hk.gz", "tab", ext="HK", inst="XIS"),
    _E(f"xis/products/{_AE}a_sk.img.gz", "img", over="xis"),
    _E(f"xis/products/{_AE}a_sr.pi.gz", "pha", over="xis"),
    _E(f"xis/products/{_AE}a_sr.lc.gz", "lc", over="xis"),
)

_ASCA = (
    _E("aux/fa{day}_{hm0}.{hm1}.gz", "tab", ext="ATTITUDE", inst="SC"),
    _E("aux/ad{o}.mkf.gz", "tab", ext="FILTER", inst="SC"),
    _E("calib/ad{o}{i}_rdd.fits.gz", "img", over="sis"),
    _E("telem/ft{day}_{hm0}.{hm1}.gz", "tab", ext="TELEMETRY", inst="SC"),
    _E("unscreened/ad{o}{i}0{unf}{b}.unf.gz", "evt", over="bitrates"),
    _E("screened/ad{o}{i}0{scr}h.evt.gz", "evt", over="insts"),
    _E("images/ad{o}{i}.img.gz", "img", over="insts"),
    _E("spectra/ad{o}{i}.pha.gz", "pha", over="insts"),
    _E("lcurves/ad{o}{i}.lc.gz", "lc", over="insts"),
)

_INTEGRAL = (
    _E("swg.fits", "tab", ext="GROUPING", inst="INTEGRAL"),
    _E("{o}_scw.txt", "txt"),
    _E("sc_hk.fits.gz", "tab", ext="SC-HK", inst="SC"),
    _E("swg_ibis.fits", "tab", over="ibis", ext="GROUPING"),
    _E("ibis_hk.fits.gz", "tab", over="ibis", ext="HK"),
    _E("isgri_events.fits.gz", "evt", over="isgri"),
    _E("picsit_events.fits.gz", "evt", over="picsit"),
    _E("compton_events.fits.gz", "evt", over="ibis"),
    _E("swg_jmx1.fits", "tab", over="jmx1", ext="GROUPING"),
    _E("jmx1_events.fits.gz", "evt", over="jmx1"),
    _E("swg_jmx2.fits", "tab", over="jmx2", ext="GROUPING"),
    _E("jmx2_events.fits.gz", "evt", over="jmx2"),
    _E("swg_spi.fits", "tab", over="spi", ext="GROUPING"),
    _E("spi_oper.fits.gz", "evt", over="spi"),
    _E("spi_hk.fits.gz", "tab", over="spi", ext="HK"),
)
_INTEGRAL_REV = (
    _E("raw/isgri_raw_cal_{o}0000.fits.gz", "tab", ext="ISGR-CAL", inst="IBIS"),
    _E("raw/spi_raw_acs_{o}0000.fits.gz", "tab", ext="SPI-ACS", inst="SPI"),
    _E("osm/isgri_context_{o}0000.fits.gz", "tab", ext="ISGR-CTXT", inst="IBIS"),
)
_INTEGRAL_ADP = (
    _E("attitude_historic.fits.gz", "tab", ext="ATTITUDE", inst="SC"),
    _E("orbit_historic.fits.gz", "tab", ext="ORBIT", inst="SC"),
    _E("time_correlation.fits.gz", "tab", ext="TIME-CORR", inst="SC"),
    _E("revolution.fits.gz", "tab", ext="REVOLUTION", inst="SC"),
)

_ROSAT = (
    _E("{lo}_anc.fits.Z", "tab", over="rdf", ext="ANCILLARY"),
    _E("{lo}_bas.fits.Z", "evt", over="rdf"),
    _E("{lo}_bk{b}.fits.Z", "img", over="bands", ext="BACKGROUND"),
    _E("{lo}_im{b}.fits.Z", "img", over="bands"),
    _E("{lo}_mex.fits.Z", "img", over="pspc", ext="EXPOSURE"),
    _E("{lo}.fits.Z", "evt", over="old"),
)

_XA = "xa{o}"
_XRISM = (
    _E(f"auxil/{_XA}.att.gz", "tab", ext="ATTITUDE", inst="SC"),
    _E(f"auxil/{_XA}.orb.gz", "tab", ext="ORBIT", inst="SC"),
    _E(f"auxil/{_XA}.ehk.gz", "tab", ext="EHK", inst="SC"),
    _E(f"auxil/{_XA}.mkf.gz", "tab", ext="FILTER", inst="SC"),
    _E(f"auxil/{_XA}.tim.gz", "tab", ext="TIM", inst="SC"),
    _E(f"resolve/event_uf/{_XA}rsl_p0px1000_uf.evt.gz", "evt", over="rsl"),
    _E(f"resolve/event_cl/{_XA}rsl_p0px1000_cl.evt.gz", "evt", over="rsl"),
    _E(f"resolve/hk/{_XA}rsl_a0.hk1.gz", "tab", over="rsl", ext="HK"),
    _E(f"resolve/products/{_XA}rsl_p0px1000_cl.pi.gz", "pha", over="rsl"),
    _E(f"resolve/products/{_XA}rsl_p0px1000_cl.lc.gz", "lc", over="rsl"),
    _E(f"xtend/event_uf/{_XA}xtd_p0{{cls}}_uf.evt.gz", "evt", over="xtd"),
    _E(f"xtend/event_cl/{_XA}xtd_p0{{cls}}_cl.evt.gz", "evt", over="xtd"),
    _E(f"xtend/hk/{_XA}xtd_a0.hk.gz", "tab", over="xtd_first", ext="HK"),
    _E(f"xtend/products/{_XA}xtd_p0{{cls}}_cl.img.gz", "img", over="xtd"),
    _E(f"xtend/products/{_XA}xtd_p0{{cls}}_cl.pi.gz", "pha", over="xtd"),
)

#: Every HEASARC master table the sandbox serves, with its archive layout (daxa.md section 1.4).
MISSIONS: dict[str, Mission] = {
    "numaster": Mission(
        "NuSTAR",
        "obsid",
        "nustar/data/obs/{o12}/{o0}/{o}/",
        "time",
        "end_time",
        55197.0,
        "FPMA",
        40.0,
        (3e3, 79e3),
        6.8e-4,
        _NUSTAR,
        _nustar,
    ),
    "chanmaster": Mission(
        "CHANDRA",
        "obsid",
        "chandra/data/byobsid/{olast}/{o}/",
        "time",
        "",
        50814.0,
        "ACIS",
        14.6,
        (300.0, 10e3),
        1.366e-4,
        _CHANDRA,
        _chandra,
        span="exposure",
    ),
    "xmmmaster": Mission(
        "XMM",
        "obsid",
        "xmm/data/rev0/{o}/",
        "time",
        "end_time",
        50814.0,
        "EPN",
        5.0,
        (150.0, 12e3),
        1.2e-3,
        _XMM,
        _xmm,
    ),
    "swiftmastr": Mission(
        "SWIFT",
        "obsid",
        "swift/data/obs/{ym}/{o}/",
        "start_time",
        "stop_time",
        51910.0,
        "XRT",
        10.0,
        (300.0, 10e3),
        6.5e-4,
        _SWIFT,
        _swift,
    ),
    "suzamaster": Mission(
        "SUZAKU",
        "obsid",
        "suzaku/data/obs/{o0}/{o}/",
        "time",
        "stop_time",
        51544.0,
        "XIS0",
        3.65,
        (200.0, 12e3),
        2.9e-4,
        _SUZAKU,
        _suzaku,
    ),
    "ascamaster": Mission(
        "ASCA",
        "sequence_number",
        "asca/data/rev2/{o}/",
        "time",
        "end_time",
        48988.0,
        "SIS0",
        3.65,
        (400.0, 10e3),
        7.4e-4,
        _ASCA,
        _asca,
    ),
    "intscwpub": Mission(
        "INTEGRAL",
        "scw_id",
        "integral/data/scw/{rev}/{o}.{ver}/",
        "start_date",
        "end_date",
        51544.0,
        "IBIS",
        500.0,
        (15e3, 1e6),
        1.3e-2,
        _INTEGRAL,
        _integral,
        day_time=True,
        shared=(
            ("integral/data/scw/{rev}/rev.001/", _INTEGRAL_REV),
            ("integral/data/aux/adp/{rev}.001/", _INTEGRAL_ADP),
        ),
    ),
    "rosmaster": Mission(
        "ROSAT",
        "seq_id",
        "rosat/data/{rdet}/processed_data/{o2}00000/{lo}/",
        "start_time",
        "end_time",
        48043.0,
        "PSPCB",
        10.0,
        (100.0, 2.4e3),
        1.4e-4,
        _ROSAT,
        _rosat,
    ),
    "rassmaster": Mission(
        "ROSAT",
        "seq_id",
        "rosat/data/pspc/processed_data/900000/{lo}/",
        "start_date",
        "end_date",
        48043.0,
        "PSPCC",
        10.0,
        (100.0, 2.4e3),
        1.4e-4,
        _ROSAT,
        _rosat,
    ),
    "xrismmastr": Mission(
        "XRISM",
        "obsid",
        "xrism/data/obs/{o0}/{o}/",
        "time",
        "end_time",
        58484.0,
        "XTEND",
        6.0,
        (300.0, 16e3),
        4.8e-4,
        _XRISM,
        _xrism,
    ),
}


def _mission(table: str) -> Mission:
    """The layout of ``table``; KeyError naming the known tables otherwise."""
    try:
        return MISSIONS[table]
    except KeyError:
        known = ", ".join(MISSIONS)
        raise KeyError(f"no HEASARC archive layout for table {table!r}; known: {known}") from None


# ======================================================================================= observation


def _span(mission: Mission, row: Mapping[str, Any]) -> Span:
    """The observation's time range, never shorter than 1000 s."""
    mjd0 = _num(row, mission.start, mission.mjdref + 1000.0)
    if mission.stop:
        mjd1 = _num(row, mission.stop, math.nan)
    else:
        mjd1 = mjd0 + _num(row, mission.span, 0.0) / 86400.0
    if not math.isfinite(mjd1):
        mjd1 = mjd0 + 10_000.0 / 86400.0
    mjd1 = max(mjd1, mjd0 + 1000.0 / 86400.0)
    scale, digits = (1.0, 9) if mission.day_time else (86400.0, 3)  # mission times to the millisecond
    return Span(
        mjd0,
        mjd1,
        round((mjd0 - mission.mjdref) * scale, digits),
        round((mjd1 - mission.mjdref) * scale, digits),
    )


def _gtis(rng: np.random.Generator, t0: float, t1: float, seconds: float) -> np.ndarray:
    """One to three good-time intervals covering most of ``[t0, t1]``, split by gaps of about 3%."""
    pieces = 1 + int(seconds > 20_000) + int(seconds > 60_000)
    edges = np.concatenate([[0.002], np.sort(rng.uniform(0.15, 0.85, pieces - 1)), [0.998]])
    starts = edges[:-1].copy()
    starts[1:] += 0.03 * rng.uniform(0.5, 1.5, pieces - 1)
    return t0 + np.column_stack([starts, edges[1:]]) * (t1 - t0)


def _flare(rng: np.random.Generator, gtis: np.ndarray) -> tuple[float, float] | None:
    """A flare window (4% of the longest GTI) in about 40% of observations."""
    if rng.random() >= 0.4:
        return None
    lo, hi = gtis[int(np.argmax(gtis[:, 1] - gtis[:, 0]))]
    width = 0.04 * (hi - lo)
    start = lo + rng.uniform(0.1, 0.86) * (hi - lo)
    return float(start), float(start + width)


def _observation(table: str, row: Mapping[str, Any]) -> Obs:
    """Collect the fields, times, GTIs and flare of one master-table row."""
    mission = _mission(table)
    fields = _path_fields(mission, row)
    rng = np.random.default_rng([_crc(table), _crc(fields["o"])])
    span = _span(mission, row)
    fields.update(mission.context(row, rng, fields["o"], span))
    gtis = _gtis(rng, span.t0, span.t1, (span.mjd1 - span.mjd0) * 86400.0)
    ra, dec = _num(row, "ra", math.nan), _num(row, "dec", math.nan)
    if not (math.isfinite(ra) and math.isfinite(dec)):
        ra = dec = None
    target = _text(row, "name", "") or fields["o"]
    return Obs(table, mission, fields["o"], span, fields, ra, dec, target, gtis, _flare(rng, gtis))


def _revolution(table: str, rev: str) -> Obs:
    """A pseudo-observation for an INTEGRAL revolution's shared directories (3 days from IJD 1096 + 3 rev)."""
    mission = _mission(table)
    mjd0 = 52640.0 + 3.0 * int(rev)
    span = Span(mjd0, mjd0 + 3.0, mjd0 - mission.mjdref, mjd0 + 3.0 - mission.mjdref)
    rng = np.random.default_rng([_crc(table), _crc(rev)])
    gtis = _gtis(rng, span.t0, span.t1, 3 * 86400.0)
    return Obs(table, mission, rev, span, {"o": rev, "rev": rev}, None, None, f"REVOLUTION {rev}", gtis)


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
    return _bintable(extname, cols, [("HDUCLASS", "OGIP", ""), ("HDUCLAS1", "GTI", ""), *keys])


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
    events = _bintable(
        "EVENTS",
        cols,
        [("HDUCLASS", "OGIP", ""), ("HDUCLAS1", "EVENTS", ""), ("TIMEZERO", 0.0, ""), *timing, *keys],
    )
    return _primary(keys) + events + _gti_hdu(f, gtis, "GTI", timing[:2] + keys)


def _write_gti(f: File) -> bytes:
    """A file holding only good-time intervals (``flt1``, ``_gti.fits``)."""
    gtis, lo, hi = _window(f)
    keys = _common_keys(f.obs, f.inst)
    return _primary(keys) + _gti_hdu(f, gtis, f.entry.ext or "GTI", _time_keys(f, lo, hi, gtis) + keys)


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
        if name in centre:
            values = centre[name] + f.rng.normal(0.0, 1e-3, rows)
        elif unit == "km":
            values = 7000.0 * np.cos(np.linspace(0.0, 6.0, rows) + f.rng.uniform(0.0, 6.3))
        else:
            values = f.rng.normal(10.0, 1.0, rows) if tform == "E" else f.rng.integers(0, 2, rows)
        cols.append(Col(name, tform, unit, values))
    keys = _common_keys(f.obs, f.inst)
    table = _bintable(f.entry.ext or "TABLE", cols, _time_keys(f, lo, hi, gtis) + keys)
    return _primary(keys) + table


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
    return _primary(wcs + _time_keys(f, lo, hi, gtis) + _common_keys(f.obs, f.inst), image)


def _write_pha(f: File) -> bytes:
    """An OGIP type-I spectrum (CHANNEL, COUNTS)."""
    gtis, lo, hi = _window(f)
    nchan = min(1024, math.ceil(f.obs.mission.energy[1] / f.obs.mission.ev_per_chan))
    channel = np.arange(nchan)
    counts = f.rng.poisson(50.0 * np.exp(-channel / (0.2 * nchan)))
    keys = _common_keys(f.obs, f.inst)
    spec = _bintable(
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
    return _primary(keys) + spec


def _write_lc(f: File) -> bytes:
    """An OGIP light curve (TIME, RATE, ERROR) of 64 bins plus its GTI."""
    gtis, lo, hi = _window(f)
    bins = 64
    times = np.linspace(lo, hi, bins, endpoint=False) + (hi - lo) / bins / 2
    delta = _seconds(f, (hi - lo) / bins)
    counts = f.rng.poisson(20.0, bins)
    keys = _common_keys(f.obs, f.inst)
    timing = _time_keys(f, lo, hi, gtis)
    rate = _bintable(
        "RATE",
        [
            Col("TIME", "D", "d" if f.obs.mission.day_time else "s", times),
            Col("RATE", "E", "count/s", counts / delta),
            Col("ERROR", "E", "count/s", np.sqrt(np.maximum(counts, 1)) / delta),
        ],
        [("HDUCLASS", "OGIP", ""), ("HDUCLAS1", "LIGHTCURVE", ""), ("TIMEDEL", delta, "s"), *timing, *keys],
    )
    return _primary(keys) + rate + _gti_hdu(f, gtis, "GTI", timing[:2] + keys)


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
    return _primary(keys + common) + _bintable("GROUPING", cols, keys + common)


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
            seed = [_crc(obs.table), _crc(obs.obsid), _crc(path)]
            files.append(File(obs, entry, path, fields, np.random.default_rng(seed)))
    paths = [f.path for f in files]
    if len(set(paths)) != len(paths):
        raise RuntimeError(f"{obs.table} {obs.obsid}: layout produces duplicate file names")
    return files


def _render(obs: Obs, entries: tuple[Entry, ...]) -> dict[str, bytes]:
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


# ======================================================================================= directories


def _listing(root: Path, directory: Path) -> list[str]:
    """Files below ``directory``, as sorted POSIX paths relative to ``root``."""
    return sorted(p.relative_to(root).as_posix() for p in directory.rglob("*") if p.is_file())


def _materialise(root: Path, reldir: str, render: Callable[[], dict[str, bytes]]) -> list[str]:
    """Build ``root/reldir`` atomically (temporary sibling, then rename) unless it already exists."""
    target = root / reldir
    if not target.is_dir() or not any(target.iterdir()):  # an empty directory is replaced by the rename
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
        try:
            for rel, payload in render().items():
                path = tmp / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(payload)
            os.chmod(tmp, 0o755)
            try:
                os.rename(tmp, target)
            except OSError:  # another builder won the race: keep its (identical) directory
                if not target.is_dir():
                    raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return _listing(root, target)


def observation_path(table: str, row: Mapping[str, Any]) -> str:
    """The observation's directory below the FTP root (relative, trailing slash), by HEASARC's rules."""
    mission = _mission(table)
    return mission.path.format(**_path_fields(mission, row))


def shared_paths(table: str, row: Mapping[str, Any]) -> list[str]:
    """Directories the observation shares with others (INTEGRAL revolution data), relative, trailing slash."""
    mission = _mission(table)
    fields = _path_fields(mission, row)
    return [template.format(**fields) for template, _ in mission.shared]


def build_observation(table: str, row: Mapping[str, Any], root: Path) -> list[str]:
    """Write every file of the observation under ``root`` (once) and return their sorted relative paths.

    INTEGRAL rows also get their revolution's shared ``rev.001`` and ``aux/adp`` directories, which
    are included in the returned list.
    """
    root = Path(root)
    mission = _mission(table)
    fields = _path_fields(mission, row)
    paths = _materialise(
        root, mission.path.format(**fields), lambda: _render(_observation(table, row), mission.entries)
    )
    for template, entries in mission.shared:
        paths += _materialise(
            root, template.format(**fields), lambda e=entries: _render(_revolution(table, fields["rev"]), e)
        )
    return sorted(paths)
