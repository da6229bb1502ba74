"""ESAC's TAP+ flavour of TAP (the XSA's ``/tap-server/tap``): the VOSI tables document with ESA's attributes.

ESA's archives (XSA, Gaia, ...) run ESAC's TAP+, whose ``/tables`` is VODataService 1.1 with the
``esatapplus`` namespace (``http://esa.int/xml/EsaTapPlus``), as astroquery's TapPlus parser requires:

- ``<schema esatapplus:public="true">``;
- ``<table type="base_table" esatapplus:size="<rows>" esatapplus:size_bytes="<bytes>" esatapplus:flags="...">``
  (TapPlus reads ``size_bytes``);
- ``<column std="false" esatapplus:flags="..." esatapplus:ref="">`` (TapPlus reads every column's
  ``flags``; a column without it is a KeyError), with ``<flag>indexed</flag>``/``<flag>primary</flag>``.

Column flags as ESAC's documents use them (astroquery's captured Gaia tables document): 1 for the main
right ascension, 2 for the main declination, 16 for the main identifier, 0 otherwise; a table's flags
are 1 when it has a main position.  ``size_bytes`` is the sandbox's estimate (rows times a row width).
``?only_tables=true`` leaves the columns out and ``?tables=a,b`` keeps only those tables, as TAP+ does.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from aiohttp import web

from ...protocols.tap import TapService, _xml
from ...protocols.tapdb import TapTable
from ...protocols.vo import FieldMeta

__all__ = ["NAMESPACE", "EsacTapService", "column_flags"]

NAMESPACE = "http://esa.int/xml/EsaTapPlus"
_BYTES = {"double": 8, "long": 8, "int": 4, "boolean": 1, "timestamp": 8, "char": 24}


def column_flags(column: FieldMeta) -> int:
    """ESAC's ``esatapplus:flags`` of a column: 1 main RA, 2 main Dec, 16 main identifier, else 0."""
    words = set(column.ucd.lower().split(";"))
    if "meta.main" not in words:
        return 0
    if "pos.eq.ra" in words:
        return 1
    if "pos.eq.dec" in words:
        return 2
    if "meta.id" in words:
        return 16
    return 0


def _column_xml(column: FieldMeta) -> str:
    flags = column_flags(column)
    marks = ("<flag>indexed</flag><flag>primary</flag>" if flags in (1, 2) else "") + (
        "<flag>indexed</flag>" if flags == 16 else ""
    )
    if column.datatype == "timestamp":
        datatype = '<dataType xsi:type="vod:VOTableType" arraysize="*" extendedType="timestamp">char</dataType>'
    else:
        size = ' arraysize="*"' if column.datatype == "char" else ""
        datatype = f'<dataType xsi:type="vod:VOTableType"{size}>{column.datatype}</dataType>'
    return (
        f'<column std="false" esatapplus:flags="{flags}" esatapplus:ref="">'
        f"<name>{escape(column.name)}</name><description>{escape(column.description)}</description>"
        + (f"<unit>{escape(column.unit)}</unit>" if column.unit else "")
        + (f"<ucd>{escape(column.ucd)}</ucd>" if column.ucd else "")
        + datatype
        + marks
        + "</column>"
    )


class EsacTapService(TapService):
    """A TAP service whose VOSI tables document is ESAC TAP+'s."""

    def _size(self, table: TapTable) -> int:
        if table.view is not None or not table.columns:
            return 0
        first = table.data.get(table.columns[0].name)
        return 0 if first is None else len(first)

    async def tables(self, request: web.Request) -> web.Response:
        """ESAC's ``/tables``: ``esatapplus`` attributes; ``only_tables=true`` and ``tables=`` as TAP+ answers them."""
        only_tables = request.query.get("only_tables", "").lower() == "true"
        wanted = {t.strip().lower() for t in request.query.get("tables", "").split(",") if t.strip()}
        by_schema: dict[str, list[str]] = {}
        for table in self.db.tables.values():
            if wanted and table.qualified.lower() not in wanted:
                continue
            rows = self._size(table)
            width = sum(_BYTES.get(c.datatype, 8) for c in table.columns)
            positioned = {column_flags(c) for c in table.columns} >= {1, 2}
            columns = "" if only_tables else "".join(_column_xml(c) for c in table.columns)
            by_schema.setdefault(table.schema or "public", []).append(
                f'<table type="base_table" esatapplus:size="{rows}" esatapplus:size_bytes="{rows * width}" '
                f'esatapplus:flags="{int(positioned)}"><name>{escape(table.qualified)}</name>'
                f"<description>{escape(table.description)}</description>{columns}</table>"
            )
        body = "".join(
            f'<schema esatapplus:public="true"><name>{escape(s)}</name>{"".join(t)}</schema>'
            for s, t in by_schema.items()
        )
        return _xml(
            '<vod:tableset xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xmlns:vod="http://www.ivoa.net/xml/VODataService/v1.1" xsi:type="vod:TableSet" '
            f'xmlns:esatapplus="{NAMESPACE}">{body}</vod:tableset>'
        )
