"""A shape that is one TAP service at one path (the XSA, the CDA, ESO's tap_obs, the registry)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from .faults import make_app
from .tap import AccessHook, TapService
from .uws import JobLimits

if TYPE_CHECKING:
    from ..settings import ShapeContext
    from .tapdb import TapDatabase

__all__ = ["TapArchive"]


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
