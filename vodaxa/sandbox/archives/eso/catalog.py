"""The ESO sandbox's catalogue: well-known targets, instruments and their setups and calibrations,
Phase 3 collections, and the columns of ``dbo.raw`` and ``ivoa.ObsCore`` as archive.eso.org serves them.

The values are data (``data/targets.csv``, ``instruments.toml``, ``collections.toml``, ``columns.csv``,
``tables.toml``); this module gives them their types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from ... import datafiles
from ...protocols.vo import FieldMeta

PLACEHOLDER = "http://eso-archive.sandbox.invalid"
#: ESO's IVOA identifier prefix of a dataset (DataLink IDs, ``obs_publisher_did``).
IVO_ID = "ivo://eso.org/ID?"
_MJD_UNIX = 40587.0  # MJD of 1970-01-01
_NIGHT = (0.96, 1.42)  # fraction of a UT day when it is night in Chile (23:00 to 10:00 UT)
_DAY = (0.5, 0.875)  # daytime, when calibrations are taken


class Target(NamedTuple):
    """A well-known target: spellings used as ``object``/``target_name``, and its ICRS position."""

    name: str
    spellings: tuple[str, ...]
    ra: float
    dec: float


#: From data/targets.csv (spellings separated by ``|``).
TARGETS: tuple[Target, ...] = tuple(
    Target(row["name"], tuple(row["spellings"].split("|")), float(row["ra"]), float(row["dec"]))
    for row in datafiles.rows(__package__, "targets.csv")
)


# ---------------------------------------------------------------------------------- instruments


class Setup(NamedTuple):
    """One consistent instrument configuration of a raw frame."""

    tech: str  # dp_tech of science frames
    mode: str  # ins_mode
    filter: str | None = None  # filter_path
    grating: str | None = None  # grat_path
    grism: str | None = None  # gris_path
    slit: str | None = None  # slit_path


_INSTRUMENTS = datafiles.toml(__package__, "instruments.toml")
#: Calibrations that do not look at the sky (no position).
_DOME = set(_INSTRUMENTS["calibrations"]["dome"])


@dataclass(frozen=True)
class Instrument:
    """A raw-data instrument: its frames' prefix, telescope, setups and typical exposures."""

    name: str
    prefix: str
    telescope: str
    first_mjd: float
    setups: tuple[Setup, ...]
    exposure: tuple[float, float]  # science exposure range (s)
    size_kb: int
    calibs: tuple[str, ...]
    infrared: bool = False
    chip: str | None = None
    last_mjd: float = 1e9
    weight: float = 1.0


def _pair(values: list) -> tuple[float, float]:
    """A (low, high) range from a two-item TOML array."""
    return float(values[0]), float(values[1])


def _instrument(spec: dict) -> Instrument:
    """An :class:`Instrument` from its table in data/instruments.toml."""
    return Instrument(
        name=spec["name"], prefix=spec["prefix"], telescope=spec["telescope"], first_mjd=float(spec["first_mjd"]),
        setups=tuple(Setup(**setup) for setup in spec["setups"]),
        exposure=_pair(spec["exposure"]), size_kb=int(spec["size_kb"]),
        calibs=tuple(_INSTRUMENTS["calibrations"][spec["calibs"]]), infrared=spec.get("infrared", False),
        chip=spec.get("chip"), last_mjd=float(spec.get("last_mjd", 1e9)), weight=float(spec.get("weight", 1.0)),
    )  # fmt: skip


INSTRUMENTS: tuple[Instrument, ...] = tuple(_instrument(spec) for spec in _INSTRUMENTS["instrument"])


# ---------------------------------------------------------------------------------- collections


class Band(NamedTuple):
    """A spectral coverage of a product: filter (None for spectra and cubes) and range in metres."""

    filter: str | None
    em_min: float
    em_max: float


@dataclass(frozen=True)
class Collection:
    """A Phase 3 collection of ``ivoa.ObsCore``: what its products are and where they lie."""

    name: str
    instrument: str
    facility: str
    products: tuple[tuple[str, str | None], ...]  # (dataproduct_type, dataproduct_subtype)
    bands: tuple[Band, ...]
    calib_level: int
    fov: tuple[float, float]  # s_fov range (deg)
    pixel: float | None  # s_pixel_scale (arcsec)
    obstech: str
    p3orig: str
    exptime: tuple[float, float]  # t_exptime range (s)
    first_mjd: float
    targets: tuple[int, ...]  # indices into TARGETS its products cluster around
    release: int  # number of its release description
    resolving: tuple[float, float] | None = None  # em_res_power range of spectra (None: from the band)
    em_xel: int = 1
    weight: float = 1.0


def _collection(spec: dict) -> Collection:
    """A :class:`Collection` from its table in data/collections.toml (``""``: no product subtype)."""
    return Collection(
        name=spec["name"], instrument=spec["instrument"], facility=spec["facility"],
        products=tuple((kind, sub or None) for kind, sub in spec["products"]),
        bands=tuple(Band(b.get("filter"), float(b["em_min"]), float(b["em_max"])) for b in spec["bands"]),
        calib_level=int(spec["calib_level"]), fov=_pair(spec["fov"]), pixel=spec.get("pixel"),
        obstech=spec["obstech"], p3orig=spec["p3orig"], exptime=_pair(spec["exptime"]),
        first_mjd=float(spec["first_mjd"]), targets=tuple(spec["targets"]), release=int(spec["release"]),
        resolving=_pair(spec["resolving"]) if "resolving" in spec else None, em_xel=int(spec.get("em_xel", 1)),
        weight=float(spec.get("weight", 1.0)),
    )  # fmt: skip


COLLECTIONS: tuple[Collection, ...] = tuple(
    _collection(spec) for spec in datafiles.toml(__package__, "collections.toml")["collection"]
)


# ---------------------------------------------------------------------------------- columns


_COLUMNS = datafiles.columns(__package__)
#: dbo.raw, in the order ESO returns them (the captured query_main/query_instrument results).
RAW_COLUMNS: tuple[FieldMeta, ...] = _COLUMNS["raw"]
#: ivoa.ObsCore, ESO's column set (the captured query_surveys result), in that order.
OBSCORE_COLUMNS: tuple[FieldMeta, ...] = _COLUMNS["ObsCore"]


@dataclass(frozen=True)
class EsoTable:
    """A table of ESO's tap_obs: where it is published and its columns."""

    schema: str
    name: str
    description: str
    columns: tuple[FieldMeta, ...]


_TABLES = datafiles.toml(__package__, "tables.toml")
#: The instrument tables of tap_obs's ``ist`` schema, as ESO lists them (``ist.<name>``, over dbo.raw's frames).
IST_TABLES: tuple[str, ...] = tuple(_TABLES["ist"]["tables"])

TABLES: dict[str, EsoTable] = {
    key: EsoTable(t["schema"], t["name"], t["description"], _COLUMNS[key]) for key, t in _TABLES["tables"].items()
}
