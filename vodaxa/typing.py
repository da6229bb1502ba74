"""Type aliases for what vodaxa's public functions accept, so signatures say more than ``Any``.

Modelled on ``numpy.typing``: import them to annotate your own code, e.g.
``def plan(source: vodaxa.typing.ObservationSource) -> None``.  Each alias is a union of the types the
function behind it reads; anything else is refused at run time with an :class:`~vodaxa.errors.InputError`.
The aliases are real ``typing`` objects, so ``typing.get_type_hints`` reads annotations that use them; importing
this module therefore imports pandas, astropy and pyvo (vodaxa's own modules import it only for type checkers).

With mypy, install ``pandas-stubs`` to have vodaxa's tables typed as DataFrames. astropy and pyvo ship no type
information, so mypy takes their classes as ``Any``: the aliases that include them (angles, positions, times,
observation tables) then accept anything under mypy, while pyright and basedpyright, which read astropy's
annotations, check them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import TypeAlias

import numpy as np
import pandas as pd
from astropy.coordinates import SkyCoord
from astropy.table import Table
from astropy.time import Time
from astropy.units import Quantity
from pyvo.dal import DALResults

from .manifest import Manifest
from .query.mission import Mission

__all__ = [
    "AngleLike", "CoordinatesLike", "DistanceLike", "ManifestSource", "ObservationSource", "ObservationTable",
    "PathLike", "PositionsLike", "TimeLike",
]  # fmt: skip

#: A table of observations: vodaxa's DataFrame (``mission`` and ``obs_id`` columns, as ``vodaxa.search`` gives),
#: the same as an astropy Table (``vodaxa.tables.to_table``), or a pyvo result carrying those columns.
ObservationTable: TypeAlias = pd.DataFrame | Table | DALResults

#: Anything observations can be read from: a Mission (its filtered observations) or an observation table.
ObservationSource: TypeAlias = Mission | ObservationTable

#: An angle: degrees as a number, or an astropy Quantity with angular units.
AngleLike: TypeAlias = float | Quantity

#: A search distance: one angle, one per position, or one per instrument (``{"FPMA": 0.1}``).
DistanceLike: TypeAlias = AngleLike | Sequence[AngleLike] | Mapping[str, AngleLike] | np.ndarray

#: Sky positions as coordinates: a SkyCoord, or one ``[ra, dec]`` pair or a list of them, in degrees.
CoordinatesLike: TypeAlias = SkyCoord | Sequence[float] | Sequence[Sequence[float]] | np.ndarray

#: Sky positions: coordinates (:data:`CoordinatesLike`), an object name Sesame resolves, or a list of names.
PositionsLike: TypeAlias = CoordinatesLike | str | Sequence[str]

#: A time: an astropy Time, a datetime or date (naive means UTC), an ISO 8601 string, or a pandas Timestamp.
TimeLike: TypeAlias = Time | datetime | date | str | pd.Timestamp | np.datetime64

#: What can be downloaded: a Manifest, its ``files`` frame (or a selection of it), or URLs or manifest rows
#: (mappings with at least ``url``).
ManifestSource: TypeAlias = Manifest | pd.DataFrame | Iterable[str | Mapping[str, object]]

#: A file system path.
PathLike: TypeAlias = str | os.PathLike[str]
