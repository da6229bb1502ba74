"""HEASARC's ``metainfo`` table: per-table facts Xamin keeps beside the catalogues.

astroquery's Heasarc reads two kinds of rows from it in one query (``split_part(name, '.', 1)`` is the
table, ``split_part(name, '.', 2)`` the column, ``CAST(value AS DECIMAL)`` the number):

- ``type = 'parameter'``, ``relation = 'order'``, ``name = '<table>.<column>'``: the column's place in
  the table's default column list; default columns have positive values (1, 2, ...), the others a
  non-positive one (astroquery keeps ``value > 0``);
- ``type = 'table'``, ``relation = 'defaultSearchRadius'``, ``name = '<table>'``: the default cone
  radius in arcmin.

The shape of the rows is what astroquery's query needs of them; the default columns and radii are
plausible choices (each table's identifier, target name, position, start time and exposure; a few
arcmin, larger for the wide-field surveys), not copies of HEASARC's values.
"""

from __future__ import annotations

import numpy as np

from ...protocols.vo import FieldMeta
from .tables import TABLES

__all__ = ["COLUMNS", "DEFAULT_COLUMNS", "DEFAULT_RADIUS_ARCMIN", "NAME", "metainfo"]

NAME = "metainfo"
DESCRIPTION = "Metadata about the HEASARC tables: default columns, default search radii"

COLUMNS: tuple[FieldMeta, ...] = (
    FieldMeta("type", "char", "", "meta.code", "Kind of object described: table or parameter"),
    FieldMeta("name", "char", "", "meta.id", "Table name, or <table>.<column> for a parameter"),
    FieldMeta("relation", "char", "", "meta.code", "What the value says (order, defaultSearchRadius, ...)"),
    FieldMeta("value", "char", "", "", "The value, as text"),
)

#: Each table's default columns, in order (astroquery's query_region returns these plus __row).
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "numaster": ("name", "obsid", "status", "ra", "dec", "time", "exposure_a", "observation_mode", "public_date"),
    "chanmaster": ("name", "obsid", "status", "ra", "dec", "time", "detector", "grating", "exposure", "public_date"),
    "xmmmaster": ("name", "obsid", "status", "ra", "dec", "time", "duration", "public_date"),
    "swiftmastr": ("name", "obsid", "ra", "dec", "start_time", "xrt_exposure", "uvot_exposure", "bat_exposure"),
    "suzamaster": ("name", "obsid", "status", "ra", "dec", "time", "xis0_expo"),
    "ascamaster": ("name", "sequence_number", "status", "ra", "dec", "time", "sis_exposure", "gis_exposure"),
    "intscwpub": ("scw_id", "scw_type", "ra", "dec", "start_date", "end_date", "good_isgri"),
    "rosmaster": ("name", "seq_id", "ra", "dec", "start_time", "exposure", "instrument"),
    "rassmaster": ("seq_id", "ra", "dec", "start_date", "exposure"),
    "xrismmastr": ("name", "obsid", "status", "ra", "dec", "time", "exposure", "public_date"),
}

#: Default cone radius (arcmin) per table.
DEFAULT_RADIUS_ARCMIN: dict[str, float] = {
    "numaster": 5.0,
    "chanmaster": 5.0,
    "xmmmaster": 5.0,
    "swiftmastr": 5.0,
    "suzamaster": 5.0,
    "ascamaster": 5.0,
    "intscwpub": 60.0,
    "rosmaster": 15.0,
    "rassmaster": 60.0,
    "xrismmastr": 5.0,
}


def metainfo() -> dict[str, np.ndarray]:
    """The rows of ``metainfo`` for the sandbox's tables, column by column."""
    rows: list[tuple[str, str, str, str]] = []
    for table, spec in TABLES.items():
        defaults = DEFAULT_COLUMNS[table]
        rows.append(("table", table, "defaultSearchRadius", f"{DEFAULT_RADIUS_ARCMIN[table]:g}"))
        others = [c.name for c in spec.columns if c.name not in defaults]
        for k, column in enumerate(defaults, start=1):
            rows.append(("parameter", f"{table}.{column}", "order", str(k)))
        for k, column in enumerate(others):
            rows.append(("parameter", f"{table}.{column}", "order", str(-k)))
        rows.append(("table", table, "description", spec.description))
    return {c.name: np.array([r[i] for r in rows], dtype=object) for i, c in enumerate(COLUMNS)}
