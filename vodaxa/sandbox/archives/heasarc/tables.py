"""Deterministic synthetic HEASARC master tables, with HEASARC's column names and types.

Each table is generated vectorised from a seed, so 100,000 rows cost well under a second, and a
test can recompute any answer by brute force over :func:`generate`'s output.  Every table holds
rows that the mission's DAXA-style cuts must drop (slews, scheduled or zero-exposure rows), rows
still proprietary (``public_date`` after the sandbox's ``now``), and clusters of rows around a few
well-known targets so that name and cone searches find something.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ... import datafiles
from ...protocols.vo import FieldMeta

#: Targets around which observations cluster: (name, ra, dec) in degrees (J2000), from data/targets.csv.
TARGETS: tuple[tuple[str, float, float], ...] = tuple(
    (row["name"], float(row["ra"]), float(row["dec"])) for row in datafiles.rows(__package__, "targets.csv")
)

#: Fraction of rows placed near a target (the rest are spread over the sky).
TARGET_FRACTION = 0.3


@dataclass(frozen=True)
class TableSpec:
    """A HEASARC master table: its name, mission, key column and column list."""

    name: str
    mission: str
    description: str
    key: str  # the column holding the observation identifier
    columns: tuple[FieldMeta, ...]
    build: Callable[[np.random.Generator, int, float], dict[str, np.ndarray]] = field(repr=False)

    def column(self, name: str) -> FieldMeta:
        """The column called ``name`` (case-insensitive)."""
        for col in self.columns:
            if col.name.lower() == name.lower():
                return col
        raise KeyError(name)


# ----------------------------------------------------------------------------------- helpers


def _positions(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sky positions: a share clustered within 0.4 deg of TARGETS, the rest uniform on the sphere."""
    ra = rng.uniform(0.0, 360.0, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n)))
    names = np.array([f"FIELD {i:06d}" for i in range(n)], dtype=object)
    near = rng.random(n) < TARGET_FRACTION
    which = rng.integers(0, len(TARGETS), n)
    sep = 0.4 * np.sqrt(rng.random(n))
    pa = rng.uniform(0.0, 2 * np.pi, n)
    for k, (tname, tra, tdec) in enumerate(TARGETS):
        sel = near & (which == k)
        d = np.clip(tdec + sep[sel] * np.cos(pa[sel]), -89.999, 89.999)
        cosd = np.maximum(np.cos(np.radians(d)), 1e-3)
        ra[sel] = (tra + sep[sel] * np.sin(pa[sel]) / cosd) % 360.0
        dec[sel] = d
        names[sel] = tname
    return np.round(ra, 6), np.round(dec, 6), names


def _times(rng: np.random.Generator, n: int, first: float, now: float) -> np.ndarray:
    """Start times (MJD), uniform from ``first`` to 30 days before ``now``."""
    return np.round(rng.uniform(first, now - 30.0, n), 6)


def _public_dates(rng: np.random.Generator, start: np.ndarray, now: float) -> np.ndarray:
    """A year after the start; about 8% of rows are pushed past ``now`` (still proprietary)."""
    public = start + 365.0
    future = rng.random(start.size) < 0.08
    public[future] = now + rng.uniform(10.0, 400.0, int(future.sum()))
    return np.round(public, 6)


def _choice(rng: np.random.Generator, values: list, n: int, p: list[float] | None = None) -> np.ndarray:
    return np.array(values, dtype=object)[rng.choice(len(values), n, p=p)]


def _exposure(rng: np.random.Generator, n: int, lo: float = 1e3, hi: float = 1.5e5) -> np.ndarray:
    """Exposures (s), log-uniform so that short (<10 ks) and long ones both occur."""
    return np.round(np.exp(rng.uniform(np.log(lo), np.log(hi), n)), 1)


def _zero(rng: np.random.Generator, arrays: list[np.ndarray], fraction: float) -> None:
    """Zero all ``arrays`` in the same random ``fraction`` of rows (rows the cuts must drop)."""
    sel = rng.random(arrays[0].size) < fraction
    for arr in arrays:
        arr[sel] = 0.0


def _row_keys(table: str, n: int) -> np.ndarray:
    return np.array([str(i + 1) for i in range(n)], dtype=object)


def _digits(rng: np.random.Generator, n: int, width: int, prefix_choices: list[str]) -> np.ndarray:
    """Unique numeric ObsIDs of ``width`` digits, each starting with one of ``prefix_choices``."""
    tail = width - len(prefix_choices[0])
    space = 10**tail
    if n > space:
        raise ValueError(f"cannot draw {n} unique {width}-digit identifiers")
    seq = np.unique(rng.integers(0, space, n + n // 10 + 10))  # spread over the whole range
    while seq.size < n:
        seq = np.unique(np.concatenate([seq, rng.integers(0, space, n)]))
    seq = rng.permutation(seq)[:n]
    prefixes = _choice(rng, prefix_choices, n)
    return np.array([f"{p}{s:0{tail}d}" for p, s in zip(prefixes, seq)], dtype=object)


# ----------------------------------------------------------------------------------- tables


def _numaster(rng: np.random.Generator, n: int, now: float) -> dict[str, np.ndarray]:
    ra, dec, name = _positions(rng, n)
    obsid = _digits(rng, n, 11, ["10", "30", "40", "60", "80", "90"])
    start = _times(rng, n, 56109.0, now)
    dur = _exposure(rng, n, 2e3, 3e5)
    ontime_a = np.round(dur * rng.uniform(0.5, 0.6, n), 1)
    ontime_b = np.round(ontime_a * rng.uniform(0.97, 1.0, n), 1)
    _zero(rng, [ontime_a, ontime_b], 0.03)
    only_a = rng.random(n) < 0.02
    ontime_b[only_a] = 0.0
    mode = _choice(rng, ["SCIENCE", "SLEW", "CALIBRATION"], n, [0.9, 0.05, 0.05])
    sc_mode = np.where(mode == "SLEW", "SLEW", "INERTIAL").astype(object)
    status = _choice(rng, ["archived", "processed", "scheduled", "accepted"], n, [0.8, 0.1, 0.06, 0.04])
    public = _public_dates(rng, start, now)
    pending = (status == "scheduled") | (status == "accepted")
    start[pending] = np.round(now + rng.uniform(5, 300, int(pending.sum())), 6)
    for arr in (ontime_a, ontime_b):
        arr[pending] = 0.0
    public[pending] = np.nan
    return {
        "obsid": obsid,
        "name": name,
        "ra": ra,
        "dec": dec,
        "time": start,
        "end_time": np.round(start + dur / 86400.0, 6),
        "exposure_a": np.round(ontime_a * 0.95, 1),
        "exposure_b": np.round(ontime_b * 0.95, 1),
        "ontime_a": ontime_a,
        "ontime_b": ontime_b,
        "observation_mode": mode,
        "instrument_mode": _choice(rng, ["1", "2"], n),
        "spacecraft_mode": sc_mode,
        "status": status,
        "public_date": public,
        "issue_flag": rng.choice([0, 0, 0, 1], n).astype(np.int32),
        "nupsdout": rng.choice([0, 0, 1], n).astype(np.int32),
        "subject_category": _choice(
            rng,
            ["AGN", "GALAXY CLUSTERS", "X-RAY BINARIES", "SUPERNOVA REMNANTS", "STARS", "NORMAL GALAXIES"],
            n,
        ),
        "obs_type": _choice(rng, ["GO", "GT", "LEGACY", "DDT", "CAL"], n, [0.6, 0.2, 0.1, 0.05, 0.05]),
    }


_CHANDRA_CLASSES = [
    "ACTIVE GALAXIES AND QUASARS",
    "CLUSTERS OF GALAXIES",
    "X-RAY BINARIES",
    "SN, SNR AND ISOLATED NS",
    "STARS AND WD",
    "NORMAL GALAXIES",
    "SOLAR SYSTEM",
    "EXTRAGALACTIC DIFFUSE EMISSION AND SURVEYS",
    "GALACTIC DIFFUSE EMISSION AND SURVEYS",
    "BH AND NS BINARIES",
    "WD BINARIES AND CV",
    "CALIBRATION",
]


def _chanmaster(rng: np.random.Generator, n: int, now: float) -> dict[str, np.ndarray]:
    ra, dec, name = _positions(rng, n)
    obsid = rng.permutation(np.arange(1, max(30000, 3 * n)))[:n].astype(np.int64)
    start = _times(rng, n, 51394.0, now)
    exposure = _exposure(rng, n, 1e3, 2e5)
    detector = _choice(rng, ["ACIS-I", "ACIS-S", "HRC-I", "HRC-S"], n, [0.4, 0.45, 0.1, 0.05])
    grating = _choice(rng, ["NONE", "HETG", "LETG"], n, [0.85, 0.1, 0.05])
    status = _choice(
        rng,
        ["archived", "processed", "observed", "scheduled", "unobserved"],
        n,
        [0.82, 0.06, 0.04, 0.05, 0.03],
    )
    public = _public_dates(rng, start, now)
    pending = np.isin(status, ["scheduled", "unobserved"])
    public[pending] = np.nan
    exposure[pending] = 0.0
    return {
        "obsid": obsid,
        "name": name,
        "ra": ra,
        "dec": dec,
        "time": start,
        "status": status,
        "detector": detector,
        "grating": grating,
        "exposure": exposure,
        "type": _choice(rng, ["GO", "GTO", "TOO", "DDT", "CAL", "CCT"], n, [0.6, 0.2, 0.08, 0.04, 0.05, 0.03]),
        "data_mode": np.where(
            np.char.startswith(detector.astype(str), "ACIS"),
            _choice(rng, ["TE_FAINT", "TE_VFAINT", "CC33_GRADED"], n),
            "",
        ).astype(object),
        "class": _choice(rng, _CHANDRA_CLASSES, n),
        "public_date": public,
    }


def _xmmmaster(rng: np.random.Generator, n: int, now: float) -> dict[str, np.ndarray]:
    ra, dec, name = _positions(rng, n)
    obsid = _digits(rng, n, 10, ["01", "06", "07", "08", "09"])
    start = _times(rng, n, 51544.0, now)
    duration = _exposure(rng, n, 5e3, 1.4e5)
    status = _choice(rng, ["archived", "processed", "scheduled"], n, [0.85, 0.1, 0.05])
    zero_pos = rng.random(n) < 0.01
    ra[zero_pos] = 0.0
    dec[zero_pos] = 0.0
    public = _public_dates(rng, start, now)
    public[status == "scheduled"] = np.nan
    rev = np.clip(((start - 51544.0) / 2.0).astype(np.int64) + 1, 1, 9999)
    return {
        "obsid": obsid,
        "name": name,
        "ra": ra,
        "dec": dec,
        "time": start,
        "end_time": np.round(start + duration / 86400.0, 6),
        "status": status,
        "duration": duration,
        "public_date": public,
        "data_in_heasarc": _choice(rng, ["Y", "N"], n, [0.95, 0.05]),
        "xmm_revolution": rev.astype(np.int32),
        "subject_category": _choice(rng, ["AGN", "CLUSTERS", "STARS", "SNR", "GALAXIES", "XRB"], n),
    }


def _swiftmastr(rng: np.random.Generator, n: int, now: float) -> dict[str, np.ndarray]:
    ra, dec, name = _positions(rng, n)
    obsid = _digits(rng, n, 11, ["000", "030", "031", "032", "033", "035", "036", "037"])
    start = _times(rng, n, 53348.0, now)
    dur = _exposure(rng, n, 300.0, 2e4)
    xrt = np.round(dur * rng.uniform(0.8, 1.0, n), 1)
    uvot = np.round(dur * rng.uniform(0.7, 1.0, n), 1)
    bat = np.round(dur * rng.uniform(0.9, 1.0, n), 1)
    _zero(rng, [xrt, uvot, bat], 0.03)
    _zero(rng, [xrt], 0.05)
    _zero(rng, [uvot], 0.05)
    return {
        "obsid": obsid,
        "name": name,
        "ra": ra,
        "dec": dec,
        "roll_angle": np.round(rng.uniform(0, 360, n), 2),
        "start_time": start,
        "stop_time": np.round(start + dur / 86400.0, 6),
        "xrt_exposure": xrt,
        "uvot_exposure": uvot,
        "bat_exposure": bat,
    }


def _suzamaster(rng: np.random.Generator, n: int, now: float) -> dict[str, np.ndarray]:
    ra, dec, name = _positions(rng, n)
    obsid = _digits(rng, n, 9, ["1", "4", "5", "7", "8", "9"])
    now = min(now, 57235.0 + 30.0)  # Suzaku ended in 2015
    start = _times(rng, n, 53574.0, now)
    dur = _exposure(rng, n, 5e3, 2e5)
    expos = {f"xis{k}_expo": np.round(dur * rng.uniform(0.4, 0.5, n), 1) for k in range(4)}
    _zero(rng, list(expos.values()), 0.03)
    expos["xis2_expo"][start > 54416.0] = 0.0  # XIS2 lost in Nov 2007
    out = {
        "obsid": obsid,
        "name": name,
        "ra": ra,
        "dec": dec,
        "time": start,
        "stop_time": np.round(start + dur / 86400.0, 6),
        "category_code": rng.choice([0, 1, 4, 5, 7, 8, 9], n).astype(np.int32),
        "status": _choice(rng, ["archived", "processed"], n, [0.9, 0.1]),
    }
    out.update(expos)
    for k in range(4):
        out[f"xis{k}_num_modes"] = np.where(expos[f"xis{k}_expo"] > 0, rng.integers(1, 4, n), 0).astype(np.int32)
    return out


def _ascamaster(rng: np.random.Generator, n: int, now: float) -> dict[str, np.ndarray]:
    ra, dec, name = _positions(rng, n)
    seq = _digits(rng, n, 8, ["1", "2", "3", "4", "5", "6", "7", "8"])
    start = _times(rng, n, 49049.0, 51894.0 + 30.0)
    dur = _exposure(rng, n, 5e3, 1.5e5)
    gis = np.round(dur * rng.uniform(0.4, 0.6, n), 1)
    sis = np.round(dur * rng.uniform(0.3, 0.5, n), 1)
    _zero(rng, [gis, sis], 0.03)
    return {
        "sequence_number": seq,
        "name": name,
        "ra": ra,
        "dec": dec,
        "time": start,
        "end_time": np.round(start + dur / 86400.0, 6),
        "subject_category": _choice(rng, ["1", "2", "3", "4", "5", "6", "7", "8", "9"], n),
        "status": _choice(rng, ["archived", "processed"], n, [0.95, 0.05]),
        "gis_exposure": gis,
        "sis_exposure": sis,
    }


def _intscwpub(rng: np.random.Generator, n: int, now: float) -> dict[str, np.ndarray]:
    ra, dec, _ = _positions(rng, n)
    idx = rng.permutation(2670 * 200)[:n]  # unique (revolution, pointing) pairs
    rev = 30 + idx // 200
    scw = np.array([f"{r:04d}{p:04d}0010" for r, p in zip(rev, idx % 200)], dtype=object)
    start = np.round(52640.0 + rev * 3.0 + rng.uniform(0, 2.9, n), 6)
    dur = _exposure(rng, n, 600.0, 4e3)
    goods = {
        k: np.round(dur * rng.uniform(0.8, 1.0, n), 1)
        for k in ("good_jemx1", "good_jemx2", "good_isgri", "good_picsit", "good_spi")
    }
    _zero(rng, list(goods.values()), 0.03)
    _zero(rng, [goods["good_jemx1"], goods["good_jemx2"]], 0.3)
    out = {
        "scw_id": scw,
        "scw_ver": _choice(rng, ["001", "002"], n, [0.9, 0.1]),
        "scw_type": _choice(rng, ["POINTING", "SLEW"], n, [0.95, 0.05]),
        "ra": ra,
        "dec": dec,
        "start_date": start,
        "end_date": np.round(start + dur / 86400.0, 6),
        "spi_mode": rng.choice([41, 42], n).astype(np.int32),
        "data_in_heasarc": _choice(rng, ["Y", "N"], n, [0.95, 0.05]),
    }
    out.update(goods)
    return out


def _rosmaster(rng: np.random.Generator, n: int, now: float) -> dict[str, np.ndarray]:
    ra, dec, name = _positions(rng, n)
    instrument = _choice(rng, ["PSPCB", "PSPCC", "HRI", "PSPC"], n, [0.45, 0.2, 0.3, 0.05])
    head = np.where(instrument == "HRI", "RH", "RP").astype(object)
    digits = _digits(rng, n, 6, ["1", "2", "3", "4", "5", "6", "7", "8"])
    seq = np.array(
        [f"{h}{d}{s}" for h, d, s in zip(head, digits, _choice(rng, ["N00", "A01", "N00"], n))], dtype=object
    )
    start = _times(rng, n, 48043.0, 51179.0 + 30.0)
    exposure = _exposure(rng, n, 500.0, 8e4)
    _zero(rng, [exposure], 0.03)
    return {
        "seq_id": seq,
        "name": name,
        "ra": ra,
        "dec": dec,
        "start_time": start,
        "end_time": np.round(start + rng.uniform(0.1, 5.0, n), 6),
        "exposure": exposure,
        "fits_type": _choice(rng, ["RDF", "US"], n, [0.8, 0.2]),
        "instrument": instrument,
        "filter": _choice(rng, ["NONE", "BORON"], n, [0.9, 0.1]),
        "proc_rev": rng.choice([0, 2, 2, 2], n).astype(np.int32),
        "subj_cat": _choice(rng, [str(k) for k in range(1, 11)], n),
        "site": _choice(rng, ["MPE", "US", "UK"], n),
    }


def _rassmaster(rng: np.random.Generator, n: int, now: float) -> dict[str, np.ndarray]:
    ra, dec, _ = _positions(rng, n)
    seq = _digits(rng, n, 6, ["9"])
    start = _times(rng, n, 48103.0, 48283.0 + 30.0)
    return {
        "seq_id": np.array([f"RS{s}N00" for s in seq], dtype=object),
        "ra": ra,
        "dec": dec,
        "start_date": start,
        "end_date": np.round(start + 2.0, 6),
        "exposure": _exposure(rng, n, 100.0, 1500.0),
    }


def _xrismmastr(rng: np.random.Generator, n: int, now: float) -> dict[str, np.ndarray]:
    ra, dec, name = _positions(rng, n)
    obsid = _digits(rng, n, 9, ["0", "1", "3", "4", "9"])
    start = _times(rng, n, 60300.0, now)
    duration = _exposure(rng, n, 1e4, 3e5)
    exposure = np.round(duration * rng.uniform(0.4, 0.6, n), 1)
    _zero(rng, [exposure], 0.04)
    xtd = np.round(exposure * rng.uniform(0.9, 1.0, n), 1)
    public = _public_dates(rng, start, now)
    status = _choice(rng, ["archived", "processed", "scheduled"], n, [0.85, 0.1, 0.05])
    public[status == "scheduled"] = np.nan
    return {
        "obsid": obsid,
        "name": name,
        "ra": ra,
        "dec": dec,
        "time": start,
        "end_time": np.round(start + duration / 86400.0, 6),
        "duration": duration,
        "exposure": exposure,
        "xtd_expo": xtd,
        "subject_category": _choice(rng, ["GAL", "AGN", "CLU", "SNR", "STR", "XRB"], n),
        "rsl_datamode": _choice(rng, ["NORMAL", ""], n, [0.9, 0.1]),
        "xtd_datamode1": _choice(rng, ["FULLWINDOW", "1/8WINDOW"], n),
        "xtd_datamode2": _choice(rng, ["FULLWINDOW", ""], n),
        "xtd_dataclas1": _choice(rng, ["31100010", "30000010"], n),
        "xtd_dataclas2": _choice(rng, ["31100010", ""], n),
        "public_date": public,
        "status": status,
    }


_BUILDERS: dict[str, Callable[[np.random.Generator, int, float], dict[str, np.ndarray]]] = {
    "numaster": _numaster,
    "chanmaster": _chanmaster,
    "xmmmaster": _xmmmaster,
    "swiftmastr": _swiftmastr,
    "suzamaster": _suzamaster,
    "ascamaster": _ascamaster,
    "intscwpub": _intscwpub,
    "rosmaster": _rosmaster,
    "rassmaster": _rassmaster,
    "xrismmastr": _xrismmastr,
}


def _specs() -> dict[str, TableSpec]:
    """The master tables of data/tables.toml with their columns (data/columns.csv) and row builders."""
    facts, columns = datafiles.toml(__package__, "tables.toml"), datafiles.columns(__package__)
    return {
        name: TableSpec(name, fact["mission"], fact["description"], fact["key"], columns[name], _BUILDERS[name])
        for name, fact in facts.items()
        if name in _BUILDERS  # the others (metainfo) are not master tables
    }


#: The master tables, in the order Xamin lists them.
TABLES: dict[str, TableSpec] = _specs()


def generate(table: str, rows: int, *, seed: int = 0, now_mjd: float = 61000.0) -> dict[str, np.ndarray]:
    """The synthetic content of ``table``: column name -> numpy array (NaN or None for NULL)."""
    spec = TABLES[table]
    rng = np.random.default_rng([seed, zlib.crc32(table.encode())])
    data = spec.build(rng, rows, now_mjd)
    data["__row"] = _row_keys(table, rows)
    missing = {c.name for c in spec.columns} ^ set(data)
    if missing:  # a developer error: the builder and the column list disagree
        raise RuntimeError(f"table {table}: builder and columns disagree on {sorted(missing)}")
    return {c.name: data[c.name] for c in spec.columns}
