"""The sandbox's settings (:class:`SandboxConfig`) and what a shape is built from (:class:`ShapeContext`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .protocols.faults import Faults

if TYPE_CHECKING:
    from .protocols.faults import FaultInjector
    from .protocols.uws import JobLimits

__all__ = ["SandboxConfig", "ShapeContext"]


@dataclass
class SandboxConfig:
    """How big and how unreliable the sandbox is.  The same config always gives the same data.

    Parameters
    ----------
    rows : int or dict of str to int, optional
        Rows per table (default 200), or per table name (a table not named gets its shape's default, or 200).
    seed : int, optional
        Seed of the synthetic rows and files (default 0).
    now_mjd : float, optional
        "Today", as an MJD, for public dates. By default today's UTC midnight (:func:`today_mjd`).
    faults : Faults, optional
        What to inject (default: nothing).
    datalink_max_ids : int, optional
        The most IDs one DataLink request may carry (default 1000).
    datalink_sizes : bool, optional
        Whether HEASARC's DataLink sizes ``#this`` directories unless asked not to (``sizefiles=false``);
        default True.
    heasarc_datalink : {'current', 'legacy', 'files'}, optional
        HEASARC's DataLink shape: ``"current"`` (the default, 2026), ``"legacy"``, or ``"files"`` (the legacy
        shape with three ``#this`` file links per observation instead of a directory, for benchmarks; see
        ``vodaxa.sandbox.archives.heasarc.links``).
    default_maxrec : int, optional
        Rows a TAP query returns when it sets no MAXREC (default 100000).
    queue_delay : float, optional
        Seconds an async job waits in QUEUED (default 0).
    cache : pathlib.Path or str, optional
        Where generated files go (a str is taken as a path). By default the ``sandbox`` folder of vodaxa's cache
        directory (:func:`vodaxa.config.cache_dir`).
    host : str, optional
        The loopback address to serve on (default ``"127.0.0.1"``; ``"localhost"`` and ``"::1"`` also work).
    ports : mapping of str to int, optional
        Port per archive (0 or absent: any free port). By default all free ports.
    prebuild : bool, optional
        Write every observation directory at start (default False: on first use).
    archives : tuple of str, optional
        Which archive shapes to run (a single name works too). By default all of them.
    accounts : mapping of str to str, optional
        ``{user: password}`` of the accounts ESO's login accepts (default ``{"astro": "correct horse"}``; not shown
        in the repr).
    token_lifetime : float, optional
        Seconds an ESO id_token stays valid (default 28800, ESO's ``expires_in``: 8 hours).
    job_limits : JobLimits, optional
        UWS execution and retention of every TAP service. By default each archive's own.
    calselector_trees : bool, optional
        Whether ESO's calSelector answers association trees even when a VOTable is asked for, as a server
        ignoring ``responseformat`` would (default False).

    See Also
    --------
    serve, activate : Run a sandbox with this config (or with its fields as keyword arguments).

    Examples
    --------
    >>> from vodaxa.sandbox import Faults, SandboxConfig
    >>> config = SandboxConfig(rows={"numaster": 500}, faults=Faults(latency=0.02), archives="heasarc")
    >>> config.archives
    ('heasarc',)
    """

    rows: int | dict[str, int] = 200  # rows per table (or per table name)
    seed: int = 0
    now_mjd: float | None = None  # "today" for public dates; default: today's UTC midnight
    faults: Faults = field(default_factory=Faults)
    datalink_max_ids: int = 1000
    datalink_sizes: bool = True  # HEASARC sizes #this directories unless asked not to (sizefiles=false)
    heasarc_datalink: str = "current"  # HEASARC's DataLink shape: "current" (2026) or "legacy" (archives.heasarc.links)
    default_maxrec: int = 100_000
    queue_delay: float = 0.0  # seconds an async job waits in QUEUED
    cache: Path | None = None  # where generated files go; default: vodaxa's cache directory
    host: str = "127.0.0.1"
    ports: Mapping[str, int] = field(default_factory=dict)  # archive -> port (0 or absent: any free port)
    prebuild: bool = False  # write every observation directory at start (default: on first use)
    archives: tuple[str, ...] | None = None  # which shapes to run (default: all of SHAPES)
    accounts: Mapping[str, str] = field(default_factory=lambda: {"astro": "correct horse"}, repr=False)  # user: pwd
    token_lifetime: float = 28_800.0  # seconds an ESO id_token stays valid (ESO's expires_in: 8 h)
    job_limits: JobLimits | None = None  # UWS execution/retention of every TAP service (default: each archive's own)
    calselector_trees: bool = False  # ESO's calSelector answers association trees even when a VOTable is asked for

    def __post_init__(self) -> None:
        if self.cache is not None and not isinstance(self.cache, Path):
            self.cache = Path(self.cache)  # a str path works as the docs' examples write it
        if self.archives is not None and isinstance(self.archives, str):
            self.archives = (self.archives,)


@dataclass(frozen=True)
class ShapeContext:
    """Everything a shape needs to build itself."""

    config: SandboxConfig
    now_mjd: float
    cache: Path
    injector: FaultInjector

    def rows_for(self, table: str, default: int | None = None) -> int:
        """The configured row count of ``table``."""
        rows = self.config.rows
        if isinstance(rows, dict):
            return rows.get(table, default if default is not None else 200)
        return rows
