"""Deterministic rows for the ESO sandbox's ``dbo.raw`` (frames in observation blocks, calibrations
public at once, science proprietary for a year) and ``ivoa.ObsCore`` (Phase 3 products), vectorised.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

import astropy.units as u
import numpy as np
from astropy.coordinates import BarycentricMeanEcliptic, SkyCoord

from ...protocols.vo import DATALINK_MIME
from .catalog import _DAY, _DOME, _MJD_UNIX, _NIGHT, COLLECTIONS, INSTRUMENTS, IVO_ID, PLACEHOLDER, TABLES, TARGETS

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

#: NULL for ``np.where`` (an object array: numpy's type stubs take no bare None there)
_NULL = np.array(None, dtype=object)

# ---------------------------------------------------------------------------------- helpers


def _pick(rng: np.random.Generator, values: Sequence, n: int, p: Sequence[float] | None = None) -> np.ndarray:
    """``n`` draws from ``values`` as an object array."""
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out[rng.choice(len(values), n, p=None if p is None else np.asarray(p) / np.sum(p))]


def _texts(fmt: Callable[..., str | None], *columns: Iterable[object]) -> np.ndarray:
    """An object array of ``fmt(*row)`` over the given columns."""
    return np.array([fmt(*row) for row in zip(*columns)], dtype=object)


def _log_uniform(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Values spread evenly in log between ``lo`` and ``hi`` (arrays or scalars)."""
    return np.exp(rng.uniform(np.log(lo), np.log(hi)))


def _ms(mjd: np.ndarray) -> np.ndarray:
    """Milliseconds since 1970 of MJDs (int64)."""
    return np.round((np.asarray(mjd, dtype=float) - _MJD_UNIX) * 86_400_000.0).astype(np.int64)


def _days_ms(days: np.ndarray) -> np.ndarray:
    """A duration in days as whole milliseconds (int64)."""
    return np.round(np.asarray(days, dtype=float) * 86_400_000.0).astype(np.int64)


def _stamp(ms: np.ndarray) -> np.ndarray:
    """``datetime64[ms]`` of milliseconds since 1970, as the TAP layer's timestamp columns take."""
    return np.asarray(ms, dtype=np.int64).astype("datetime64[ms]")


def _iso_ms(ms: np.ndarray) -> np.ndarray:
    """ISO texts to the millisecond (``2021-01-02T00:59:12.533``), as in ESO's identifiers."""
    return np.datetime_as_string(_stamp(ms), unit="ms").astype(object)


def _unique_ms(ms: np.ndarray, group: np.ndarray) -> np.ndarray:
    """``ms`` nudged forward as little as needed so that no two rows of a ``group`` share a millisecond."""
    if not ms.size:
        return ms.copy()
    order = np.lexsort((ms, group))
    rank = np.arange(ms.size, dtype=np.int64)
    offset = np.asarray(group, dtype=np.int64)[order] * (int(ms.max() - ms.min()) + ms.size + 1)
    # Sorted within a group, ms - rank must not decrease; the offsets keep the groups apart.
    out = np.empty_like(ms)
    out[order] = np.maximum.accumulate(offset + ms[order] - ms.min() - rank) - offset + rank + ms.min()
    return out


def _sky(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions uniform on the sky visible from Chile (Dec below +30)."""
    ra = rng.uniform(0.0, 360.0, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1.0, np.sin(np.radians(30.0)), n)))
    return ra, dec


def _offset(
    rng: np.random.Generator, ra: np.ndarray, dec: np.ndarray, radius: float | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Positions scattered uniformly within ``radius`` degrees of (ra, dec)."""
    sep = radius * np.sqrt(rng.random(ra.size))
    pa = rng.uniform(0.0, 2 * np.pi, ra.size)
    new_dec = np.clip(dec + sep * np.cos(pa), -89.999, 89.999)
    cosd = np.maximum(np.cos(np.radians(new_dec)), 1e-3)
    return (ra + sep * np.sin(pa) / cosd) % 360.0, new_dec


def _near_targets(
    rng: np.random.Generator, n: int, share: float, allowed: Sequence[int], radius: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sky positions with a ``share`` within ``radius`` deg of ``allowed`` TARGETS; target index or -1."""
    ra, dec = _sky(rng, n)
    which = np.full(n, -1)
    if allowed:
        near = rng.random(n) < share
        which[near] = np.asarray(allowed)[rng.integers(0, len(allowed), int(near.sum()))]
    for k, target in enumerate(TARGETS):
        sel = which == k
        ra[sel], dec[sel] = _offset(rng, np.full(sel.sum(), target.ra), np.full(sel.sum(), target.dec), radius)
    return ra, dec, which


def _target_names(rng: np.random.Generator, which: np.ndarray, other: np.ndarray) -> np.ndarray:
    """A spelling of the target's name where ``which`` >= 0, else ``other``."""
    names = other.copy()
    for k, target in enumerate(TARGETS):
        sel = which == k
        names[sel] = _pick(rng, target.spellings, int(sel.sum()))
    return names


def _galactic_ecliptic(ra: np.ndarray, dec: np.ndarray) -> dict[str, np.ndarray]:
    """Galactic and ecliptic coordinates (deg, 6 decimals; NaN where the position is NULL)."""
    out = {k: np.full(ra.size, np.nan) for k in ("gal_lon", "gal_lat", "ecl_lon", "ecl_lat")}
    ok = np.isfinite(ra) & np.isfinite(dec)
    if ok.any():
        icrs = SkyCoord(ra[ok] * u.deg, dec[ok] * u.deg, frame="icrs")
        gal, ecl = icrs.galactic, icrs.transform_to(BarycentricMeanEcliptic())
        out["gal_lon"][ok], out["gal_lat"][ok] = gal.l.deg, gal.b.deg
        out["ecl_lon"][ok], out["ecl_lat"][ok] = ecl.lon.deg, ecl.lat.deg
    return {k: np.round(v, 6) for k, v in out.items()}


def _periods(mjd: np.ndarray) -> np.ndarray:
    """ESO observing period of each date (P1 began in April 1968; periods start in April and October)."""
    when = _stamp(_ms(mjd))
    year = when.astype("datetime64[Y]").astype(int) + 1970
    month = when.astype("datetime64[M]").astype(int) % 12 + 1
    half = np.where(month >= 10, 2, np.where(month >= 4, 1, 0))
    return (2 * (year - 1968) + half).astype(np.int64)


_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def _prog_ids(rng: np.random.Generator, period: np.ndarray, calib: np.ndarray) -> np.ndarray:
    """ESO programme (run) IDs: ``091.B-0088(B)`` before P108, ``114.27U3.001`` since; calibrations ``60.A-9...``."""
    n = period.size
    cat = _pick(rng, list("ABCDEL"), n)
    num = rng.integers(1, 1000, n)
    run = _pick(rng, list("ABCDEF"), n)
    code = ["".join(c) for c in np.array(list(_CODE_CHARS))[rng.integers(0, len(_CODE_CHARS), (n, 4))]]
    out = np.empty(n, dtype=object)
    for i in range(n):
        if calib[i]:
            out[i] = f"60.A-9{num[i] % 1000:03d}(A)"
        elif period[i] >= 108:
            out[i] = f"{period[i]}.{code[i]}.{num[i] % 20 + 1:03d}"
        else:
            out[i] = f"{period[i]:03d}.{cat[i]}-{num[i]:04d}({run[i]})"
    return out


def _coord_texts(values: np.ndarray) -> np.ndarray:
    """Coordinates as ESO writes them in STC-S strings: shortest form, at most 6 decimals."""
    return np.array([f"{v:.6f}".rstrip("0").rstrip(".") for v in np.asarray(values, dtype=float).tolist()])


def _stcs(shape: str, *columns: np.ndarray) -> np.ndarray:
    """STC-S strings ``<shape> J2000 c1 c2 ...`` row by row; None where the first column is NULL."""
    texts = [_coord_texts(c) for c in columns]
    out = np.array([f"{shape} J2000 " + " ".join(row) for row in zip(*texts)], dtype=object)
    if columns:
        out[~np.isfinite(np.asarray(columns[0], dtype=float))] = None
    return out


def _nullable(values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """An object array of Python ints where ``keep``, None elsewhere (nullable int/long column)."""
    out = np.empty(values.size, dtype=object)
    out[keep] = [int(v) for v in values[keep]]
    return out


def _night_start(
    rng: np.random.Generator, first: np.ndarray, last: np.ndarray, now: float, recent: np.ndarray, day: bool
) -> np.ndarray:
    """Start MJDs between ``first`` and ``last`` (and before ``now``), some ``recent``; at night or by day."""
    hi = np.minimum(last, now - 2.0)
    start = np.floor(rng.uniform(first, np.maximum(hi, first)))
    start[recent] = np.floor(now - rng.uniform(2.0, 300.0, int(recent.sum())))
    start = np.clip(start, np.floor(first), np.floor(np.maximum(hi, first)))
    lo, up = _DAY if day else _NIGHT
    return start + rng.uniform(lo, up, start.size)


def _per(items: Sequence, index: np.ndarray, fn: Callable, dtype: DTypeLike = object) -> np.ndarray:
    """``fn(items[i])`` for every ``i`` in ``index`` (each item looked at once)."""
    return np.array([fn(x) for x in items], dtype=dtype)[index]


def _member(rng: np.random.Generator, groups: Sequence[Sequence], which: np.ndarray) -> np.ndarray:
    """A random member of ``groups[w]`` for each ``w``, as an index into the flattened groups."""
    sizes = np.array([len(g) for g in groups])
    offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    return offsets[which] + (rng.random(which.size) * sizes[which]).astype(int)


def _flat(groups: Sequence[Sequence]) -> list:
    """The members of ``groups`` in one list (what :func:`_member` indexes)."""
    return [item for group in groups for item in group]


_SETUPS = _flat([i.setups for i in INSTRUMENTS])
_CALIBS = _flat([i.calibs for i in INSTRUMENTS])


# ---------------------------------------------------------------------------------- dbo.raw


def _raw_blocks(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows grouped into observation blocks: (block of each row, exposure number, block sizes)."""
    sizes = rng.integers(1, 9, max(n, 1))
    count = int(np.searchsorted(np.cumsum(sizes), n)) + 1 if n else 0
    sizes = sizes[:count]
    block = np.repeat(np.arange(count), sizes)[:n]
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    return block, np.arange(n) - starts[block] + 1, sizes


def _raw_ob_schedule(
    rng: np.random.Generator, inst: np.ndarray, cat: np.ndarray, now: float
) -> tuple[np.ndarray, np.ndarray]:
    """Start (MJD) and exposure (s) of each OB: science at night, some recent; calibrations by day."""
    calib = cat == "CALIB"
    first = _per(INSTRUMENTS, inst, lambda i: i.first_mjd, float)
    last = _per(INSTRUMENTS, inst, lambda i: i.last_mjd, float)
    recent = ~calib & (rng.random(inst.size) < 0.12)
    night = _night_start(rng, first, last, now, recent, day=False)
    start = np.where(calib, _night_start(rng, first, last, now, recent, day=True), night)
    lo = _per(INSTRUMENTS, inst, lambda i: i.exposure[0], float)
    hi = _per(INSTRUMENTS, inst, lambda i: i.exposure[1], float)
    exposure = np.round(_log_uniform(rng, lo, hi), 4)
    short = cat != "SCIENCE"  # calibrations and acquisitions
    exposure[short] = np.round(rng.uniform(1.0, 30.0, int(short.sum())), 4)
    return start, exposure


def _raw_ob(rng: np.random.Generator, k: int, now: float) -> dict[str, np.ndarray]:
    """Per-OB attributes: instrument, category, setup, start, exposure, pointing, target, programme."""
    weights = np.array([i.weight for i in INSTRUMENTS])
    inst = rng.choice(len(INSTRUMENTS), k, p=weights / weights.sum())
    cat = _pick(rng, ["SCIENCE", "CALIB", "ACQUISITION"], k, [0.6, 0.33, 0.07])
    calib = cat == "CALIB"
    cal_type = np.array(_CALIBS, dtype=object)[_member(rng, [i.calibs for i in INSTRUMENTS], inst)]
    cal_type[~calib] = None
    start, exposure = _raw_ob_schedule(rng, inst, cat, now)
    exposure[cal_type == "BIAS"] = 0.0
    ra, dec, which = _near_targets(rng, k, 0.45, range(len(TARGETS)), 0.05)
    dome = np.isin(cal_type, sorted(_DOME))
    ra[dome], dec[dome] = np.nan, np.nan
    which[calib] = -1
    period = _periods(start)
    return {
        "inst": inst,
        "cat": cat,
        "setup": _member(rng, [i.setups for i in INSTRUMENTS], inst),
        "cal_type": cal_type,
        "start": start,
        "exposure": exposure,
        "overhead": rng.uniform(20.0, 120.0, k),
        "ra": ra,
        "dec": dec,
        "name": _target_names(rng, which, _texts(lambda s: f"HD {s}", rng.integers(1000, 240_000, k))),
        "ob_id": 200_000_000 + rng.permutation(max(k, 1) * 50)[:k],
        "ndit": rng.integers(1, 11, k),
        "obs_mode": np.where(calib | (rng.random(k) < 0.7), "s", "v").astype(object),
        "period": period,
        "prog_id": _prog_ids(rng, period, calib),
        "prog_type": rng.choice([0, 0, 0, 0, 1, 2, 3, 4], k),
        "seqno": np.where(calib | (cat == "ACQUISITION"), 1, rng.integers(2, 4, k)),
        "pi": rng.integers(1, 500, k),
        "size_factor": rng.uniform(0.9, 1.1, k),
    }


def _raw_identity(rng: np.random.Generator, rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """What a frame is and when: dp_cat/type/id, times, release, file name, size and URLs."""
    n, cat = rows["cat"].size, rows["cat"]
    calib, science = cat == "CALIB", cat == "SCIENCE"
    dp_type = np.where(science & (rng.random(n) < 0.15), "SKY", "OBJECT").astype(object)
    dp_type[calib] = rows["cal_type"][calib]
    mjd = rows["start"] + (rows["expno"] - 1) * (rows["exposure"] + rows["overhead"]) / 86400.0
    ticks = np.round((mjd - _MJD_UNIX) * 864_000_000.0).astype(np.int64)  # units of 0.1 ms
    ms = _unique_ms(ticks // 10, rows["inst"])  # dp_id must be unique
    iso = _iso_ms(ms)
    dp_id = _texts(lambda p, t: f"{p}.{t}", _per(INSTRUMENTS, rows["inst"], lambda i: i.prefix), iso)
    stamp = _stamp(ms)
    doy = (stamp.astype("datetime64[D]") - stamp.astype("datetime64[Y]")).astype(int) + 1
    kind = np.where(calib, "CAL", np.where(science, "OBS", "ACQ"))
    names = _per(INSTRUMENTS, rows["inst"], lambda i: i.name)
    proprietary = np.where(rng.random(n) < 0.06, 730.0, 365.0) * ~calib  # calibrations are public at once
    size_kb = _per(INSTRUMENTS, rows["inst"], lambda i: i.size_kb, float) * rows["size_factor"]
    return {
        "access_estsize": np.round(size_kb).astype(np.int64),
        "access_url": _texts(lambda d: f"{PLACEHOLDER}/dataPortal/file/{d}", dp_id),
        "datalink_url": _texts(lambda d: f"{PLACEHOLDER}/datalink/links?ID={IVO_ID}{d}", dp_id),
        "date_obs": _texts(lambda t, d: f"{t}{d}", iso, ticks % 10),
        "dp_cat": cat,
        "dp_id": dp_id,
        "dp_type": dp_type,
        "exp_start": stamp,
        "exposure": rows["exposure"],
        "last_mod_date": _stamp(ms + _days_ms(rng.uniform(0.01, 0.15, n))),
        "mjd_obs": np.round(_MJD_UNIX + ms / 86_400_000.0, 8),
        "origfile": _texts(lambda x, k, d, e: f"{x}_{k}{d:03d}_{e:04d}.fits", names, kind, doy, rows["expno"]),
        "release_date": _stamp(ms + _days_ms(rng.uniform(0.02, 0.2, n) + proprietary)),
    }


def _raw_setup(rng: np.random.Generator, rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """How a frame was taken: instrument, telescope, setup, technique and detector."""
    inst, setup, n = rows["inst"], rows["setup"], rows["inst"].size
    infrared = _per(INSTRUMENTS, inst, lambda i: i.infrared, bool)
    tech = _per(_SETUPS, setup, lambda s: s.tech)
    ndit = np.where(infrared, rows["ndit"], 1)
    return {
        "det_chip1id": _per(INSTRUMENTS, inst, lambda i: i.chip),
        "det_chop_ncycles": np.full(n, None, dtype=object),
        "det_dit": np.where(infrared, np.round(rows["exposure"] / ndit, 4), np.nan),
        "det_expid": rng.integers(1, 100_000, n).astype(np.int32),
        "det_ndit": ndit.astype(np.int32),
        "dp_tech": np.where(rows["cat"] == "CALIB", _per(_SETUPS, setup, lambda s: s.tech.split(",")[0]), tech),
        "filter_path": _per(_SETUPS, setup, lambda s: s.filter),
        "grat_path": _per(_SETUPS, setup, lambda s: s.grating),
        "gris_path": _per(_SETUPS, setup, lambda s: s.grism),
        "ins_mode": _per(_SETUPS, setup, lambda s: s.mode),
        "instrument": _per(INSTRUMENTS, inst, lambda i: i.name),
        "lambda_max": np.full(n, np.nan),
        "lambda_min": np.full(n, np.nan),
        "slit_path": _per(_SETUPS, setup, lambda s: s.slit),
        "telescope": _per(INSTRUMENTS, inst, lambda i: i.telescope),
    }


def _raw_sky(rng: np.random.Generator, rows: dict[str, np.ndarray], dp_type: np.ndarray) -> dict[str, np.ndarray]:
    """Where a frame points: the OB's pointing jittered by arcseconds, SKY frames 0.1-0.25 deg away."""
    ra, dec = rows["ra"].copy(), rows["dec"].copy()
    ok = np.isfinite(ra)
    ra[ok], dec[ok] = _offset(rng, ra[ok], dec[ok], 0.002)
    off = ok & (dp_type == "SKY")
    ra[off], dec[off] = _offset(rng, ra[off], dec[off], rng.uniform(0.1, 0.25, int(off.sum())))
    ra, dec = np.round(ra, 8), np.round(dec, 8)
    calib = rows["cat"] == "CALIB"
    names, star = rows["name"], dp_type == "STD"
    obj = np.where(calib & ~star, dp_type, names).astype(object)
    target = names.copy()
    target[calib & ~star] = None
    ra_pnt, dec_pnt = np.round(ra, 6), np.round(dec, 6)
    out = {"dec": dec, "dec_pnt": dec_pnt, "object": obj, "ra": ra, "ra_pnt": ra_pnt, "target": target}
    out["s_region"] = _stcs("POSITION", ra_pnt, dec_pnt)
    return out | _galactic_ecliptic(ra, dec)


def _raw_programme(rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Who asked for a frame and within which OB and template."""
    calib, science = rows["cat"] == "CALIB", rows["cat"] == "SCIENCE"
    kind = np.where(calib, "cal", np.where(science, "obs", "acq"))
    names = _per(INSTRUMENTS, rows["inst"], lambda i: i.name)
    modes = _per(_SETUPS, rows["setup"], lambda s: s.mode)
    tpl_start = _stamp(_ms(rows["start"]) - 60_000).astype("datetime64[s]")
    return {
        "ob_id": rows["ob_id"].astype(np.int32),
        "ob_name": np.where(calib, "Calibration", _texts(lambda t, i: f"{t}_{i % 1000}", rows["name"], rows["ob_id"])),
        "obs_mode": rows["obs_mode"],
        "period": rows["period"].astype(np.int32),
        "pi_coi": np.where(calib, "ESO/ CALIBRATION", _texts(lambda p: f"SANDBOX/ PI{p:03d}", rows["pi"])),
        "prog_id": rows["prog_id"],
        "prog_title": np.where(
            calib, "CALIBRATION PLAN", _texts(lambda p: f"SYNTHETIC PROGRAMME {p}", rows["prog_id"])
        ),
        "prog_type": rows["prog_type"].astype(np.int32),
        "tpl_expno": rows["expno"].astype(np.int32),
        "tpl_id": _texts(lambda x, k, m: f"{x}_{k}_{m}", names, kind, modes),
        "tpl_name": np.where(calib, "Calibration", np.where(science, "Science exposure", "Acquisition")),
        "tpl_nexp": rows["nexp"].astype(np.int32),
        "tpl_seqno": rows["seqno"].astype(np.int32),
        "tpl_start": np.datetime_as_string(tpl_start),
    }


def _raw_conditions(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Telescope and ambient conditions: airmass, altitude, azimuth, seeing, pressure, humidity."""
    airmass = np.round(np.clip(1.0 + rng.exponential(0.25, n), 1.0, 2.8), 3)
    fwhm = np.round(np.clip(rng.lognormal(np.log(0.8), 0.3, n), 0.3, 2.5), 2)
    pressure = np.round(rng.uniform(742.0, 746.0, n), 2)
    return {
        "tel_airm_end": np.round(np.clip(airmass + rng.normal(0.0, 0.01, n), 1.0, None), 3),
        "tel_airm_start": airmass,
        "tel_alt": np.round(np.degrees(np.arcsin(1.0 / airmass)), 3),
        "tel_ambi_fwhm_end": np.round(np.clip(fwhm + rng.normal(0.0, 0.05, n), 0.3, None), 2),
        "tel_ambi_fwhm_start": fwhm,
        "tel_ambi_pres_end": np.round(pressure + rng.normal(0.0, 0.05, n), 2),
        "tel_ambi_pres_start": pressure,
        "tel_ambi_rhum": np.round(rng.uniform(2.0, 40.0, n), 1),
        "tel_az": np.round(rng.uniform(0.0, 360.0, n), 3),
    }


def _raw(rng: np.random.Generator, n: int, now: float) -> dict[str, np.ndarray]:
    """The rows of dbo.raw: frames of observation blocks, OB attributes repeated per frame."""
    block, expno, sizes = _raw_blocks(rng, n)
    rows = {key: values[block] for key, values in _raw_ob(rng, sizes.size, now).items()}
    rows |= {"expno": expno, "nexp": sizes[block]}
    data = _raw_identity(rng, rows)
    data |= _raw_setup(rng, rows) | _raw_sky(rng, rows, data["dp_type"])
    data |= _raw_programme(rows) | _raw_conditions(rng, n)
    return {k: np.asarray(v, dtype=object) if v.dtype.kind == "U" else v for k, v in data.items()}


# ---------------------------------------------------------------------------------- ivoa.ObsCore

_PRODUCTS = _flat([c.products for c in COLLECTIONS])
_BANDS = _flat([c.bands for c in COLLECTIONS])


def _squares(ra: np.ndarray, dec: np.ndarray, fov: np.ndarray) -> np.ndarray:
    """STC-S polygons of square fields of diameter ``fov`` centred on (ra, dec)."""
    half = fov / (2 * np.sqrt(2.0))
    step = half / np.maximum(np.cos(np.radians(dec)), 1e-3)
    corners = []
    for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        corners += [(ra + sx * step) % 360.0, dec + sy * half]
    return _stcs("POLYGON", *corners)


def _obscore_product(rng: np.random.Generator, rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """What a product is: collection, type, band, calibration, size and quality figures."""
    coll, n = rows["coll"], rows["coll"].size
    ptype = _per(_PRODUCTS, rows["product"], lambda p: p[0])
    spectrum, imaging = ptype == "spectrum", np.isin(ptype, ["image", "measurements"])
    em_min, em_max = (
        _per(_BANDS, rows["band"], lambda b: b.em_min, float),
        _per(_BANDS, rows["band"], lambda b: b.em_max, float),
    )
    lo = _per(COLLECTIONS, coll, lambda c: c.resolving[0] if c.resolving else np.nan, float)
    hi = _per(COLLECTIONS, coll, lambda c: c.resolving[1] if c.resolving else np.nan, float)
    res = np.where(
        np.isfinite(lo), rng.uniform(np.nan_to_num(lo), np.nan_to_num(hi)), (em_min + em_max) / 2 / (em_max - em_min)
    )
    n_obs = np.where(ptype == "cube", rng.integers(1, 5, n), 1)
    size = np.select([ptype == "cube", spectrum], [3.0e6, 2.0e3], 4.0e5) * rng.uniform(0.5, 1.5, n)
    return {
        "abmaglim": np.where(imaging, np.round(rng.uniform(17.0, 24.5, n), 3), np.nan),
        "access_estsize": np.round(size).astype(np.int64),
        "bib_reference": np.full(n, None, dtype=object),
        "calib_level": _per(COLLECTIONS, coll, lambda c: c.calib_level, np.int32),
        "dataproduct_subtype": _per(_PRODUCTS, rows["product"], lambda p: p[1]),
        "dataproduct_type": ptype,
        "em_max": em_max,
        "em_min": em_min,
        "em_res_power": np.round(res, 4),
        "em_xel": _per(COLLECTIONS, coll, lambda c: c.em_xel, np.int64),
        "facility_name": _per(COLLECTIONS, coll, lambda c: c.facility),
        "filter": _per(_BANDS, rows["band"], lambda b: b.filter),
        "instrument_name": _per(COLLECTIONS, coll, lambda c: c.instrument),
        "multi_ob": np.where(n_obs > 1, "M", "S"),
        "n_obs": n_obs.astype(np.int32),
        "o_calib_status": np.where(spectrum & (rng.random(n) < 0.5), "relative", "absolute"),
        "o_ucd": np.where(spectrum, "phot.flux.density;em.wl", _NULL),
        "obs_collection": _per(COLLECTIONS, coll, lambda c: c.name),
        "obs_title": np.full(n, None, dtype=object),
        "obstech": _per(COLLECTIONS, coll, lambda c: c.obstech),
        "p3orig": _per(COLLECTIONS, coll, lambda c: c.p3orig),
        "pol_states": np.full(n, None, dtype=object),
        "pol_xel": np.full(n, None, dtype=object),
        "release_description": _texts(
            lambda r: f"{PLACEHOLDER}/rm/api/v1/public/releaseDescriptions/{r}",
            _per(COLLECTIONS, coll, lambda c: c.release),
        ),
        "snr": np.where(spectrum, np.round(rng.uniform(5.0, 300.0, n), 1), np.nan),
    }


def _obscore_times(rng: np.random.Generator, coll: np.ndarray, now: float) -> dict[str, np.ndarray]:
    """When: t_min/t_max/t_exptime, and ingestion (the ADP identifier), release, publication, modification."""
    n = coll.size
    first = _per(COLLECTIONS, coll, lambda c: c.first_mjd, float)
    t_min = np.round(_night_start(rng, first, np.full(n, 1e9), now, rng.random(n) < 0.1, day=False), 8)
    lo, hi = (
        _per(COLLECTIONS, coll, lambda c: c.exptime[0], float),
        _per(COLLECTIONS, coll, lambda c: c.exptime[1], float),
    )
    t_exptime = np.round(_log_uniform(rng, lo, hi), 3)
    t_max = np.round(t_min + (t_exptime * rng.uniform(1.0, 1.6, n)) / 86400.0, 8)
    ingest = t_max + rng.uniform(20.0, 700.0, n)
    late = ingest > now - 0.1  # recent products: ingested between their end and now
    ingest[late] = rng.uniform(t_max[late] + 0.01, np.maximum(now - 0.1, t_max[late] + 0.02))
    dp_id = _texts(lambda t: f"ADP.{t}", _iso_ms(_unique_ms(_ms(ingest), np.zeros(n, dtype=np.int64))))
    release = ingest + rng.uniform(0.01, 1.0, n)
    future = rng.random(n) < 0.08  # still proprietary
    release[future] = now + rng.uniform(5.0, 400.0, int(future.sum()))
    modified = np.maximum(ingest, np.minimum(ingest + rng.uniform(0.0, 1500.0, n), now - 0.01))
    day = np.datetime_as_string(_stamp(_ms(t_min)), unit="D")
    names = _per(COLLECTIONS, coll, lambda c: c.name.lower())
    return {
        "access_format": np.full(n, DATALINK_MIME, dtype=object),
        "access_url": _texts(lambda d: f"{PLACEHOLDER}/datalink/links?ID={IVO_ID}{d}", dp_id),
        "dp_id": dp_id,
        "last_mod_date": _stamp(_ms(modified)),
        "obs_creator_did": _texts(
            lambda c, d, i: f"ivo://eso.org/origfile?{c}_{d.replace('-', '')}_{i:05d}.fits",
            names,
            day,
            np.arange(n) % 100_000,
        ),
        "obs_creator_name": _texts(lambda p: f"SANDBOX, PI{p:03d}", rng.integers(1, 500, n)),
        "obs_id": _texts(str, rng.integers(100_000, 3_000_000, n)),
        "obs_publisher_did": _texts(lambda d: f"{IVO_ID}{d}", dp_id),
        "obs_release_date": _stamp(_ms(release)),
        "preview_html": _texts(lambda d: f"{PLACEHOLDER}/dataset/{d}", dp_id),
        "proposal_id": _prog_ids(rng, _periods(t_min), np.zeros(n, dtype=bool)),
        "publication_date": _stamp((_ms(release + rng.uniform(0.0, 120.0, n)) // 1000) * 1000),
        "t_exptime": t_exptime,
        "t_max": t_max,
        "t_min": t_min,
        "t_resolution": np.round((t_max - t_min) * 86400.0, 6),
        "t_xel": np.full(n, None, dtype=object),
    }


def _obscore_sky(rng: np.random.Generator, rows: dict[str, np.ndarray], ptype: np.ndarray) -> dict[str, np.ndarray]:
    """Where: centre, field, footprint, pixels and target name, clustered around each collection's targets."""
    coll, n = rows["coll"], rows["coll"].size
    ra, dec, which = np.zeros(n), np.zeros(n), np.full(n, -1)
    for k, c in enumerate(COLLECTIONS):
        sel = coll == k
        radius = 1.0 if c.name == "VVV" else 0.2
        ra[sel], dec[sel], which[sel] = _near_targets(rng, int(sel.sum()), 0.55, c.targets, radius)
    ra, dec = np.round(ra, 6), np.round(dec, 6)
    lo, hi = _per(COLLECTIONS, coll, lambda c: c.fov[0], float), _per(COLLECTIONS, coll, lambda c: c.fov[1], float)
    fov = np.round(rng.uniform(lo, hi), 11)
    pixel = _per(COLLECTIONS, coll, lambda c: np.nan if c.pixel is None else c.pixel, float)
    has_pixels = np.isin(ptype, ["image", "cube"])
    side = np.round(fov / np.sqrt(2.0) * 3600.0 / np.where(np.isfinite(pixel), pixel, 1.0)).astype(np.int64)
    spectrum = ptype == "spectrum"
    collection = _per(COLLECTIONS, coll, lambda c: c.name)
    other = _texts(
        lambda c, a, d, s: f"KIDS_{a:.1f}_{d:.1f}" if c == "KIDS" else (f"b{s % 400:03d}" if c == "VVV" else f"HD {s}"),
        collection,
        ra,
        dec,
        rng.integers(1000, 240_000, n),
    )
    gal = _galactic_ecliptic(ra, dec)
    region = np.empty(n, dtype=object)
    region[spectrum] = _stcs("CIRCLE", ra[spectrum], dec[spectrum], fov[spectrum] / 2)
    region[~spectrum] = _squares(ra[~spectrum], dec[~spectrum], fov[~spectrum])
    return {
        "gal_lat": gal["gal_lat"],
        "gal_lon": gal["gal_lon"],
        "s_dec": dec,
        "s_fov": fov,
        "s_pixel_scale": np.where(has_pixels, pixel, np.nan),
        "s_ra": ra,
        "s_region": region,
        "s_resolution": np.round(rng.uniform(0.5, 1.3, n), 3),
        "s_xel1": _nullable(side, has_pixels),
        "s_xel2": _nullable(side, has_pixels),
        "strehl": np.full(n, np.nan),
        "target_name": _target_names(rng, which, other),
    }


def _obscore(rng: np.random.Generator, n: int, now: float) -> dict[str, np.ndarray]:
    """The rows of ivoa.ObsCore: Phase 3 products of a few collections."""
    weights = np.array([c.weight for c in COLLECTIONS])
    coll = rng.choice(len(COLLECTIONS), n, p=weights / weights.sum())
    rows = {
        "coll": coll,
        "product": _member(rng, [c.products for c in COLLECTIONS], coll),
        "band": _member(rng, [c.bands for c in COLLECTIONS], coll),
    }
    data = _obscore_product(rng, rows)
    data |= _obscore_times(rng, coll, now) | _obscore_sky(rng, rows, data["dataproduct_type"])
    return {k: np.asarray(v, dtype=object) if v.dtype.kind == "U" else v for k, v in data.items()}


_BUILDERS: dict[str, Callable[[np.random.Generator, int, float], dict[str, np.ndarray]]] = {
    "raw": _raw,
    "ObsCore": _obscore,
}


def generate(table: str, n: int, *, seed: int = 0, now_mjd: float = 61000.0) -> dict[str, np.ndarray]:
    """``n`` deterministic rows of ``table`` ("raw" or "ObsCore"), column by column, URLs under PLACEHOLDER."""
    rng = np.random.default_rng([seed, zlib.crc32(table.encode())])
    data = _BUILDERS[table](rng, n, now_mjd)
    return {c.name: data[c.name] for c in TABLES[table].columns}
