"""The ESO shape: the ``/tap_obs`` TAP service with ``dbo.raw`` (raw frames), its ``ist`` views and ``ivoa.ObsCore``.

Column names, types and value formats are those of archive.eso.org/tap_obs (as captured by
astroquery's ESO tests and shown in ESO's programmatic-access notebook); the rows are synthetic
and deterministic (seed and "now").  Raw frames come in observation blocks (OBs) of a few
exposures from several instruments: science OBs cluster around well-known targets, calibrations
are public at once, science frames stay proprietary for a year, so some releases lie in the
future.  ``dp_id`` is ESO's ``<file prefix>.<UT start to the ms>`` (``SPHER.2016-09-26T03:04:09.308``;
the prefix is the instrument's at most five-letter file prefix, so SINFONI frames are ``SINFO.``).

URLs pointing back at the archive (``access_url``, ``datalink_url``, ...) are stored under
:data:`PLACEHOLDER` and served with the requesting client's own base URL (``TapService``'s
``base_placeholder``): the tables are loaded once, before the server knows its port.  The
DataLink, calSelector and dataportal services those URLs lead to are :mod:`.links`; the token
endpoint, and who may see frames still proprietary (anonymous TAP queries do not), are :mod:`.auth`.
``/hdr?DpId=`` answers a frame's FITS header as ESO's header page does (for astroquery's ``get_headers``),
and ``/tap_cat`` is a minimal catalogue TAP service (:mod:`.tap_cat`).
"""

from __future__ import annotations

from aiohttp import web

from ...protocols.archive import TapArchive
from ...protocols.tap import TapService
from ...protocols.tapdb import TapDatabase, TapTable
from ...protocols.uws import JobLimits
from ...settings import ShapeContext
from .auth import TOKEN_PATH, EsoAuth, TokenIssuer
from .catalog import (
    COLLECTIONS,
    INSTRUMENTS,
    IST_TABLES,
    IVO_ID,
    OBSCORE_COLUMNS,
    PLACEHOLDER,
    RAW_COLUMNS,
    TABLES,
    TARGETS,
    EsoTable,
    Instrument,
    Target,
)
from .tables import generate
from .tap_cat import EsoCatalogueDatabase

__all__ = [
    "COLLECTIONS",
    "INSTRUMENTS",
    "IST_TABLES",
    "IVO_ID",
    "OBSCORE_COLUMNS",
    "PLACEHOLDER",
    "RAW_COLUMNS",
    "TABLES",
    "TARGETS",
    "EsoArchive",
    "EsoTable",
    "Instrument",
    "Target",
    "create",
    "generate",
]


#: Where the catalogue TAP service (Phase 3 catalogues, :mod:`.tap_cat`) is, beside tap_obs.
CAT_PATH = "/tap_cat"

# ---------------------------------------------------------------------------------- the shape


def ist_views() -> list[TapTable]:
    """tap_obs's ``ist.<instrument>`` tables: views of dbo.raw's frames of that instrument (empty for
    instruments the sandbox makes no frames of), with dbo.raw's columns, as astroquery's query_instrument reads them."""
    return [
        TapTable(
            name,
            f"Raw frames of {name.upper()}",
            list(RAW_COLUMNS),
            {},
            "ist",
            view=f'SELECT * FROM "dbo"."raw" WHERE instrument = \'{name.upper()}\'',
        )
        for name in IST_TABLES
    ]


class EsoArchive(TapArchive):
    """Synthetic ESO archive: tap_obs over dbo.raw and ivoa.ObsCore, DataLink, calSelector and the dataportal."""

    path = "/tap_obs"
    service = "tap_obs"
    #: ESO's programmatic-access notebook: async jobs run 60 s unless asked for more, 3600 s at most.
    job_limits = JobLimits(execution_duration=60, execution_hard=3600)

    def __init__(self, context: ShapeContext) -> None:
        from .links import EsoLinks  # it builds on this module's tables

        self.data = {
            t: generate(t, context.rows_for(t), seed=context.config.seed, now_mjd=context.now_mjd) for t in TABLES
        }
        db = TapDatabase(
            [TapTable(s.name, s.description, list(s.columns), self.data[t], s.schema) for t, s in TABLES.items()]
            + ist_views()
        )
        cfg = context.config
        protected = ("dbo.raw", *(f"ist.{name}" for name in IST_TABLES))
        issuer = TokenIssuer(cfg.accounts, cfg.token_lifetime)
        self.auth = EsoAuth(issuer, self.data["raw"], context.now_mjd, protected=protected)
        super().__init__(db, context, base_placeholder=PLACEHOLDER, access=self.auth.tap_access)
        self.links = EsoLinks(self.data, context, auth=self.auth)
        limits = cfg.job_limits or self.job_limits
        self.catalogues = TapService(
            EsoCatalogueDatabase(), default_maxrec=cfg.default_maxrec, queue_delay=cfg.queue_delay, limits=limits
        )

    def app(self) -> web.Application:
        """tap_obs and tap_cat plus the DataLink, calSelector, dataportal, header and single sign-on routes."""
        app = super().app()
        self.catalogues.add_routes(app, CAT_PATH)
        self.links.add_routes(app)
        self.auth.add_routes(app)
        return app

    def close(self) -> None:
        """Release both query engines."""
        super().close()
        self.catalogues.db.close()

    def endpoints(self, base: str) -> dict[str, str]:
        """vodaxa's ESO services at ``base``: tap_obs, datalink, calselector, dataportal and the token endpoint."""
        return super().endpoints(base) | self.links.endpoints(base) | {"token": base + TOKEN_PATH}


def create(context: ShapeContext) -> EsoArchive:
    """The ESO shape for a sandbox (``shapes.SHAPES`` entry point)."""
    return EsoArchive(context)
