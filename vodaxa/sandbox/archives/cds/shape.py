"""The CDS shape: the Sesame name resolver at ``/cgi-bin/nph-sesame/``, as at cds.unistra.fr.

It knows the sandbox's well-known targets (those the HEASARC, CXC, XSA and ESO tables cluster
around), so a name search works offline.  Answers are Sesame's plain-text format: ``%J ra dec``
for a resolved name, ``#! *** Nothing found ***`` otherwise, always with status 200, as Sesame does.
"""

from __future__ import annotations

import zlib
from urllib.parse import unquote_plus

from aiohttp import web

from ...protocols.faults import FaultInjector, make_app
from ...settings import ShapeContext
from ..eso.catalog import TARGETS as ESO_TARGETS
from ..heasarc.tables import TARGETS as HEASARC_TARGETS

__all__ = ["SESAME_PATH", "CdsArchive", "create", "known_names"]

SESAME_PATH = "/cgi-bin/nph-sesame/"


def known_names() -> dict[str, tuple[float, float]]:
    """Every name the sandbox's Sesame resolves (case and spaces ignored when matching), with its position."""
    names = {name: (ra, dec) for name, ra, dec in HEASARC_TARGETS}
    for target in ESO_TARGETS:
        for spelling in (target.name, *target.spellings):
            names.setdefault(spelling, (target.ra, target.dec))
    return names


def _key(name: str) -> str:
    return "".join(name.split()).lower()


def _sexagesimal(ra: float, dec: float) -> str:
    hours, sign = ra / 15.0, "-" if dec < 0 else "+"
    h, m = int(hours), int((hours % 1) * 60)
    s = ((hours * 60) % 1) * 60
    d, dm = int(abs(dec)), int((abs(dec) % 1) * 60)
    ds = ((abs(dec) * 60) % 1) * 60
    return f"{h:02d}:{m:02d}:{s:05.2f} {sign}{d:02d}:{dm:02d}:{ds:04.1f}"


class CdsArchive:
    """Sesame, answering from :func:`known_names`."""

    def __init__(self, injector: FaultInjector) -> None:
        self.injector = injector
        self.names: dict[str, tuple[str, tuple[float, float]]] = {}
        for name, position in known_names().items():  # the first spelling of a key wins (HEASARC's)
            self.names.setdefault(_key(name), (name, position))

    def app(self) -> web.Application:
        """The aiohttp application answering at Sesame's path."""
        app = make_app(self.injector)
        app.router.add_get(SESAME_PATH + "{options:.*}", self.sesame)
        return app

    async def sesame(self, request: web.Request) -> web.Response:
        """``/cgi-bin/nph-sesame/[-oI/]SNV?<name>``: the name is the whole (URL-encoded) query string."""
        name = unquote_plus(request.query_string).strip()
        lines = [f"# {name}\t#Q{zlib.crc32(name.encode()) % 100000}"]
        found = self.names.get(_key(name))
        if not name:
            lines.append("#! *** No object name given ***")
        elif found is None:
            lines += ["#=S=Simbad (sandbox):    0", f"#! *** Nothing found *** ({name})"]
        else:
            canonical, (ra, dec) = found
            lines += [
                "#=S=Simbad (sandbox):    1",
                f"%I.0 {canonical}",
                f"%J {ra:.7f} {dec:+.7f} = {_sexagesimal(ra, dec)}",
            ]
        lines.append("#====Done (sandbox)====")
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")

    def endpoints(self, base: str) -> dict[str, str]:
        """vodaxa's ``{"sesame": url}`` for this shape served at ``base``."""
        return {"sesame": base + SESAME_PATH}

    def close(self) -> None:
        """Nothing to release."""


def create(context: ShapeContext) -> CdsArchive:
    """The CDS shape for a sandbox (``shapes.SHAPES`` entry point)."""
    return CdsArchive(context.injector)
