"""What every sandbox archive shape shares: the sandbox's settings and the shape protocol.

An archive shape (HEASARC, ESO, CXC, XSA, eROSITA) is one module with a ``create(context)``
function returning an :class:`ArchiveShape`; :data:`SHAPES` names them, so a new shape is one
module and one line here, and the server never imports a shape it does not run.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from aiohttp import web

from .faults import FaultInjector, Faults, make_app
from .tap import AccessHook, JobLimits, TapService
from .tapdb import TapDatabase

__all__ = ["SHAPES", "ArchiveShape", "SandboxConfig", "ShapeContext", "TapArchive", "load_shape"]


@dataclass
class SandboxConfig:
    """How big and how unreliable the sandbox is.  The same config always gives the same data."""

    rows: int | dict[str, int] = 200  # rows per table (or per table name)
    seed: int = 0
    now_mjd: float | None = None  # "today" for public dates; default: today's UTC midnight
    faults: Faults = field(default_factory=Faults)
    datalink_max_ids: int = 1000
    datalink_sizes: bool = True  # HEASARC sizes #this directories unless asked not to (sizefiles=false)
    heasarc_datalink: str = "current"  # HEASARC's DataLink shape: "current" (2026) or "legacy" (see heasarc_links)
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


class ArchiveShape(Protocol):
    """One archive as the sandbox serves it, on its own port."""

    def app(self) -> web.Application:
        """The aiohttp application answering in this archive's shapes."""

    def endpoints(self, base: str) -> dict[str, str]:
        """vodaxa's ``{service: url}`` for this archive served at ``base``."""

    def close(self) -> None:
        """Release what the shape holds (query engines, files)."""


class TapArchive:
    """A shape that is one TAP service at one path (the XSA, the CDA, ESO's tap_obs)."""

    path: str = "/tap"
    service: str = "tap"  # the vodaxa.config service name of the TAP endpoint
    job_limits: JobLimits = JobLimits()  # what this archive's TAP advertises for async jobs
    tap_class: type[TapService] = TapService  # the TAP flavour (ESAC's TAP+ for ESA's archives)

    def __init__(
        self,
        db: TapDatabase,
        context: ShapeContext,
        *,
        base_placeholder: str | None = None,
        access: AccessHook | None = None,
    ) -> None:
        self.db = db
        self.injector = context.injector
        cfg = context.config
        self.tap = self.tap_class(
            db,
            default_maxrec=cfg.default_maxrec,
            queue_delay=cfg.queue_delay,
            base_placeholder=base_placeholder,
            access=access,
            limits=cfg.job_limits or self.job_limits,
        )

    def app(self) -> web.Application:
        """The aiohttp application answering at the archive's TAP path."""
        app = make_app(self.injector)
        self.tap.add_routes(app, self.path)
        return app

    def endpoints(self, base: str) -> dict[str, str]:
        """vodaxa's ``{service: url}`` for the TAP service at ``base``."""
        return {self.service: f"{base}{self.path}"}

    def close(self) -> None:
        """Release the query engine."""
        self.db.close()


#: Archive name (as in vodaxa.config) -> "module:factory" of its shape.
SHAPES: dict[str, str] = {
    "heasarc": "vodaxa.sandbox.heasarc:create",
    "erosita": "vodaxa.sandbox.erosita:create",
    "eso": "vodaxa.sandbox.eso:create",
    "xsa": "vodaxa.sandbox.xsa:create",
    "cxc": "vodaxa.sandbox.cxc:create",
    "cds": "vodaxa.sandbox.cds:create",
    "registry": "vodaxa.sandbox.registry:create",
}


def load_shape(name: str, context: ShapeContext) -> ArchiveShape:
    """Import and build the shape called ``name``."""
    if name not in SHAPES:
        raise KeyError(f"no sandbox shape '{name}'; known: {', '.join(SHAPES)}")
    module, _, factory = SHAPES[name].partition(":")
    return getattr(importlib.import_module(module), factory)(context)
