"""HEASARC's ``metainfo`` table: per-table facts Xamin keeps beside the catalogues.

astroquery's Heasarc reads two kinds of rows from it in one query (``split_part(name, '.', 1)`` is the
table, ``split_part(name, '.', 2)`` the column, ``CAST(value AS DECIMAL)`` the number):

- ``type = 'parameter'``, ``relation = 'order'``, ``name = '<table>.<column>'``: the column's place in
  the table's default column list; default columns have positive values (1, 2, ...), the others a
  non-positive one (astroquery keeps ``value > 0``);
- ``type = 'table'``, ``relation = 'defaultSearchRadius'``, ``name = '<table>'``: the default cone
  radius in arcmin.

The shape of the rows is what astroquery's query needs of them; the default columns and radii are
plausible choices (data/tables.toml: each table's identifier, target name, position, start time and exposure; a few
arcmin, larger for the wide-field surveys), not copies of HEASARC's values.
"""

from __future__ import annotations

import numpy as np

from ... import datafiles
from ...protocols.vo import FieldMeta
from .tables import TABLES

__all__ = ["COLUMNS", "DEFAULT_COLUMNS", "DEFAULT_RADIUS_ARCMIN", "NAME", "metainfo"]

NAME = "metainfo"
_FACTS = datafiles.toml(__package__, "tables.toml")
DESCRIPTION: str = _FACTS[NAME]["description"]
COLUMNS: tuple[FieldMeta, ...] = datafiles.columns(__package__)[NAME]

#: Each table's default columns, in order (astroquery's query_region returns these plus __row).
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {t: tuple(_FACTS[t]["default_columns"]) for t in TABLES}

#: Default cone radius (arcmin) per table.
DEFAULT_RADIUS_ARCMIN: dict[str, float] = {t: float(_FACTS[t]["default_radius_arcmin"]) for t in TABLES}


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
