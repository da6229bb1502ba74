"""A minimal ESO ``/tap_cat``: Phase 3 catalogues in the ``safcat`` schema, with ESO's catalogue metadata.

astroquery's ``Eso.list_catalogs`` reads ``TAP_SCHEMA.tables`` of tap_cat for the ``safcat`` schema,
and, for the latest versions only, joins it with itself on ``title`` and ``version`` and keeps
``cat_id``s with no newer version; ``Eso.query_catalog`` then queries ``safcat.<name>``.  So this
service's ``TAP_SCHEMA.tables`` has ESO's extra ``cat_id``, ``title`` and ``version`` columns.

The catalogues are few and small: names patterned on ESO's (``VHS_CAT_V2`` and its newer version
``VHS_CAT_V3``, ``KiDS_DR4_1_ugriZYJHKs_cat_fits``), synthetic sources around the sandbox's targets
(identifier, position, a magnitude and its error).  They are public (tap_cat has no proprietary rows).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from ... import datafiles
from ...protocols.tapdb import TapDatabase, TapTable
from ...protocols.vo import FieldMeta
from .catalog import TARGETS

__all__ = ["CATALOGUES", "SCHEMA", "Catalogue", "EsoCatalogueDatabase", "catalogue_tables"]

SCHEMA = "safcat"


@dataclass(frozen=True)
class Catalogue:
    """One Phase 3 catalogue table of tap_cat."""

    name: str
    cat_id: int
    title: str
    version: int
    band: str
    rows: int


#: From data/catalogues.csv.
CATALOGUES: tuple[Catalogue, ...] = tuple(
    Catalogue(r["name"], int(r["cat_id"]), r["title"], int(r["version"]), r["band"], int(r["rows"]))
    for r in datafiles.rows(__package__, "catalogues.csv")
)

#: ESO's extra columns of tap_cat's TAP_SCHEMA.tables.
_EXTRA = datafiles.columns(__package__)["tap_cat:TAP_SCHEMA.tables"]


def _columns(cat: Catalogue) -> list[FieldMeta]:
    return [
        FieldMeta("source_id", "char", "", "meta.id;meta.main", "Identifier of the source"),
        FieldMeta("RAJ2000", "double", "deg", "pos.eq.ra;meta.main", "Right ascension (J2000)"),
        FieldMeta("DECJ2000", "double", "deg", "pos.eq.dec;meta.main", "Declination (J2000)"),
        FieldMeta(f"MAG_{cat.band}", "double", "mag", f"phot.mag;em.{'IR.K' if cat.band == 'Ks' else 'opt.R'}", ""),
        FieldMeta(f"ERR_MAG_{cat.band}", "double", "mag", "stat.error;phot.mag", ""),
    ]


def _rows(cat: Catalogue) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(zlib.crc32(cat.name.encode()))
    which = rng.integers(0, len(TARGETS), cat.rows)
    centre_ra = np.array([TARGETS[k].ra for k in which])
    centre_dec = np.array([TARGETS[k].dec for k in which])
    dec = np.clip(centre_dec + rng.normal(0.0, 0.1, cat.rows), -89.9, 89.9)
    ra = (centre_ra + rng.normal(0.0, 0.1, cat.rows) / np.cos(np.radians(dec))) % 360.0
    mag = rng.uniform(14.0, 22.0, cat.rows)
    return {
        "source_id": np.array([f"{cat.name[:4].upper()}J{r:09.5f}{d:+09.5f}" for r, d in zip(ra, dec)], dtype=object),
        "RAJ2000": np.round(ra, 6),
        "DECJ2000": np.round(dec, 6),
        f"MAG_{cat.band}": np.round(mag, 3),
        f"ERR_MAG_{cat.band}": np.round(0.01 * np.exp((mag - 14.0) / 2.5), 4),
    }


def catalogue_tables() -> list[TapTable]:
    """The safcat tables of :data:`CATALOGUES`."""
    return [TapTable(c.name, c.title, _columns(c), _rows(c), SCHEMA) for c in CATALOGUES]


class EsoCatalogueDatabase(TapDatabase):
    """tap_cat's query engine: the catalogues, and ``TAP_SCHEMA.tables`` with ``cat_id``, ``title`` and ``version``."""

    def __init__(self) -> None:
        super().__init__(catalogue_tables())

    def _load_tap_schema(self) -> None:
        super()._load_tap_schema()
        meta = {f"{SCHEMA}.{c.name}": c for c in CATALOGUES}
        self._con.execute(
            'ALTER TABLE "TAP_SCHEMA"."tables" ADD COLUMN cat_id INTEGER; '
            'ALTER TABLE "TAP_SCHEMA"."tables" ADD COLUMN title VARCHAR; '
            'ALTER TABLE "TAP_SCHEMA"."tables" ADD COLUMN version INTEGER'
        )
        for name, cat in meta.items():
            self._con.execute(
                'UPDATE "TAP_SCHEMA"."tables" SET cat_id = ?, title = ?, version = ? WHERE table_name = ?',
                [cat.cat_id, cat.title, cat.version, name],
            )
        table = self.tables["tap_schema.tables"]
        table.columns = [*table.columns, *_EXTRA]
        names = list(table.data["table_name"])
        extra = {f.name: np.array([getattr(meta.get(n), f.name, None) for n in names], dtype=object) for f in _EXTRA}
        table.data = {**table.data, **extra}
