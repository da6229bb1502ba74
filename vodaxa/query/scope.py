"""What filters are evaluated against: a mission's spec and chosen instruments, and what follows from them for the
positional filters (the radius of each position, per instrument where fields differ by observation, and the
position table both compilers match on: the TAP upload, and the cone search's list of cones).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from astropy.table import Table

from ..errors import VodaxaError
from ..specs.registry import MissionSpec
from .filters import Positions, PositionsAtTime, SavedDistance

__all__ = ["Scope", "pairs_table", "pairs_within"]


@dataclass(frozen=True)
class Scope:
    """A mission's spec with its chosen instruments (``explicit``: chosen by name, so a wide field is searched)."""

    spec: MissionSpec
    chosen: tuple[str, ...]
    explicit: bool = False

    def per_instrument(self, distance: SavedDistance) -> bool:
        """Whether positions are matched with a radius per instrument (one instrument per observation)."""
        if not self.spec.instrument_column:
            return False
        default = distance is None and isinstance(self.spec.search_radius(self.chosen, explicit=self.explicit), dict)
        return isinstance(distance, dict) or default

    def radii(self, distance: SavedDistance, count: int) -> np.ndarray | dict[str, float]:
        """The radius of each of ``count`` positions (degrees), or one per chosen instrument."""
        if distance is None:
            default = self.spec.search_radius(self.chosen, explicit=self.explicit)
            return default if isinstance(default, dict) else np.full(count, default)
        if isinstance(distance, dict):
            unknown = [k for k in distance if k not in self.spec.instruments]
            if unknown:
                raise VodaxaError(f"search_distance names unknown instruments {unknown}")
            chosen = {k: float(v) for k, v in distance.items() if k in self.chosen}
            if self.spec.instrument_column:
                return chosen
            return np.full(count, max(chosen.values()))
        values = np.atleast_1d(np.asarray(distance, dtype=float))
        if values.size == 1:
            return np.full(count, values.item())
        if values.size != count:
            raise VodaxaError(f"search_distance has {values.size} values for {count} positions")
        return values

    def position_table(self, where: Positions | PositionsAtTime) -> Table:
        """``vx_pos, vx_ra, vx_dec, vx_radius`` (and ``vx_value`` per instrument value when radii differ by
        instrument, ``vx_t0, vx_t1`` for time windows), as the mission's table stores times."""
        ra, dec = np.asarray(where.ra, dtype=float), np.asarray(where.dec, dtype=float)
        radius = self.radii(where.distance, ra.size)
        columns: dict[str, Any] = {"vx_pos": np.arange(ra.size)}
        if isinstance(radius, dict):  # per instrument value, one instrument per observation
            rows = [
                (i, r, d, value, rad)
                for inst, rad in radius.items()
                for value in self.spec.instrument_values.get(inst, (inst,))
                for i, (r, d) in enumerate(zip(ra, dec))
            ]
            columns = {
                "vx_pos": np.array([x[0] for x in rows]),
                "vx_ra": np.array([x[1] for x in rows]),
                "vx_dec": np.array([x[2] for x in rows]),
                "vx_value": np.array([x[3] for x in rows]),
                "vx_radius": np.array([x[4] for x in rows], dtype=float),
            }
        else:
            columns.update({"vx_ra": ra, "vx_dec": dec, "vx_radius": np.asarray(radius, dtype=float)})
        if isinstance(where, PositionsAtTime):
            starts = [self.spec.time_value(s) for s in where.starts]
            ends = [self.spec.time_value(e) for e in where.ends]
            index = columns["vx_pos"]
            columns["vx_t0"] = _time_column([starts[i] for i in index])
            columns["vx_t1"] = _time_column([ends[i] for i in index])
        return Table(columns)


def _time_column(values: list) -> np.ndarray:
    if values and isinstance(values[0], datetime):
        return np.array([v.replace(tzinfo=None).isoformat() for v in values])
    return np.asarray(values, dtype=float)


def pairs_table(found: pd.DataFrame, positions: Table) -> pd.DataFrame:
    """DAXA's return_pos_obs_info: pos_ind, pos_ra, pos_dec and the comma-joined ObsIDs per position."""
    ids = found.groupby(found["_vx_pos"].astype(int))["obs_id"].agg(lambda s: ",".join(sorted(set(s))))
    first: dict[int, tuple[float, float]] = {}
    for p, r, d in zip(positions["vx_pos"], positions["vx_ra"], positions["vx_dec"]):
        first.setdefault(int(p), (float(r), float(d)))
    return pd.DataFrame(
        {
            "pos_ind": ids.index.astype(int),
            "pos_ra": [first[p][0] for p in ids.index],
            "pos_dec": [first[p][1] for p in ids.index],
            "obs_ids": ids.to_numpy(),
        }
    )


def _unit_vectors(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    r, d = np.radians(ra), np.radians(dec)
    return np.stack([np.cos(d) * np.cos(r), np.cos(d) * np.sin(r), np.sin(d)], axis=-1)


def pairs_within(
    pos_ra: np.ndarray, pos_dec: np.ndarray, ra: np.ndarray, dec: np.ndarray, radius: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(position index, row index) of every row within its position's radius (deg); chunked, bounded memory."""
    rows = _unit_vectors(ra, dec)
    finite = np.isfinite(rows).all(axis=1)
    rows[~finite] = 0.0
    points = _unit_vectors(pos_ra, pos_dec)
    cos_limit = np.cos(np.radians(radius))
    out_p, out_r = [], []
    step = max(1, 2_000_000 // max(len(rows), 1))
    for first in range(0, len(points), step):
        cosines = points[first : first + step] @ rows.T
        p, r = np.nonzero((cosines >= cos_limit[first : first + step, None]) & finite[None, :])
        out_p.append(p + first)
        out_r.append(r)
    return np.concatenate(out_p) if out_p else np.array([], int), np.concatenate(out_r) if out_r else np.array([], int)
