"""Resolve: observations (a Mission, an observation table, any VO result with DataLink) into a Manifest.

Each archive's quirks live in its own folder (``vodaxa/archives/<archive>/``, whose resolver turns, say,
HEASARC's directory trees into files); this module only routes observations to them and collects one
:class:`~vodaxa.manifest.Manifest`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, TypeGuard, cast

import numpy as np
import pandas as pd

from .. import _gc
from ..errors import InputError, ResolveError, VodaxaError
from ..manifest import Manifest, unavailable_row
from ..net import HttpClient, HttpConfig, run_sync
from ..specs import registry
from ..specs.registry import MissionSpec
from .datalink import DataLinkEngine, Semantics, semantics_terms
from .generic import resolve_vo
from .request import OPTION_HELP, ResolveRequest

if TYPE_CHECKING:
    from ..archives import Resolver
    from ..auth import ScopedAuth
    from ..query.mission import Mission
    from ..typing import ObservationSource

__all__ = ["ResolveRequest", "resolve", "resolve_async"]

log = logging.getLogger(__name__)


def resolve(
    source: ObservationSource,
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
    """Find the files behind observations: a :class:`~vodaxa.Manifest` listing each file's URL, local path,
    size and category.

    Each mission's observations go to its archive's resolver (HEASARC's DataLink and directory trees, the
    XSA's AIO tarballs, ESO's DataLink and calSelector, ...), concurrently.  Observations the archive will not
    give (proprietary, unknown) appear in ``Manifest.unavailable`` with the archive's reason, never silently
    dropped.

    Parameters
    ----------
    source : Mission, pandas.DataFrame, astropy.table.Table or pyvo.dal.DALResults
        The observations: a :class:`~vodaxa.Mission` (its filtered observations), an observation table (a
        DataFrame with ``mission`` and ``obs_id`` columns, as :func:`vodaxa.search` gives, or the same as an
        astropy Table), or a VO result or Table carrying a DataLink service descriptor or DataLink access URLs
        (``access_url`` with the DataLink ``access_format``, or ``datalink_url``).
    products : bool, optional
        Add the archive's processed products to the raw data (True by default).
    instruments : str or iterable of str, optional
        Keep only these instruments' files (each mission's default instruments, or those the Mission chose, by
        default).
    filetypes : iterable of str, optional
        Chandra only: the CIAO file types to keep (``["evt2", "asol", "bpix"]``).
    exclude : iterable of str, optional
        Chandra only: CIAO file types to leave out.
    calibrations : {"raw2raw", "raw2master"}, optional
        ESO only: add each frame's calibration cascade from calSelector, with its association tree.
    mirror : str, optional
        Chandra only: a base URL holding a copy of the CDA's ``byobsid/`` tree, to list and fetch from.
    semantics : str or iterable of str, optional
        The DataLink links to keep, for HEASARC missions, ObsCore tables and VO results: ``"#this"`` (the data,
        the default), another term or a list of terms (their narrower core terms included), or ``"*"`` for all.
        Other archives choose their files with their own options and refuse other semantics.
    http_config : vodaxa.net.HttpConfig, optional
        Limits and patience of the HTTP client (``HttpConfig()`` by default).
    budget : float, optional
        Seconds the whole resolution may take (no limit by default): a slow or silent service then raises
        ResolveError instead of holding the caller; nothing half-resolved is returned as if it were whole.

    Returns
    -------
    vodaxa.Manifest
        One row per file in ``manifest.files`` (``mission``, ``obs_id``, ``url``, ``local_path``, ``size``,
        ``category``, ...); observations without files in ``manifest.unavailable``, with the reason in ``note``.

    Raises
    ------
    vodaxa.errors.InputError
        If ``source`` is none of the above, an observation table row names no mission, or ``instruments`` or
        ``budget`` is malformed.
    vodaxa.errors.ResolveError
        If an option does not apply to the observations (Chandra's ``filetypes`` for NuSTAR, ``semantics`` for
        ESO), ``calibrations`` or ``semantics`` is malformed, an archive's resolver fails, a VO result carries no
        DataLink, or the ``budget`` runs out.
    vodaxa.errors.UnknownMissionError
        If an observation table names a mission the registry does not know.

    See Also
    --------
    resolve_async : the same, for asyncio callers.
    vodaxa.download : fetches a manifest's files.

    Examples
    --------
    >>> import vodaxa
    >>> mission = vodaxa.mission("nustar_pointed")
    >>> mission.filter_on_name("3C 105")
    >>> manifest = vodaxa.resolve(mission)
    >>> sorted(manifest.files["category"].unique())
    ['auxiliary', 'events', 'housekeeping', 'image', 'index', 'other']
    >>> manifest.files["local_path"].iloc[0]
    'nustar_pointed/.../auxil/nu..._att.fits.gz'
    >>> raw = vodaxa.resolve(mission, products=False)   # raw data only: no images
    >>> sorted(raw.files["category"].unique())
    ['auxiliary', 'events', 'housekeeping', 'index']
    >>> len(manifest.unavailable)
    0
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
    source: ObservationSource,
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
    """Find the files behind observations, for asyncio callers: :func:`resolve` as a coroutine.

    Parameters
    ----------
    source : Mission, pandas.DataFrame, astropy.table.Table or pyvo.dal.DALResults
        The observations: a :class:`~vodaxa.Mission` (its filtered observations), an observation table (a
        DataFrame with ``mission`` and ``obs_id`` columns, as :func:`vodaxa.search` gives, or the same as an
        astropy Table), or a VO result or Table carrying a DataLink service descriptor or DataLink access URLs
        (``access_url`` with the DataLink ``access_format``, or ``datalink_url``).
    products : bool, optional
        Add the archive's processed products to the raw data (True by default).
    instruments : str or iterable of str, optional
        Keep only these instruments' files (each mission's default instruments, or those the Mission chose, by
        default).
    filetypes : iterable of str, optional
        Chandra only: the CIAO file types to keep (``["evt2", "asol", "bpix"]``).
    exclude : iterable of str, optional
        Chandra only: CIAO file types to leave out.
    calibrations : {"raw2raw", "raw2master"}, optional
        ESO only: add each frame's calibration cascade from calSelector, with its association tree.
    mirror : str, optional
        Chandra only: a base URL holding a copy of the CDA's ``byobsid/`` tree, to list and fetch from.
    semantics : str or iterable of str, optional
        The DataLink links to keep, for HEASARC missions, ObsCore tables and VO results: ``"#this"`` (the data,
        the default), another term or a list of terms (their narrower core terms included), or ``"*"`` for all.
        Other archives choose their files with their own options and refuse other semantics.
    http_config : vodaxa.net.HttpConfig, optional
        Limits and patience of the HTTP client (``HttpConfig()`` by default).
    budget : float, optional
        Seconds the whole resolution may take (no limit by default): a slow or silent service then raises
        ResolveError instead of holding the caller; nothing half-resolved is returned as if it were whole.

    Returns
    -------
    vodaxa.Manifest
        One row per file in ``manifest.files``; observations without files in ``manifest.unavailable``.

    Raises
    ------
    vodaxa.errors.InputError
        If ``source`` is none of the above, an observation table row names no mission, or ``instruments`` or
        ``budget`` is malformed.
    vodaxa.errors.ResolveError
        If an option does not apply to the observations (Chandra's ``filetypes`` for NuSTAR, ``semantics`` for
        ESO), ``calibrations`` or ``semantics`` is malformed, an archive's resolver fails, a VO result carries no
        DataLink, or the ``budget`` runs out.
    vodaxa.errors.UnknownMissionError
        If an observation table names a mission the registry does not know.

    Examples
    --------
    >>> import vodaxa
    >>> from vodaxa.net import run_sync
    >>> from vodaxa.resolvers import resolve_async
    >>> observations = vodaxa.search("3C 105", missions=["nustar_pointed"])
    >>> manifest = run_sync(resolve_async(observations))   # or, in a coroutine: await resolve_async(...)
    >>> manifest.files["mission"].unique().tolist()
    ['nustar_pointed']
    """
    limit = _budget(budget)
    _check_instruments(instruments)
    source = _observation_frame(source)
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


def _check_instruments(instruments: Iterable[str] | None) -> None:
    """InputError unless ``instruments`` is None, an instrument name, or a list of names."""
    if instruments is None:
        return
    many = isinstance(instruments, Iterable) and not isinstance(instruments, (str, bytes, Mapping))
    names = [instruments] if isinstance(instruments, str) else list(instruments) if many else None
    if names is None or not all(isinstance(n, str) for n in names):
        raise InputError(f"instruments={instruments!r}: give an instrument name or a list of them (e.g. ['ACIS']), "
                         "or leave it out for each mission's default")  # fmt: skip


async def _resolve(
    source: ObservationSource,
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
    chosen_options = {
        name: value
        for name, value in (("filetypes", filetypes), ("exclude", exclude), ("calibrations", calibrations),
                            ("mirror", mirror), ("semantics", semantics))
        if value is not None and not (name == "semantics" and value == ("#this",))
    }  # fmt: skip
    _check_calibrations(calibrations)
    from .. import auth

    scoped = auth.scope()
    with _gc.paused():  # thousands of rows and records are built: no collector walks over them meanwhile
        return await _resolve_source(source, instruments, products, chosen_options, semantics, http_config, scoped)


async def _resolve_source(
    source: ObservationSource,
    instruments: Iterable[str] | None,
    products: bool,
    chosen_options: Mapping[str, str | Iterable[str]],
    semantics: tuple[str, ...],
    http_config: HttpConfig | None,
    scoped: ScopedAuth,
) -> Manifest:
    from .. import auth

    async with HttpClient(
        http_config, headers_for=scoped.headers_for, on_rejected=auth.rejected, params_for=scoped.params_for
    ) as http:
        engine = DataLinkEngine(http)
        if _is_observation_table(source):
            frame, chosen = _observations(source, instruments)
            nameless = frame["mission"].isna() | (frame["mission"].astype(str).str.strip() == "")
            if nameless.any():
                ids = ", ".join(str(o) for o in frame.loc[nameless, "obs_id"].head(5))
                raise InputError(f"{int(nameless.sum())} row(s) of the observation table name no mission "
                                 f"(ObsIDs: {ids}); fill their 'mission' column (vodaxa.missions() lists the "
                                 "names)")  # fmt: skip
            parts = []
            for mission, group in frame.groupby("mission", sort=False):
                spec = registry.get(str(mission))
                request = ResolveRequest(spec, group, chosen.get(str(mission)) or spec.default_instruments, products,
                                         http, engine, chosen_options)  # fmt: skip
                part = await _resolve_mission(request)
                parts.append(_account_for_every_observation(spec, group, part))
            manifest = sum(parts[1:], parts[0]) if parts else Manifest()
        elif isinstance(source, pd.DataFrame) and ({"datalink_url"} <= set(source) or {"access_url"} <= set(source)):
            from astropy.table import Table

            _refuse_for_vo(chosen_options)
            manifest = await resolve_vo(Table.from_pandas(source), http, engine, semantics)
        elif hasattr(source, "colnames") or hasattr(source, "to_table"):
            _refuse_for_vo(chosen_options)
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


def _is_observation_table(source: object) -> TypeGuard[Mission | pd.DataFrame]:
    from ..query.mission import Mission

    return isinstance(source, Mission) or (isinstance(source, pd.DataFrame) and {"mission", "obs_id"} <= set(source))


def _observations(
    source: Mission | pd.DataFrame, instruments: Iterable[str] | None
) -> tuple[pd.DataFrame, dict[str, tuple[str, ...]]]:
    """The observations to resolve and the chosen instruments per mission."""
    from ..query.mission import Mission

    if isinstance(source, Mission):
        chosen = source.spec.canonical_instruments(instruments) if instruments else source.chosen_instruments
        frame = source.filtered_obs_info  # rows answered by a fallback source say so in their mission column
        return frame, dict.fromkeys([source.name, *map(str, frame["mission"].dropna().unique())], chosen)
    names = [str(m) for m in source["mission"].dropna().unique()]
    per_mission = {n: registry.get(n).canonical_instruments(instruments) for n in names}
    return _textual_ids(source), per_mission


def _textual_ids(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every ObsID as text: InputError for rows without one, and for numbers that are not the
    mission's ObsIDs (a table read as numbers loses leading zeros: XMM's 0834638918 became 834638918)."""
    ids = frame["obs_id"]
    missing = [i for i, v in enumerate(ids) if (pd.api.types.is_scalar(v) and pd.isna(v)) or str(v).strip() == ""]
    if missing:
        raise InputError(f"{len(missing)} row(s) of the observation table have no obs_id (rows {missing[:5]}); "
                         "fill them or drop those rows")  # fmt: skip
    numeric = [i for i, v in enumerate(ids) if isinstance(v, (int, float, np.integer, np.floating))
               and not isinstance(v, bool)]  # fmt: skip
    if not numeric:
        return frame
    texts = list(ids)
    for i in numeric:
        value = ids.iloc[i]
        if not float(value).is_integer():
            raise InputError(f"obs_id {value!r} is a number with a fraction, not an ObsID; read the column as text")
        mission = str(frame["mission"].iloc[i])
        text = str(int(value))
        try:
            registry.get(mission).check_ids([text])
        except InputError as err:
            raise InputError(f"{err}. The table holds ObsIDs as numbers, which lose leading zeros: read the obs_id "
                             "column as text (e.g. pandas.read_csv(..., dtype={'obs_id': str}))") from None
        texts[i] = text
    return frame.assign(obs_id=pd.Series(texts, index=frame.index, dtype=object))


def _check_calibrations(calibrations: str | None) -> None:
    """ResolveError unless ``calibrations`` is None or one of the calSelector modes."""
    if calibrations is not None and str(calibrations).lower() not in ("raw2raw", "raw2master"):
        raise ResolveError(f"calibrations must be 'raw2raw' or 'raw2master', not {calibrations!r}")


def _refuse_for_vo(options: Mapping[str, object]) -> None:
    """A VO result is resolved through DataLink: only ``semantics`` applies to it."""
    for name in options:
        if name != "semantics":
            raise ResolveError(f"{OPTION_HELP[name]}; they do not apply to a VO result")


async def _resolve_mission(request: ResolveRequest) -> Manifest:
    """The mission's archive resolves it; options the archive does not understand are refused, not ignored."""
    from .. import archives

    spec = request.spec
    archive = archives.get(spec.archive)
    if archive.resolver is None:
        raise ResolveError(f"{spec.name}: resolving {spec.archive} observations into files is not available yet")
    unknown = [name for name in request.options if name not in archive.resolve_options]
    if unknown:
        request.refuse(unknown)
    started = time.monotonic()
    try:
        resolver = cast("Resolver", archive.attr(archive.resolver))  # the Archive's contract for its resolver
        manifest = await resolver(request)
    except (VodaxaError, asyncio.CancelledError):
        raise
    except Exception as err:  # an archive's code (a plugin's, perhaps) failed: say whose, not a bare traceback
        raise ResolveError(f"{spec.name}: the resolver of archive '{archive.name}' ({archive.resolver!r}) failed: "
                           f"{type(err).__name__}: {err}") from err  # fmt: skip
    if not isinstance(manifest, Manifest):
        raise ResolveError(f"{spec.name}: the resolver of archive '{archive.name}' returned "
                           f"{type(manifest).__name__}, not a vodaxa.Manifest")  # fmt: skip
    log.info("%s: %d files, %d observations unavailable (%s) in %.2f s", spec.name, len(manifest.files),
             len(manifest.unavailable), archive.name, time.monotonic() - started)  # fmt: skip
    return manifest


def _observation_frame(source: object) -> object:
    """An astropy Table or pyvo result of observations (``mission`` and ``obs_id`` columns, as ``vodaxa.search``
    gives and ``vodaxa.tables.to_table`` writes) as the observation frame; any other source unchanged, so a VO
    result with DataLink still resolves through DataLink."""
    if isinstance(source, pd.DataFrame):
        return source
    columns = getattr(source, "colnames", None)
    if columns is None and hasattr(source, "fieldnames") and hasattr(source, "to_table"):
        columns = list(source.fieldnames)  # a pyvo result
    if columns is None or not {"mission", "obs_id"} <= set(columns):
        return source
    from ..tables import from_table

    return from_table(source)
