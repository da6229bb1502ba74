"""Resolve: observations (a Mission, an observation table, any VO result with DataLink) into a Manifest.

Each archive's quirks live in its own module here (``heasarc`` directory trees, ...); this module
only routes observations to them and collects one :class:`~vodaxa.manifest.Manifest`.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..config import endpoints
from ..errors import InputError, ResolveError
from ..manifest import Manifest, unavailable_row
from ..net import HttpClient, HttpConfig, run_sync
from ..specs import registry
from ..specs.registry import MissionSpec
from .chandra import resolve_chandra
from .datalink import DataLinkEngine, Semantics, semantics_terms
from .erosita import resolve_erosita
from .eso import resolve_eso
from .generic import resolve_vo
from .heasarc import resolve_heasarc
from .xsa import resolve_xsa

__all__ = ["ResolveOptions", "resolve", "resolve_async"]


@dataclass(frozen=True)
class ResolveOptions:
    """Archive-specific choices: Chandra file types and mirror, ESO calibration cascades."""

    filetypes: Iterable[str] | None = None
    exclude: Iterable[str] | None = None
    calibrations: str | None = None  # raw2raw or raw2master (ESO)
    mirror: str | None = None
    semantics: Semantics = "#this"  # which DataLink links (HEASARC and generic VO sources)

    @property
    def by_file_type(self) -> bool:
        """Whether Chandra file types were chosen (then the CDA byobsid layout is used)."""
        return self.filetypes is not None or self.exclude is not None

    def refuse(self, what: str, *, allow_calibrations: bool = False) -> None:
        """Say clearly which options do not apply to ``what``, instead of ignoring them."""
        if self.by_file_type:
            raise ResolveError(f"filetypes/exclude select Chandra files; they do not apply to {what}")
        if self.calibrations is not None and not allow_calibrations:
            raise ResolveError(f"calibrations select ESO calibration cascades; they do not apply to {what}")
        if self.calibrations is not None and self.calibrations.lower() not in ("raw2raw", "raw2master"):
            raise ResolveError(f"calibrations must be 'raw2raw' or 'raw2master', not {self.calibrations!r}")

    def refuse_semantics(self, what: str) -> None:
        """``semantics`` other than the default apply to DataLink resolution only; say so instead of ignoring it."""
        if semantics_terms(self.semantics) != ("#this",):
            raise ResolveError(
                f"semantics choose DataLink links, for HEASARC missions and VO results; the files of {what} "
                "are chosen by its own options (products, instruments, filetypes, calibrations). Resolve "
                "those observations without semantics=, or with semantics='#this'"
            )


def resolve(
    source: Any,
    *,
    products: bool = True,
    instruments: Iterable[str] | None = None,
    filetypes: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
    calibrations: str | None = None,
    mirror: str | None = None,
    semantics: Semantics = "#this",
    http_config: HttpConfig | None = None,
    budget: float | None = None,
) -> Manifest:
    """A :class:`Manifest` of the files behind ``source`` (a Mission, an observation DataFrame, or a VO
    result or Table carrying a DataLink service descriptor or DataLink access URLs).

    ``products`` adds processed products to the raw data; ``instruments`` narrows the files to those
    instruments.  Observations the archive will not give (proprietary, unknown) appear in
    ``Manifest.unavailable`` with the archive's reason, never silently dropped.  For Chandra,
    ``filetypes``/``exclude`` select CIAO file types from the CDA (or ``mirror``, any base URL holding
    ``byobsid/``).  ``semantics`` chooses the DataLink links of HEASARC missions and VO results: ``"#this"``
    (the data, the default), another term or a list (narrower core terms included), or ``"*"`` for all.
    ``budget`` bounds the whole resolution in seconds (a slow or silent service then raises ResolveError
    instead of holding the caller; nothing half-resolved is returned as if it were whole).
    """
    return run_sync(
        resolve_async(
            source,
            products=products,
            instruments=instruments,
            filetypes=filetypes,
            exclude=exclude,
            calibrations=calibrations,
            mirror=mirror,
            http_config=http_config,
            semantics=semantics,
            budget=budget,
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
    mirror: str | None = None,
    semantics: Semantics = "#this",
    http_config: HttpConfig | None = None,
    budget: float | None = None,
) -> Manifest:
    """:func:`resolve` for asyncio callers."""
    limit = _budget(budget)
    _check_instruments(instruments)
    work = _resolve(source, products, instruments, filetypes, exclude, calibrations, mirror, semantics, http_config)
    if limit is None:
        return await work
    try:
        return await asyncio.wait_for(work, limit)
    except asyncio.TimeoutError:
        raise ResolveError(
            f"resolving did not finish within the {limit:g} s budget (a slow or silent service?); nothing was "
            "returned half-done: raise budget=, or resolve fewer observations at a time"
        ) from None


def _budget(budget: float | None) -> float | None:
    """A checked budget in seconds (None: none)."""
    if budget is None:
        return None
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not math.isfinite(budget) or budget <= 0:
        raise InputError(f"budget must be a positive number of seconds, not {budget!r}")
    return float(budget)


def _check_instruments(instruments: Any) -> None:
    """InputError unless ``instruments`` is None, an instrument name, or a list of names."""
    many = isinstance(instruments, Iterable) and not isinstance(instruments, (str, bytes, Mapping))
    names = [instruments] if isinstance(instruments, str) else list(instruments) if many else None
    if instruments is not None and (names is None or not all(isinstance(n, str) for n in names)):
        raise InputError(f"instruments={instruments!r}: give an instrument name or a list of them (e.g. ['ACIS']), "
                         "or leave it out for each mission's default")  # fmt: skip


async def _resolve(
    source: Any,
    products: bool,
    instruments: Iterable[str] | None,
    filetypes: Iterable[str] | None,
    exclude: Iterable[str] | None,
    calibrations: str | None,
    mirror: str | None,
    semantics: Semantics,
    http_config: HttpConfig | None,
) -> Manifest:
    semantics = semantics_terms(semantics)  # a malformed choice is refused before anything is asked
    options = ResolveOptions(
        filetypes=filetypes, exclude=exclude, calibrations=calibrations, mirror=mirror, semantics=semantics
    )
    from .. import auth

    scoped = auth.scope()
    async with HttpClient(
        http_config, headers_for=scoped.headers_for, on_rejected=auth.rejected, params_for=scoped.params_for
    ) as http:
        engine = DataLinkEngine(http)
        if _is_observation_table(source):
            frame, chosen = _observations(source, instruments)
            parts = []
            for mission, group in frame.groupby("mission", sort=False):
                spec = registry.get(str(mission))
                part = await _resolve_mission(spec, group, chosen.get(str(mission)), products, http, engine, options)
                parts.append(_account_for_every_observation(spec, group, part))
            manifest = sum(parts[1:], parts[0]) if parts else Manifest()
        elif isinstance(source, pd.DataFrame) and ({"datalink_url"} <= set(source) or {"access_url"} <= set(source)):
            from astropy.table import Table

            options.refuse("a VO result")
            manifest = await resolve_vo(Table.from_pandas(source), http, engine, semantics)
        elif hasattr(source, "colnames") or hasattr(source, "to_table"):
            options.refuse("a VO result")
            manifest = await resolve_vo(source, http, engine, semantics)
        else:
            what = "a DataFrame without 'mission' and 'obs_id' columns" if isinstance(source, pd.DataFrame) else (
                type(source).__name__
            )  # fmt: skip
            raise InputError(
                f"resolve takes a Mission, an observation table (a DataFrame with 'mission' and 'obs_id' columns, as "
                f"vodaxa.search gives), or a pyvo result / astropy Table with DataLink; not {what}"
            )
    return manifest.merge_duplicates()


def _account_for_every_observation(spec: MissionSpec, frame: pd.DataFrame, manifest: Manifest) -> Manifest:
    """``manifest`` plus an unavailable row for each observation of ``frame`` the archive gave nothing for,
    so no observation is ever lost without a word."""
    listed = {o for cell in manifest.frame["obs_id"].dropna() for o in str(cell).split(",")}
    lost = [str(o) for o in dict.fromkeys(frame["obs_id"]) if str(o) not in listed]
    if not lost:
        return manifest
    note = f"{spec.archive} listed no files and no reason for this observation"
    extra = Manifest([unavailable_row(o, note, mission=spec.name) for o in lost])
    return manifest + extra


def _is_observation_table(source: Any) -> bool:
    from ..query.mission import Mission

    return isinstance(source, Mission) or (isinstance(source, pd.DataFrame) and {"mission", "obs_id"} <= set(source))


def _observations(source: Any, instruments: Iterable[str] | None) -> tuple[pd.DataFrame, dict[str, tuple[str, ...]]]:
    """The observations to resolve and the chosen instruments per mission."""
    from ..query.mission import Mission

    if isinstance(source, Mission):
        chosen = source.spec.canonical_instruments(instruments) if instruments else source.chosen_instruments
        frame = source.filtered_obs_info  # rows answered by a fallback source say so in their mission column
        return frame, dict.fromkeys([source.name, *map(str, frame["mission"].dropna().unique())], chosen)
    names = [str(m) for m in source["mission"].dropna().unique()]
    return source, {n: registry.get(n).canonical_instruments(instruments) for n in names}


async def _resolve_mission(
    spec: MissionSpec,
    frame: pd.DataFrame,
    chosen: tuple[str, ...] | None,
    products: bool,
    http: HttpClient,
    engine: DataLinkEngine,
    options: ResolveOptions | None = None,
) -> Manifest:
    chosen = chosen or spec.default_instruments
    options = options or ResolveOptions()
    if spec.name.startswith("chandra") and (spec.archive == "cxc" or options.by_file_type):
        mirror = options.mirror or (None if spec.archive == "cxc" else endpoints.get("heasarc", "ftp") + "chandra/data")
        options.refuse_semantics(f"{spec.name} (by CIAO file type)")
        return await resolve_chandra(
            spec, frame, http, filetypes=options.filetypes, exclude=options.exclude, mirror=mirror
        )
    options.refuse(spec.name, allow_calibrations=spec.archive == "eso")
    if spec.archive == "heasarc":
        return await resolve_heasarc(spec, frame, chosen, products, http, engine, options.semantics)
    options.refuse_semantics(spec.name)
    if spec.archive == "eso":
        return await resolve_eso(spec, frame, http, engine, calibrations=options.calibrations)
    if spec.archive == "xsa":
        return await resolve_xsa(spec, frame, chosen, products, http, engine)
    if spec.archive == "erosita":
        return await resolve_erosita(spec, frame, chosen, products, http, engine)
    raise ResolveError(f"{spec.name}: resolving {spec.archive} observations into files is not available yet")
