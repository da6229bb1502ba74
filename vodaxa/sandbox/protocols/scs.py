"""Simple Cone Search 1.03 over a sandbox TAP table: RA/DEC/SR/VERB/MAXREC in, a UCD1-labelled VOTable out.

Each cone runs as ADQL (``CONTAINS``/``CIRCLE`` and ``DISTANCE``) on the table's own :class:`TapDatabase`,
so a cone search and a TAP query with the same circle return the same rows.  Errors are answered as the
real services do: HTTP 200 with ``<INFO name="Error" value="..."/>`` in the results RESOURCE (HEASARC's
shape).  ``__row`` stays in every verbosity when the table has it, so a DataLink descriptor can bind to it.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from xml.sax.saxutils import quoteattr

from aiohttp import web

from .adql import ADQLError
from .tapdb import TapDatabase
from .vo import VOTABLE_MIME, ServiceDescriptor, result_document

__all__ = ["ConeSearch", "ConeTable", "scs_error"]

#: SCS 1.03's UCD1 words for the three columns every answer must carry.
UCD_ID, UCD_RA, UCD_DEC = "ID_MAIN", "POS_EQ_RA_MAIN", "POS_EQ_DEC_MAIN"
OFFSET = "Search_Offset"  # HEASARC's distance column, in arcmin


@dataclass(frozen=True)
class ConeTable:
    """One table searchable by cone: its ADQL name, key and position columns, and its columns per VERB."""

    table: str
    id_column: str
    ra: str = "ra"
    dec: str = "dec"
    verb2: tuple[str, ...] = ()  # the default columns (VERB=2); VERB=1 is id, ra, dec; VERB=3 every column


def scs_error(message: str) -> web.Response:
    """An SCS error document (HTTP 200, as cone search services answer)."""
    body = (
        '<?xml version="1.0"?>\n<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">\n'
        f' <RESOURCE type="results">\n  <INFO name="Error" value={quoteattr(message)}/>\n </RESOURCE>\n</VOTABLE>\n'
    )
    return web.Response(text=body, content_type="text/xml")


class ConeSearch:
    """Answers SCS requests for the tables of one :class:`TapDatabase`."""

    def __init__(
        self,
        db: TapDatabase,
        *,
        default_maxrec: int = 100_000,
        max_radius: float = 180.0,
        descriptors: Callable[[ConeTable, str], list[ServiceDescriptor]] | None = None,
    ) -> None:
        self.db = db
        self.default_maxrec = default_maxrec
        self.max_radius = max_radius
        self.descriptors = descriptors

    async def answer(self, request: web.Request, cone: ConeTable) -> web.Response:
        """The VOTable for one request on ``cone`` (or an SCS error document)."""
        params = {k.upper(): v for k, v in request.query.items()}
        try:
            ra, dec, sr, verb, maxrec = self._parameters(params)
        except ValueError as err:
            return scs_error(str(err))
        adql = self.adql(cone, ra, dec, sr, verb)
        try:
            result = await asyncio.to_thread(self.db.execute, adql, maxrec=maxrec)
        except ADQLError as err:
            return scs_error(f"the cone search failed: {err}")
        names = [f.name for f in result.fields]
        ucds = {cone.id_column: UCD_ID, cone.ra: UCD_RA, cone.dec: UCD_DEC}
        fields = []
        for meta in result.fields:
            if meta.name in ucds:
                meta = replace(meta, ucd=ucds[meta.name])
            elif meta.name == OFFSET:
                meta = replace(meta, unit="arcmin", ucd="POS_ANG_DIST_GENERAL", description="Distance from the centre")
            elif meta.ucd in ("meta.id;meta.main", "pos.eq.ra;meta.main", "pos.eq.dec;meta.main"):
                meta = replace(meta, ucd="")  # exactly one column may carry each main UCD
            fields.append(meta)
        base = f"{request.scheme}://{request.host}"
        descriptors = self.descriptors(cone, base) if self.descriptors and "__row" in names else []
        body = result_document(fields, result.columns, overflow=result.overflow, descriptors=descriptors)
        return web.Response(body=body, content_type=VOTABLE_MIME)

    def _parameters(self, params: dict[str, str]) -> tuple[float, float, float, int, int]:
        values = []
        for name, low, high in (("RA", 0.0, 360.0), ("DEC", -90.0, 90.0), ("SR", 0.0, self.max_radius)):
            raw = params.get(name)
            if raw is None or not raw.strip():
                raise ValueError(f"Missing parameter: {name} is required (RA, DEC and SR in decimal degrees)")
            try:
                value = float(raw)
            except ValueError:
                raise ValueError(f"Invalid parameter: {name}={raw} is not a number of degrees") from None
            if not math.isfinite(value) or not low <= value <= high:
                raise ValueError(f"Invalid parameter: {name}={raw} is outside [{low:g}, {high:g}] degrees")
            values.append(value)
        verb_text = params.get("VERB", "2") or "2"
        if verb_text not in ("1", "2", "3"):
            raise ValueError(f"Invalid parameter: VERB={verb_text} must be 1, 2 or 3")
        maxrec_text = params.get("MAXREC", "")
        try:
            maxrec = int(maxrec_text) if maxrec_text else self.default_maxrec
        except ValueError:
            raise ValueError(f"Invalid parameter: MAXREC={maxrec_text} is not an integer") from None
        if maxrec < 0:
            raise ValueError("Invalid parameter: MAXREC must not be negative")
        return values[0], values[1], values[2], int(verb_text), maxrec

    def columns(self, cone: ConeTable, verb: int) -> list[str]:
        """The columns answered at verbosity ``verb`` (``__row`` always, when the table has it)."""
        every = [c.name for c in self.db.tables[cone.table.lower()].columns]
        if verb == 3:
            return every
        wanted = [cone.id_column, cone.ra, cone.dec] if verb == 1 else list(cone.verb2)
        if "__row" in every:
            wanted.insert(0, "__row")
        return [c for c in dict.fromkeys(wanted) if c in every]

    def adql(self, cone: ConeTable, ra: float, dec: float, sr: float, verb: int) -> str:
        """The ADQL of one cone, nearest first (SR=0 asks for the columns only)."""
        select = ", ".join(f'"{c}"' for c in self.columns(cone, verb))
        point = f'POINT(\'ICRS\', "{cone.ra}", "{cone.dec}")'
        offset = f"DISTANCE({point}, POINT('ICRS', {ra!r}, {dec!r})) * 60.0 AS \"{OFFSET}\""
        where = f"CONTAINS({point}, CIRCLE('ICRS', {ra!r}, {dec!r}, {sr!r})) = 1" if sr > 0 else "1 = 0"
        return f'SELECT {select}, {offset} FROM {cone.table} WHERE {where} ORDER BY "{OFFSET}"'
