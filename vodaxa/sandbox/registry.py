"""The sandbox's registry shape: a RegTAP service (:mod:`.protocols.regtap`) describing the archives it runs.

One resource per HEASARC table (``ivo://nasa.heasarc/<table>``: cone search, TAP as ``tap#aux``, DataLink),
the HEASARC TAP service itself (``ivo://nasa.heasarc/services/xamin``), the CDA (``ivo://cxc.harvard.edu/cda``:
TAP and cone search), ESO's ``ivo://eso.org/tap_obs`` (TAP, DataLink) and the XSA (``ivo://esavo/xsa/tap``,
an identifier the reference notes do not confirm).  Only archives the sandbox runs are listed.  The records are
data, each archive's ``data/registry.toml``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from . import datafiles
from .protocols.regtap import RegistryArchive, Resource
from .protocols.vo import FieldMeta
from .settings import ShapeContext
from .shapes import SHAPES

__all__ = ["DESCRIBED", "create", "resources"]

#: The archives with VO services, in the registry's order; each has its records in data/registry.toml.
DESCRIBED = ("heasarc", "cxc", "eso", "xsa")


def _record(archive: str, spec: Mapping[str, Any], tables: list[tuple[str, str, tuple[FieldMeta, ...]]]) -> Resource:
    """A :class:`Resource` of ``archive`` from its TOML table (its ``tables`` already resolved)."""
    return Resource(
        ivoid=spec["ivoid"], archive=archive, short_name=spec["short_name"], title=spec["title"],
        description=spec["description"], subjects=tuple(spec["subjects"]), waveband=spec["waveband"],
        publisher=spec["publisher"], capabilities=tuple(tuple(c) for c in spec["capabilities"]), tables=tuple(tables),
        reference_url=spec.get("reference_url", ""), details=tuple(tuple(d) for d in spec.get("details", ())),
    )  # fmt: skip


def _fill(value: Any, fields: Mapping[str, str]) -> Any:
    """``value`` (text, or lists and tables of text) with ``{name}`` and ``{description}`` filled in."""
    if isinstance(value, str):
        return value.format(**fields)
    if isinstance(value, list):
        return [_fill(v, fields) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, fields) for k, v in value.items()}
    return value


def _records(archive: str) -> list[Resource]:
    """Every record of ``archive``: its data/registry.toml, one per master table from ``[table]`` if given."""
    package = f"{__package__}.archives.{archive}"
    spec, columns = datafiles.toml(package, "registry.toml"), datafiles.columns(package)
    facts = datafiles.toml(package, "tables.toml") if "table" in spec else {}
    masters = [(name, fact["description"]) for name, fact in facts.items() if "key" in fact]  # not metainfo

    def tables(listed: Any) -> list[tuple[str, str, tuple[FieldMeta, ...]]]:
        """(name, description, columns) of the tables a record lists ("*": every master table)."""
        pairs = masters if listed == "*" else [(t["name"], t["description"]) for t in listed]
        return [(name, description, columns[name]) for name, description in pairs]

    out = []
    for name, description in masters:
        record = _fill(spec["table"], {"name": name, "description": description})
        out.append(_record(archive, record, tables(record["tables"])))
    return out + [_record(archive, r, tables(r.get("tables", []))) for r in spec.get("resource", ())]


def resources(archives: Iterable[str]) -> list[Resource]:
    """The records describing ``archives`` (those with VO services: HEASARC, CXC, ESO, XSA)."""
    running = set(archives)
    return [record for archive in DESCRIBED if archive in running for record in _records(archive)]


def create(context: ShapeContext) -> RegistryArchive:
    """The registry shape for a sandbox (``shapes.SHAPES`` entry point)."""
    return RegistryArchive(context, resources(context.config.archives or tuple(SHAPES)))
