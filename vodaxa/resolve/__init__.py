"""Resolve: observations (a Mission, an observation table, any VO result with DataLink) into a Manifest.

Each archive's quirks live in its own module here (``heasarc`` directory trees, ...); this module
only routes observations to them and collects one :class:`~vodaxa.manifest.Manifest`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from ..errors import ResolveError
from ..http import HttpClient, HttpConfig, run_sync
from ..manifest import Manifest
from ..missions import registry
from ..missions.registry import MissionSpec
from .datalink import DataLinkEngine
from .generic import resolve_vo
from .heasarc import resolve_heasarc

__all__ = ["resolve", "resolve_async"]


def resolve(
    source: Any,
    *,
    products: bool = True,
    instruments: Iterable[str] | None = None,
    filetypes: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
    calibrations: str | None = None,
    session: Any = None,
    http_config: HttpConfig | None = None,
) -> Manifest:
    """A :class:`Manifest` of the files behind ``source`` (a Mission, an observation DataFrame, or a VO
    result or Table carrying a DataLink service descriptor or DataLink access URLs).

    ``products`` adds processed products to the raw data; ``instruments`` narrows the files to those
    instruments.  Observations the archive will not give (proprietary, unknown) appear in
    ``Manifest.unavailable`` with the archive's reason, never silently dropped.
    """
    return run_sync(
        resolve_async(
            source,
            products=products,
            instruments=instruments,
            filetypes=filetypes,
            exclude=exclude,
            calibrations=calibrations,
            session=session,
            http_config=http_config,
        )
    )


async def resolve_async(
    source: Any,
    *,
    products: bool = True,
    instruments: Iterable[str] | None = None,
    filetypes: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
    calibrations: str | None = None,
    session: Any = None,
    http_config: HttpConfig | None = None,
) -> Manifest:
    """:func:`resolve` for asyncio callers."""
    if filetypes is not None or exclude is not None or calibrations is not None:
        raise ResolveError("filetypes, exclude and calibrations are not supported for these archives yet")
    async with HttpClient(http_config) as http:
        engine = DataLinkEngine(http)
        if _is_observation_table(source):
            frame, chosen = _observations(source, instruments)
            parts = []
            for mission, group in frame.groupby("mission", sort=False):
                spec = registry.get(str(mission))
                parts.append(await _resolve_mission(spec, group, chosen.get(str(mission)), products, http, engine))
            manifest = sum(parts[1:], parts[0]) if parts else Manifest()
        else:
            manifest = await resolve_vo(source, http, engine)
    return manifest.merge_duplicates()


def _is_observation_table(source: Any) -> bool:
    from ..mission import Mission

    return isinstance(source, Mission) or (isinstance(source, pd.DataFrame) and {"mission", "obs_id"} <= set(source))


def _observations(source: Any, instruments: Iterable[str] | None) -> tuple[pd.DataFrame, dict[str, tuple[str, ...]]]:
    """The observations to resolve and the chosen instruments per mission."""
    from ..mission import Mission

    if isinstance(source, Mission):
        chosen = source.spec.canonical_instruments(instruments) if instruments else source.chosen_instruments
        return source.filtered_obs_info, {source.name: chosen}
    names = [str(m) for m in source["mission"].dropna().unique()]
    return source, {n: registry.get(n).canonical_instruments(instruments) for n in names}


async def _resolve_mission(
    spec: MissionSpec,
    frame: pd.DataFrame,
    chosen: tuple[str, ...] | None,
    products: bool,
    http: HttpClient,
    engine: DataLinkEngine,
) -> Manifest:
    chosen = chosen or spec.default_instruments
    if spec.archive == "heasarc":
        return await resolve_heasarc(spec, frame, chosen, products, http, engine)
    raise ResolveError(f"{spec.name}: resolving {spec.archive} observations into files is not available yet")
