"""The sandbox's package data: the CSV and TOML files under each archive's ``data/`` folder, read with
importlib.resources (so they work from a wheel, a zip or a source tree) when a shape is first loaded."""

from __future__ import annotations

import csv
import io
import sys
from importlib.resources import files
from typing import Any

from .protocols.vo import FieldMeta

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]  # installed on Python 3.10 only

__all__ = ["columns", "rows", "text", "toml"]


def text(package: str, name: str) -> str:
    """The text of ``data/<name>`` beside ``package``'s modules."""
    return files(package).joinpath("data").joinpath(name).read_text(encoding="utf-8")  # one part per call: 3.10


def rows(package: str, name: str) -> list[dict[str, str]]:
    """The rows of the CSV file ``data/<name>`` (a header line, then one line per row) as dicts of text."""
    return list(csv.DictReader(io.StringIO(text(package, name))))


def toml(package: str, name: str) -> dict[str, Any]:
    """The TOML file ``data/<name>`` as a dict."""
    return tomllib.loads(text(package, name))


def columns(package: str, name: str = "columns.csv") -> dict[str, tuple[FieldMeta, ...]]:
    """Column metadata by table from ``data/<name>`` (``table,name,datatype,unit,ucd,description``), in file order."""
    out: dict[str, list[FieldMeta]] = {}
    for row in rows(package, name):
        meta = FieldMeta(row["name"], row["datatype"], row["unit"], row["ucd"], row["description"])
        out.setdefault(row["table"], []).append(meta)
    return {table: tuple(metas) for table, metas in out.items()}
