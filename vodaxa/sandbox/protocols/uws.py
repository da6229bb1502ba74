"""UWS 1.1 pieces of the TAP service: who a request acts for, job limits, jobs and their XML elements."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from aiohttp import web
    from astropy.table import Table
    from multidict import MultiDict

__all__ = ["ACTIVE", "UWS_NS", "Access", "AccessHook", "Job", "JobLimits", "iso", "now", "owner_element",
           "time_element"]


@dataclass(frozen=True)
class Access:
    """Who a request acts for and which rows each table shows them (qualified name, lower case -> condition)."""

    owner: str | None = None  # None: anonymous; jobs created with an owner answer only that owner
    filters: Mapping[str, str] = field(default_factory=dict)  # DuckDB conditions on the table's columns


#: Decides a request's :class:`Access`; it may raise an ``aiohttp`` HTTP error (a 401 for a bad token).
AccessHook = Callable[["web.Request"], Access]

UWS_NS = (
    'xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" xmlns:xlink="http://www.w3.org/1999/xlink" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
)
ACTIVE = {"QUEUED", "EXECUTING"}


@dataclass(frozen=True)
class JobLimits:
    """How long a UWS job may run and is kept, as a TAP service advertises it in its capabilities.

    The default is what GAVO DaCHS advertises (executionDuration 3600 s, retentionPeriod 172800 s = 2 days);
    shapes set their archive's own (ESO's tap_obs: 60 s by default, 3600 s at most; ESAC's TAP+: 1800 s,
    destruction 3 days after creation).  ``SandboxConfig(job_limits=...)`` sets one for every TAP service.

    Parameters
    ----------
    execution_duration : int, optional
        Seconds a new job may run (default 3600; 0: no limit).
    execution_hard : int, optional
        The most a client may ask for, in seconds (default 3600; 0: no limit).
    retention : float, optional
        Seconds from a job's creation to its destruction (default 172800: 2 days).

    Examples
    --------
    >>> from vodaxa.sandbox import JobLimits, SandboxConfig
    >>> config = SandboxConfig(job_limits=JobLimits(execution_duration=60, retention=600.0))
    >>> config.job_limits.execution_hard
    3600
    """

    execution_duration: int = 3600  # seconds a new job may run (0: no limit)
    execution_hard: int = 3600  # the most a client may ask for (0: no limit)
    retention: float = 172_800.0  # seconds from creation to destruction


def now() -> datetime:
    """The current UTC time."""
    return datetime.now(timezone.utc)


def iso(when: datetime | None) -> str:
    """UWS's ISO 8601 text of a time (empty for None)."""
    return when.strftime("%Y-%m-%dT%H:%M:%SZ") if when else ""


@dataclass
class Job:
    """One UWS job and everything it needs to run and report."""

    id: str
    params: MultiDict
    uploads: dict[str, Table]
    access: Access = field(default_factory=Access)  # the creator's: the job runs with their rights
    phase: str = "PENDING"
    created: datetime = field(default_factory=now)
    started: datetime | None = None
    ended: datetime | None = None
    execution_duration: int = JobLimits.execution_duration
    destruction: datetime = field(default_factory=lambda: now() + timedelta(seconds=JobLimits.retention))
    result: bytes | None = None
    error: str | None = None
    task: asyncio.Task | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def set_phase(self, phase: str) -> None:
        """Move to ``phase`` and wake any client blocked in a WAIT poll."""
        self.phase = phase
        self.changed.set()
        self.changed = asyncio.Event()


def owner_element(owner: str | None) -> str:
    """The UWS ownerId of a job: nil for anonymous jobs."""
    return '<uws:ownerId xsi:nil="true"/>' if owner is None else f"<uws:ownerId>{escape(owner)}</uws:ownerId>"


def time_element(tag: str, when: datetime | None) -> str:
    """A UWS time element, nil when the time is not known."""
    return f'<uws:{tag} xsi:nil="true"/>' if when is None else f"<uws:{tag}>{iso(when)}</uws:{tag}>"
