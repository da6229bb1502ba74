"""The sandbox's HEASARC ``/FTP`` tree: one directory of small but real files per observation.

:func:`observation_path` maps a master-table row to its directory with HEASARC's own layout rules
(the ones DAXA relies on), and :func:`build_observation` writes that directory.  Every mission is
declared as data (:data:`MISSIONS`): a path template, a list of file-name templates, and a small
function that derives the per-observation template fields (which instruments ran, how many CCDs, ...);
the templates are data (``data/missions.toml``, ``data/layout_files.csv``), the functions are here.

File contents come from :mod:`...synth.synthfiles` (deterministic byte for byte) through the FITS writer
of :mod:`...synth.fitsgen`; directories appear atomically (built aside, then renamed into place).

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

import functools
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ... import datafiles
from ...synth.synthfiles import Entry, Mission, Obs, Span, crc, mjd_date, num, obsid_text, pick, render, text

__all__ = ["MISSIONS", "TREE_VERSION", "Mission", "build_observation", "data_files", "observation_path", "shared_paths"]

#: Bumped whenever file names or contents change, so that caches of built trees are not reused.
TREE_VERSION = 1


# ======================================================================================= per-mission fields


def _on(row: Mapping[str, Any], column: str, inst: str) -> list[dict[str, Any]]:
    """A one-item loop list when the row gives the instrument exposure (or says nothing), else empty."""
    return [{"inst": inst}] if num(row, column, 1.0) > 0 else []


def _path_fields(mission: Mission, row: Mapping[str, Any]) -> dict[str, Any]:
    """The template fields every layout rule may use, derived from the row alone."""
    o = obsid_text(row, mission.key)
    start = num(row, mission.start, mission.mjdref + 1000.0)
    return {
        "o": o,
        "lo": o.lower(),
        "o5": o.zfill(5),
        "o0": o[:1],
        "o12": o[1:3],
        "o2": o[2:3],
        "olast": o[-1:],
        "rev": o[:4],
        "ver": text(row, "scw_ver", "001") or "001",
        "ym": mjd_date(start).strftime("%Y_%m"),
        "rdet": "hri" if o[1:2].upper() == "H" else "pspc",
    }


def _nustar(row: Mapping[str, Any], rng: np.random.Generator, o: str, span: Span) -> dict[str, Any]:
    """Focal-plane modules: both are always in the raw data, cleaned events only with on-time."""
    fpm = [{"m": m, "inst": f"FPM{m}"} for m in "AB"]
    return {"fpm": fpm, "fpm_on": [d for d in fpm if num(row, f"ontime_{d['m'].lower()}", 1.0) > 0]}


_ACIS_CCDS = {"ACIS-I": (0, 1, 2, 3, 6, 7), "ACIS-S": (2, 3, 5, 6, 7, 8)}
_SIM_Z = {"ACIS-I": -233.5874, "ACIS-S": -190.5548, "HRC-I": 126.9902, "HRC-S": 250.4660}


def _chandra(row: Mapping[str, Any], rng: np.random.Generator, o: str, span: Span) -> dict[str, Any]:
    """Detector, processing version, OBIs, alternating exposures, CCDs and the oif.fits header values."""
    det = text(row, "detector", "ACIS-S").upper() or "ACIS-S"
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
    grating = text(row, "grating", "NONE").upper() or "NONE"
    mode = text(row, "data_mode", "")
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
    rev = int(num(row, "xmm_revolution", (span.mjd0 - 51544.0) / 2.0 + 1))

    def ccds(inst: str, exp: str, name: str, n: int) -> list[dict[str, Any]]:
        """One item per CCD of an instrument exposure, each with a 1/n share of the events."""
        return [{"i": inst, "exp": exp, "ccd": f"{c:02d}", "inst": name, "frac": 1.0 / n} for c in range(1, n + 1)]

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
    filters = pick(rng, ["w1", "m2", "w2", "uu", "bb", "vv"], 1, 3) if uvot else []
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
        if num(row, f"xis{k}_expo", 1.0) <= 0:
            continue
        n = max(1, min(3, int(num(row, f"xis{k}_num_modes", 1))))
        item = {"k": k, "inst": f"XIS{k}", "code": "n069" if k == 1 else "n066", "mode": "3x3"}
        xis.append(item)
        modes += [{**item, "mode": m, "frac": 1.0 / n} for m in ("3x3", "5x5", "2x2")[:n]]
    return {"xis": xis, "xis_modes": modes}


def _asca(row: Mapping[str, Any], rng: np.random.Generator, o: str, span: Span) -> dict[str, Any]:
    """SIS and GIS sensors with exposure, bit rates, and the date-based telemetry file names."""
    sis = [{"i": f"s{n}", "inst": f"SIS{n}", "unf": "0101", "scr": "0102"} for n in (0, 1)]
    gis = [{"i": f"g{n}", "inst": f"GIS{n}", "unf": "0170", "scr": "0270"} for n in (2, 3)]
    insts = [
        *(sis if num(row, "sis_exposure", 1.0) > 0 else []),
        *(gis if num(row, "gis_exposure", 1.0) > 0 else []),
    ]
    begin, end = mjd_date(span.mjd0), mjd_date(span.mjd1)
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
    inst = text(row, "instrument", default) or default
    rdf: list[dict[str, Any]] = [{}] if num(row, "proc_rev", 2.0) != 0 else []
    return {
        "inst": "PSPCB" if inst == "PSPC" else inst,
        "rdf": rdf,
        "old": [] if rdf else [{}],
        "bands": [{"b": b} for b in ((1,) if hri else (1, 2, 3))] if rdf else [],
        "pspc": [] if hri or not rdf else [{}],
    }


def _xrism(row: Mapping[str, Any], rng: np.random.Generator, o: str, span: Span) -> dict[str, Any]:
    """Resolve if it has a data mode, one Xtend event set per non-empty data class."""
    rsl = [{"inst": "RESOLVE"}] if text(row, "rsl_datamode", "NORMAL") else []
    classes = [text(row, c, d) for c, d in (("xtd_dataclas1", "31100010"), ("xtd_dataclas2", ""))]
    xtd = [{"cls": c, "inst": "XTEND"} for c in dict.fromkeys(classes) if c]
    return {"rsl": rsl, "xtd": xtd, "xtd_first": xtd[:1]}


# ======================================================================================= layouts

#: The function deriving each layout's template fields, by the name missions.toml gives (``fields``).
_FIELDS: dict[str, Callable[[Mapping[str, Any], np.random.Generator, str, Span], dict[str, Any]]] = {
    "nustar": _nustar,
    "chandra": _chandra,
    "xmm": _xmm,
    "swift": _swift,
    "suzaku": _suzaku,
    "asca": _asca,
    "integral": _integral,
    "rosat": _rosat,
    "xrism": _xrism,
}


def _layouts() -> dict[str, tuple[Entry, ...]]:
    """The file lists of data/layout_files.csv by layout name, in file order."""
    out: dict[str, list[Entry]] = {}
    for row in datafiles.rows(__package__, "layout_files.csv"):
        entry = Entry(row["template"], row["kind"], row["over"], row["ext"], row["content"], row["inst"])
        out.setdefault(row["layout"], []).append(entry)
    return {name: tuple(entries) for name, entries in out.items()}


def _missions() -> dict[str, Mission]:
    """Every master table's archive layout, from data/missions.toml and data/layout_files.csv."""
    layouts = _layouts()
    out = {}
    for table, m in datafiles.toml(__package__, "missions.toml").items():
        out[table] = Mission(
            m["telescop"], m["key"], m["path"], m["start"], m["stop"], float(m["mjdref"]), m["inst"],
            float(m["ev_per_chan"]), (float(m["energy"][0]), float(m["energy"][1])), float(m["pixel_deg"]),
            layouts[m["layout"]], _FIELDS[m["fields"]], span=m.get("span", ""), day_time=m.get("day_time", False),
            shared=tuple((d["path"], layouts[d["layout"]]) for d in m.get("shared", ())),
        )  # fmt: skip
    return out


#: Every HEASARC master table the sandbox serves, with its archive layout (daxa.md section 1.4).
MISSIONS: dict[str, Mission] = _missions()


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
    mjd0 = num(row, mission.start, mission.mjdref + 1000.0)
    if mission.stop:
        mjd1 = num(row, mission.stop, math.nan)
    else:
        mjd1 = mjd0 + num(row, mission.span, 0.0) / 86400.0
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
    rng = np.random.default_rng([crc(table), crc(fields["o"])])
    span = _span(mission, row)
    fields.update(mission.context(row, rng, fields["o"], span))
    gtis = _gtis(rng, span.t0, span.t1, (span.mjd1 - span.mjd0) * 86400.0)
    ra_deg, dec_deg = num(row, "ra", math.nan), num(row, "dec", math.nan)
    ra, dec = (ra_deg, dec_deg) if math.isfinite(ra_deg) and math.isfinite(dec_deg) else (None, None)
    target = text(row, "name", "") or fields["o"]
    return Obs(table, mission, fields["o"], span, fields, ra, dec, target, gtis, _flare(rng, gtis))


def _revolution(table: str, rev: str) -> Obs:
    """A pseudo-observation for an INTEGRAL revolution's shared directories (3 days from IJD 1096 + 3 rev)."""
    mission = _mission(table)
    mjd0 = 52640.0 + 3.0 * int(rev)
    span = Span(mjd0, mjd0 + 3.0, mjd0 - mission.mjdref, mjd0 + 3.0 - mission.mjdref)
    rng = np.random.default_rng([crc(table), crc(rev)])
    gtis = _gtis(rng, span.t0, span.t1, 3 * 86400.0)
    return Obs(table, mission, rev, span, {"o": rev, "rev": rev}, None, None, f"REVOLUTION {rev}", gtis)


# ======================================================================================= directories


def _listing(root: Path, directory: Path) -> list[str]:
    """Files below ``directory``, as sorted POSIX paths relative to ``root``."""
    return sorted(p.relative_to(root).as_posix() for p in directory.rglob("*") if p.is_file())


def _render_revolution(table: str, rev: str, entries: tuple[Entry, ...]) -> dict[str, bytes]:
    """Every file of a revolution's shared directory (INTEGRAL's ``rev.001``, ``aux/adp``)."""
    return render(_revolution(table, rev), entries)


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


def data_files(table: str, row: Mapping[str, Any], count: int = 3) -> list[str]:
    """The first ``count`` files of the observation's directory that do not depend on its instruments (the
    layout's entries without a loop, named from the row alone), relative to the directory, without writing it."""
    mission = _mission(table)
    fields = _path_fields(mission, row)
    out = []
    for entry in mission.entries:
        if entry.over:
            continue
        try:
            out.append(entry.template.format(**fields))
        except (KeyError, IndexError):  # a name needing the observation's derived fields: not a fixed file
            continue
        if len(out) == count:
            break
    return out


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
    paths = _materialise(root, mission.path.format(**fields), lambda: render(_observation(table, row), mission.entries))
    for template, entries in mission.shared:
        shared = functools.partial(_render_revolution, table, fields["rev"], entries)
        paths += _materialise(root, template.format(**fields), shared)
    return sorted(paths)
