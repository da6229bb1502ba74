"""Tables for a reader at a terminal: a sensible set of columns that fits the width; files get everything.

The observation table has dozens of columns (every mission adds its own) and the mission registry long
instrument lists, so printing them whole gives lines about 900 characters wide.  Here a table shows a
default set of columns (or those asked for with ``--columns``), drops what does not fit the terminal, cuts long
cells with an ellipsis and says, on standard error, what was left out and how to get it.  rich renders it: it
measures wide characters (CJK target names) correctly, which padding by ``len`` does not.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO, cast

from ..errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_COLUMNS", "choose_columns", "render"]

#: What a reader wants first, per kind of table (columns a table lacks are skipped).
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "observations": ("mission", "obs_id", "targets", "separation", "in_fov", "start", "duration", "instrument", "ra",
                     "dec", "proprietary_usable", "science_usable"),
    "missions": ("name", "pretty_name", "archive", "instruments", "default_instruments", "fov"),
}  # fmt: skip
CELL_WIDTH = 28  # characters a cell may take before it is cut with an ellipsis (a column may be narrower)


def kind_of(frame: pd.DataFrame) -> str | None:
    """Which :data:`DEFAULT_COLUMNS` applies to ``frame``, if any."""
    if {"mission", "obs_id"} <= set(frame.columns):
        return "observations"
    if {"name", "archive", "instruments"} <= set(frame.columns):
        return "missions"
    return None


def choose_columns(frame: pd.DataFrame, columns: str | Sequence[str] | None) -> list[str]:
    """The columns to show: ``columns`` as given (``"all"``: every one), else the default set of the table's
    kind, else every column.  An unknown name is an InputError listing the table's columns."""
    names = list(frame.columns)
    if isinstance(columns, str):
        if not columns.strip(" ,"):
            raise InputError("--columns: give column names, comma-separated (e.g. obs_id,start), or 'all'")
        columns = [c.strip() for c in columns.split(",") if c.strip()]
    if columns:
        if [c.lower() for c in columns] == ["all"]:
            return names
        unknown = [c for c in columns if c not in names]
        if unknown and frame.empty:
            return list(dict.fromkeys(columns))  # no rows to show them for: the file still gets those headers
        if unknown:
            raise InputError(f"--columns: no column {', '.join(map(repr, unknown))} in this table; it has "
                             f"{', '.join(names)} (or use --columns all)")  # fmt: skip
        return list(dict.fromkeys(columns))
    kind = kind_of(frame)
    if kind is None:
        return names
    return [c for c in DEFAULT_COLUMNS[kind] if c in names] or names


def terminal_width(stream: TextIO) -> int | None:
    """The width to fit, or None when ``stream`` is not a terminal and ``COLUMNS`` is not set (no limit)."""
    text = os.environ.get("COLUMNS", "").strip()
    if text.isascii() and text.isdigit():
        return max(40, int(text))
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        return max(40, shutil.get_terminal_size((100, 24)).columns)
    return None


#: Characters a server could use to move the cursor, retitle or clear the terminal, or reorder text (C0 and C1
#: controls, DEL, bidirectional overrides): shown as visible escapes, never sent to the terminal as they are.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """``text`` with every control or bidi character shown as its escape (``\\x1b``, ``\\u202e``)."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _cell(value: object) -> str:
    return visible(_plain(value))


def _plain(value: object) -> str:
    import pandas as pd

    # a cell of any type: pandas' own test of a missing scalar (None, NaN, NA, NaT)
    if value is None or (not isinstance(value, (list, dict, tuple)) and pd.isna(cast(Any, value))):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M:%S") if value.tzinfo is None else value.tz_convert("UTC").strftime(
            "%Y-%m-%d %H:%M:%S")  # fmt: skip
    if isinstance(value, pd.Timedelta):
        return f"{value.total_seconds():g} s"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v:g}" if isinstance(v, (int, float)) else f"{k} {v}" for k, v in value.items())
    return str(value)


def render(
    frame: pd.DataFrame,
    columns: str | Sequence[str] | None = None,
    *,
    stream: TextIO | None = None,
    notes: TextIO | None = None,
    fit: bool | int = True,
) -> list[str]:
    """Print ``frame`` to ``stream`` (standard output) as a table of :func:`choose_columns`, fitted (``fit``) to
    the terminal's width (none when ``stream`` is not a terminal), or to ``fit`` characters; returns the columns
    left out, which are also named on ``notes`` (standard error) with how to see them."""
    from rich import box
    from rich.cells import cell_len
    from rich.console import Console
    from rich.table import Table

    stream = stream or sys.stdout
    notes = notes or sys.stderr
    chosen = choose_columns(frame, columns)
    frame = frame.reindex(columns=list(dict.fromkeys([*frame.columns, *chosen])))  # named columns of an empty answer
    width = (terminal_width(stream) if fit is True else None) if isinstance(fit, bool) else max(40, int(fit))
    texts = {c: [_cell(v) for v in frame[c]] for c in chosen}
    cut = width is not None  # at a terminal, long cells are cut; elsewhere shown whole
    limit = CELL_WIDTH if cut else 10**9
    need = {c: max([cell_len(visible(str(c))), *(min(cell_len(t), limit) for t in texts[c])]) for c in chosen}
    asked = columns is not None  # columns named by the reader are all shown (cut narrower if need be)
    shown: list[str] = []
    used = 0
    for c in chosen:
        if not asked and not any(texts[c]):
            continue  # a default column empty in every row (Swift's instrument) says nothing
        if not asked and c == "targets" and len(set(texts[c])) <= 1:
            continue  # one target searched: the column repeats it on every row
        if not asked and width is not None and shown and used + need[c] + 3 > width:
            continue  # does not fit: a narrower one later in the reader's order may
        shown.append(c)
        used += need[c] + 3  # a column's padding and the gap to the next
    left_out = [c for c in frame.columns if c not in shown]
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for c in shown:
        numeric = frame[c].dtype.kind in "iuf"
        table.add_column(visible(str(c)), justify="right" if numeric else "left", no_wrap=True, overflow="ellipsis",
                         max_width=CELL_WIDTH if cut else None, min_width=min(need[c], 6))  # fmt: skip
    for i in range(len(frame)):
        table.add_row(*(texts[c][i] for c in shown))
    console = Console(file=io.StringIO(), width=width or used + 3 * len(shown) + 10, color_system=None, highlight=False,
                      soft_wrap=False, emoji=False, markup=False)  # fmt: skip
    with console.capture() as captured:
        console.print(table if len(frame) else "(no rows)")
    stream.write("\n".join(line.rstrip() for line in captured.get().splitlines()) + "\n")
    hidden = [c for c in chosen if c not in shown and any(texts[c])]  # the reader's columns that did not fit first
    ordered = hidden + [c for c in left_out if c not in hidden]
    if len(frame) and ((left_out and columns is None) or hidden):
        more = len(left_out)
        what = ", ".join(visible(str(c)) for c in ordered[:8]) + (", ..." if len(ordered) > 8 else "")
        rows = f"{len(frame)} row{'s' if len(frame) != 1 else ''}"
        print(f"({rows}; {more} more column{'s' if more != 1 else ''}: {what}. Choose with --columns a,b,c or "
              "--columns all; -o file.csv writes every column)", file=notes)  # fmt: skip
    return left_out
