"""Which columns a mission's table has, and what each holds, so a column filter is checked before it is sent:
an unknown column is refused naming close matches, a value of the wrong kind (text for a number) is refused
saying what to give.  The service's own list (``TAP_SCHEMA.columns``) is asked first; a service that does not
list the table leaves the columns the mission's spec knows.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from ..errors import InputError, ServiceError, UnknownColumnError
from ..specs.registry import MissionSpec
from . import adql
from .filters import Compare
from .tap import TapRunner

__all__ = ["TableColumns", "check", "from_frame_kinds", "from_service", "from_spec"]

log = logging.getLogger(__name__)

_KINDS = {
    "number": {"short", "int", "integer", "long", "bigint", "smallint", "float", "double", "real", "double precision",
               "numeric", "decimal", "unsignedbyte"},
    "text": {"char", "varchar", "unicodechar", "string", "text", "clob", "character"},
    "time": {"timestamp", "date", "datetime"},
    "boolean": {"boolean", "bool"},
}  # fmt: skip


@dataclass(frozen=True)
class TableColumns:
    """The columns of a table and what each holds (``number``, ``text``, ``time``, ``boolean``; ``""``: unknown)."""

    table: str
    kinds: Mapping[str, str]
    listed_by: str  # who said so: "the service", "the mission's spec", "the fetched table"


def kind_of_datatype(datatype: object) -> str:
    """A TAP/VOTable datatype (``double``, ``adql:VARCHAR``, ``char``) as the kind of value it holds."""
    name = str(datatype or "").strip().lower().removeprefix("adql:")
    return next((kind for kind, names in _KINDS.items() if name in names), "")


def from_service(runner: TapRunner, spec: MissionSpec) -> TableColumns:
    """The columns the service lists for the mission's table, or (when it lists none) those the spec knows."""
    query = (f"SELECT column_name, datatype FROM TAP_SCHEMA.columns "
             f"WHERE table_name = {adql.literal(spec.table)}")  # fmt: skip
    try:
        table = runner.run(query)
        names = [str(n.decode() if isinstance(n, bytes) else n).strip() for n in table["column_name"]]
        types = [t.decode() if isinstance(t, bytes) else t for t in table["datatype"]]
        kinds = {n: kind_of_datatype(t) for n, t in zip(names, types)}
    except (ServiceError, KeyError) as err:
        log.info("%s: TAP_SCHEMA.columns unavailable (%s); checking columns against the spec", spec.name, err)
        return from_spec(spec)
    if not kinds:
        log.info("%s: the service lists no columns for %s; checking columns against the spec", spec.name, spec.table)
        return from_spec(spec)
    return TableColumns(spec.table, kinds, "the service")


def from_spec(spec: MissionSpec) -> TableColumns:
    """The columns the mission's spec names (their kinds unknown)."""
    return TableColumns(spec.table, dict.fromkeys(spec.select_columns, ""), "the mission's spec")


def from_frame_kinds(table: str, kinds: Mapping[str, str]) -> TableColumns:
    """The columns of a table fetched whole, with the kinds read from its data."""
    return TableColumns(table, {str(k): ("" if v == "duration" else v) for k, v in kinds.items()}, "the fetched table")


def check(item: Compare, columns: TableColumns, mission: str) -> Compare:
    """``item`` with its column spelt as the table spells it; UnknownColumnError naming close matches when the table
    has no such column, InputError when the value is of another kind than the column's."""
    names = list(columns.kinds)
    found = item.column if item.column in columns.kinds else None
    if found is None:
        folded = [n for n in names if n.lower() == item.column.lower()]
        found = folded[0] if len(folded) == 1 else None
    if found is None:
        close = difflib.get_close_matches(item.column, names, n=3, cutoff=0.6)
        close += [n for n in names if item.column.lower() in n.lower() and n not in close][: 3 - len(close)]
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        raise UnknownColumnError(
            f"{mission}: its table {columns.table} has no column {item.column!r}; {hint}(columns listed by "
            f"{columns.listed_by}: {', '.join(sorted(names))})"
        )
    item = Compare(found, item.op, item.value)
    kind = columns.kinds[found]
    if kind and item.value is not None:
        for value in item.value if isinstance(item.value, tuple) else (item.value,):
            problem = _mismatch(kind, item.op, value)
            if problem:
                raise InputError(f"{mission}: {item.text()}: {found} holds {kind} values; {problem}")
    return item


def _mismatch(kind: str, op: str, value: object) -> str | None:
    """What is wrong with comparing a ``kind`` column to ``value``, or None."""
    if op in ("like", "not like") and kind != "text":
        return f"'{op}' matches text; compare with =, <, > or between"
    if kind == "number" and (isinstance(value, (str, bool))):
        return f"give a number, not {value!r}"
    if kind == "text" and not isinstance(value, str):
        return f"quote the value ('{value}'), as text"
    if kind == "boolean" and not (isinstance(value, bool) or value in (0, 1)):
        return f"give True or False, not {value!r}"
    if kind == "time" and not _iso(value):
        return f"give an ISO time such as '2015-01-01', not {value!r}"
    return None


def _iso(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
