"""eROSITA's observation tables, fetched from MPE at run time and cached: Cal-PV (EDR) and eRASS1-DE (DR1).

MPE publishes neither table as a database or VO service, so vodaxa reads what MPE does publish:

* ``calpv_table`` (:func:`calpv_observations`): the EDR observations web page, an HTML table per field
  category (Survey fields, Magellanic Clouds, Galactic fields, Extragalactic fields) giving each field's
  name, ObsIDs, pointing positions, observing mode and field tarball.  The page's layout is not a
  published format, so the reader matches columns by their headings and fails loudly (ServiceError)
  rather than guess.  The page lists Puppis A's ObsIDs as 700195; the data hold 700199 and 700200
  (a known erratum, corrected here as DAXA does).
* ``dr1_tiles`` (:func:`dr1_tiles`): the sky-tile definition file SKYMAPS_052022_MPE.fits (extension
  SMAPS: SRVMAP, OWNER, RA_MIN..DE_MAX, RA_CEN, DE_CEN, ELON/ELAT/GLON/GLAT_CEN, X_MIN, Y_MIN, N_NBRS,
  FIELD1..9).  Tiles whose OWNER is 2 (eROSITA-DE) or 0 (shared DE and RU) make up the DE release;
  any other owner (RU only) is dropped.

Neither source gives observation times, and the EDR page gives no active cameras: those live only in
the event-list headers (DATE-OBS, DATE-END, INSTRUMn), which is where DAXA took them from by hand.
So ``start``, ``end`` and ``duration`` are NaT/NaN and ``active_insts`` is None until files are read.

Columns of :func:`calpv_observations` (one row per ObsID): ``ObsID`` (6-digit text), ``ra``, ``dec``
(deg, the pointing or scan centre), ``start``, ``end``, ``duration`` (s), ``science_usable`` (True:
the EDR released usable data only), ``field_name`` (upper case, as DAXA names fields), ``field_type``
(SURVEY, GALACTIC_FIELDS, EXTRAGALACTIC_FIELDS, MAGELLANIC_CLOUDS), ``obs_mode`` (pointing or scan),
``download`` (the field tarball's URL), ``active_insts``.

Columns of :func:`dr1_tiles` (one row per DE sky tile): ``ObsID`` (tile id RRRDDD), ``ra``, ``dec``
(tile centre, deg), ``start``, ``end``, ``duration``, ``science_usable`` (True), ``owner`` (2 DE,
0 shared), ``ra_min``, ``ra_max``, ``dec_min``, ``dec_max`` (the tile's unique area, deg), ``glon``,
``glat`` (centre, deg), ``neigh_obs`` (comma-joined ids of the neighbouring tiles).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import numpy as np
import pandas as pd
import requests

from ... import net
from ...config import cache_dir, endpoints
from ...errors import ServiceError
from ...quiet import quiet

__all__ = [
    "CACHE_TTL",
    "CALPV_COLUMNS",
    "DE_OWNERS",
    "DR1_COLUMNS",
    "calpv_observations",
    "dr1_tiles",
    "parse_calpv_page",
    "parse_dr1_tiles",
]

#: How long a downloaded table is reused before it is fetched again.
CACHE_TTL = timedelta(days=30)
#: (connect, read) timeouts in seconds for the table downloads.
TIMEOUT = (10.0, 120.0)
#: OWNER codes of the sky-tile file that belong to the DE release: 2 DE only, 0 shared DE and RU.
DE_OWNERS = (0, 2)
#: The columns of :func:`calpv_observations`, in order.
CALPV_COLUMNS = (
    "ObsID", "ra", "dec", "start", "end", "duration", "science_usable",
    "field_name", "field_type", "obs_mode", "download", "active_insts",
)  # fmt: skip
#: The columns of :func:`dr1_tiles`, in order.
DR1_COLUMNS = (
    "ObsID", "ra", "dec", "start", "end", "duration", "science_usable", "owner",
    "ra_min", "ra_max", "dec_min", "dec_max", "glon", "glat", "neigh_obs",
)  # fmt: skip
#: ObsIDs the EDR page misprints -> the ObsIDs the data really carry.
_OBSID_ERRATA = {"700195": ("700199", "700200")}
_TARBALL = r"\.(tar\.gz|tgz|tar)$"
_TILE_COLUMNS = ("SRVMAP", "OWNER", "RA_MIN", "RA_MAX", "DE_MIN", "DE_MAX", "RA_CEN", "DE_CEN")


# ------------------------------------------------------------------------------------------- public API
def calpv_observations(
    *, refresh: bool = False, session: requests.Session | None = None, max_age: timedelta = CACHE_TTL
) -> pd.DataFrame:
    """Every EDR Cal-PV observation, one row per ObsID, read from MPE's EDR observations page (cached)."""
    return _table("calpv_table", parse_calpv_page, refresh=refresh, session=session, max_age=max_age)


def dr1_tiles(
    *, refresh: bool = False, session: requests.Session | None = None, max_age: timedelta = CACHE_TTL
) -> pd.DataFrame:
    """Every eRASS1 sky tile of the DE release (DR1), read from MPE's sky-tile definition file (cached)."""
    return _table("dr1_tiles", parse_dr1_tiles, refresh=refresh, session=session, max_age=max_age)


# ------------------------------------------------------------------------------------------- fetch + cache
def _table(
    service: str,
    parse: Callable[[bytes, str], pd.DataFrame],
    *,
    refresh: bool,
    session: requests.Session | None,
    max_age: timedelta,
) -> pd.DataFrame:
    """Parse the cached copy of a service's table if fresh, else download, parse, then cache it."""
    url = endpoints.get("erosita", service)
    path = _cache_path(url)
    if not refresh and _is_fresh(path, max_age):
        try:
            return parse(path.read_bytes(), url)
        except ServiceError:
            pass  # a damaged copy: fetch it afresh
    body = _download(url, session)
    frame = parse(body, url)  # raises before an error page could reach the cache
    _store(path, body)
    return frame


def _cache_path(url: str) -> Path:
    """Where the raw download of ``url`` is cached: a hash of the URL plus its file name."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:20]
    name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(urlsplit(url).path).name) or "index.html"
    return cache_dir("erosita") / f"{digest}-{name}"


def _is_fresh(path: Path, max_age: timedelta) -> bool:
    """True if the cached file exists and is younger than ``max_age``."""
    try:
        age = time.time() - path.stat().st_mtime
    except OSError:
        return False
    return age < max_age.total_seconds()


def _store(path: Path, body: bytes) -> None:
    """Write the cache file atomically, so a reader never sees half of it."""
    part = path.with_name(f"{path.name}.{os.getpid()}.part")
    part.write_bytes(body)
    os.replace(part, path)


def _download(url: str, session: requests.Session | None) -> bytes:
    """The body of a GET of ``url``; any failure is a ServiceError naming the URL and what came back."""
    client = session if session is not None else net.session(credentials=False)
    try:
        response = client.get(url, timeout=TIMEOUT)
    except requests.RequestException as err:
        raise ServiceError(f"{url}: no usable answer ({type(err).__name__}: {err})", url=url) from None
    if response.status_code != 200:
        raise ServiceError(
            f"{url} answered HTTP {response.status_code} with {_describe(response.content)}",
            url=url,
            status=response.status_code,
        )
    return response.content


def _describe(body: bytes) -> str:
    """A short account of a body that was not what we wanted (for error messages)."""
    text = body.lstrip()
    if not text:
        return "an empty body"
    if text.startswith(b"SIMPLE  ="):
        return f"a FITS file of {len(body)} bytes"
    if text.startswith(b"<"):
        title = re.search(rb"<title[^>]*>(.*?)</title>", text[:8192], re.IGNORECASE | re.DOTALL)
        if title:
            return f"an HTML page titled '{' '.join(title.group(1).decode(errors='replace').split())}'"
        return f"a markup document starting {text[:60].decode(errors='replace')!r}"
    return f"{len(body)} bytes starting {text[:40]!r}"


# ------------------------------------------------------------------------------------------- DR1 sky tiles
def parse_dr1_tiles(body: bytes, url: str) -> pd.DataFrame:
    """The DE tiles of a sky-tile definition FITS file, normalised; ServiceError if it is anything else."""
    data = _tile_records(body, url)
    owner = np.asarray(data["OWNER"], dtype=int)
    keep = np.isin(owner, DE_OWNERS)
    if not keep.any():
        raise ServiceError(f"{url}: the sky-tile file holds no eROSITA-DE tiles (OWNER 0 or 2)", url=url)
    n = int(keep.sum())

    def col(name: str) -> np.ndarray:
        return np.asarray(data[name], dtype=float)[keep] if name in data else np.full(n, np.nan)

    neighbours = [name for name in (f"FIELD{i}" for i in range(1, 10)) if name in data]
    fields = np.column_stack([np.asarray(data[c], dtype=np.int64)[keep] for c in neighbours])
    frame = pd.DataFrame(
        {
            "ObsID": [f"{int(t):06d}" for t in np.asarray(data["SRVMAP"])[keep]],
            "ra": col("RA_CEN"),
            "dec": col("DE_CEN"),
            "start": pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]"),
            "end": pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]"),
            "duration": np.full(n, np.nan),
            "science_usable": True,
            "owner": owner[keep],
            "ra_min": col("RA_MIN"),
            "ra_max": col("RA_MAX"),
            "dec_min": col("DE_MIN"),
            "dec_max": col("DE_MAX"),
            "glon": col("GLON_CEN"),
            "glat": col("GLAT_CEN"),
            "neigh_obs": [",".join(f"{int(t):06d}" for t in row if t > 0) for row in fields],
        }
    )
    return frame.loc[:, list(DR1_COLUMNS)]


def _tile_records(body: bytes, url: str) -> dict[str, np.ndarray]:
    """The columns of the sky-tile table in a FITS body, checked for completeness."""
    from astropy.io import fits  # heavy; only needed here

    if not body.startswith(b"SIMPLE  ="):
        raise ServiceError(f"{url} did not return the sky-tile FITS file; it sent {_describe(body)}", url=url)
    try:
        with quiet(), fits.open(io.BytesIO(body), memmap=False) as hdus:  # truncation warnings: the size check decides
            found = [h for h in hdus[1:] if isinstance(h, fits.BinTableHDU) and "SRVMAP" in h.columns.names]
            if not found:
                raise ServiceError(f"{url}: the FITS file has no sky-tile table (no SRVMAP column)", url=url)
            table = found[0]
            end = table.fileinfo()["datLoc"] + table.header["NAXIS1"] * table.header["NAXIS2"]
            if end > len(body):
                problem = f"the sky-tile file is truncated ({len(body)} of {end} bytes)"
                raise ServiceError(f"{url}: {problem}", url=url)
            records = {name: np.array(table.data[name]) for name in table.columns.names}
    except ServiceError:
        raise
    except (OSError, ValueError, TypeError, KeyError, IndexError) as err:
        raise ServiceError(f"{url}: the sky-tile FITS file cannot be read ({err})", url=url) from None
    missing = [c for c in _TILE_COLUMNS if c not in records]
    if missing:
        raise ServiceError(f"{url}: the sky-tile table lacks the columns {', '.join(missing)}", url=url)
    return records


# ------------------------------------------------------------------------------------------- EDR Cal-PV page
@dataclass
class _Cell:
    text: str = ""
    links: list[str] = field(default_factory=list)
    header: bool = False


@dataclass
class _HtmlTable:
    heading: str
    rows: list[list[_Cell]] = field(default_factory=list)


class _TableReader(HTMLParser):
    """Collects every HTML table (nested ones too) as rows of cells, with the heading above it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[_HtmlTable] = []
        self._heading: list[str] | None = None
        self._last_heading = ""
        self._table: _HtmlTable | None = None
        self._row: list[_Cell] | None = None
        self._cell: _Cell | None = None
        self._outer: list[tuple[_HtmlTable | None, list[_Cell] | None, _Cell | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = []
        elif tag == "table":
            self._outer.append((self._table, self._row, self._cell))
            self._table, self._row, self._cell = _HtmlTable(self._last_heading), None, None
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = _Cell(header=tag == "th")
        elif tag == "a" and self._cell is not None:
            self._cell.links += [v for k, v in attrs if k == "href" and v]
        elif tag == "br" and self._cell is not None:
            self._cell.text += " "

    def handle_endtag(self, tag: str) -> None:
        if re.fullmatch(r"h[1-6]", tag) and self._heading is not None:
            self._last_heading = " ".join("".join(self._heading).split())
            self._heading = None
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._cell.text = " ".join(self._cell.text.split())
            self._row.append(self._cell)
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            if self._row:
                self._table.rows.append(self._row)
            self._row = None
        elif tag == "table" and self._table is not None:
            self.tables.append(self._table)
            self._table, self._row, self._cell = self._outer.pop() if self._outer else (None, None, None)

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading.append(data)
        if self._cell is not None:
            self._cell.text += data


#: Column roles recognised by their heading, tried in this order for each heading cell.
_ROLES = (
    ("obsid", r"obs\w*\.?\s*id|^ids?$"),
    ("mode", r"mode|obs\w*\.?\s*type"),
    ("type", r"type|categor"),
    ("field", r"field|name|target"),
    ("ra", r"^r\.?\s*a\b|right\s*asc"),
    ("dec", r"^dec|declin"),
)
_FIELD_TYPES = (
    ("magellanic", "MAGELLANIC_CLOUDS"),
    ("extragalactic", "EXTRAGALACTIC_FIELDS"),
    ("galactic", "GALACTIC_FIELDS"),
    ("survey", "SURVEY"),
)


def parse_calpv_page(body: bytes, url: str) -> pd.DataFrame:
    """The Cal-PV observations listed on an EDR observations page, one row per ObsID, normalised."""
    reader = _TableReader()
    try:
        reader.feed(body.decode("utf-8", errors="replace"))
        reader.close()
    except (AssertionError, ValueError) as err:  # html.parser gives up on badly broken markup
        raise ServiceError(f"{url}: the page cannot be read as HTML ({err})", url=url) from None
    rows = [row for table in reader.tables for row in _observation_rows(table, url)]
    if not rows:
        raise ServiceError(
            f"{url}: no Cal-PV observation table (columns Obs. ID, R.A., Dec.) in {_describe(body)}", url=url
        )
    frame = pd.DataFrame(rows).drop_duplicates("ObsID", ignore_index=True)
    n = len(frame)
    frame["start"] = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    frame["end"] = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    frame["duration"] = np.nan
    frame["science_usable"] = True
    frame["active_insts"] = None
    return frame.loc[:, list(CALPV_COLUMNS)]


def _roles(header: list[_Cell]) -> dict[str, int]:
    """Which column holds which role, from the header row's texts (first match wins)."""
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        text = cell.text.lower()
        for role, pattern in _ROLES:
            if role not in found and re.search(pattern, text):
                found[role] = index
                break
    return found


def _observation_rows(table: _HtmlTable, url: str) -> list[dict[str, object]]:
    """One record per ObsID from a table, or none if the table is not an observation list."""
    needed = {"obsid", "ra", "dec"}
    top = next((i for i, row in enumerate(table.rows[:5]) if needed <= _roles(row).keys()), None)
    if top is None:
        return []
    roles = _roles(table.rows[top])
    context = " ".join(c.text for row in table.rows[:top] for c in row) or table.heading
    out: list[dict[str, object]] = []
    for cells in table.rows[top + 1 :]:
        if len(cells) <= max(roles.values()):
            text = " ".join(c.text for c in cells)
            if any(key in text.lower() for key, _ in _FIELD_TYPES):
                context = text  # a category row inside the table, e.g. "Galactic fields"
            continue
        obsids = re.findall(r"(?<!\d)\d{6}(?!\d)", cells[roles["obsid"]].text)
        if obsids:
            out += _row_records(cells, roles, obsids, context, url)
    return out


def _row_records(
    cells: list[_Cell], roles: dict[str, int], obsids: list[str], context: str, url: str
) -> list[dict[str, object]]:
    """The records of one table row (a field), one per ObsID, misprinted ObsIDs corrected."""
    n = len(obsids)
    ras = _per_obs(_angles(cells[roles["ra"]].text, hours=True, url=url), n, "R.A.", url)
    decs = _per_obs(_angles(cells[roles["dec"]].text, hours=False, url=url), n, "Dec.", url)
    modes = _per_obs(_modes(cells[roles["mode"]].text) if "mode" in roles else [None], n, "mode", url)
    tarball = next((link for c in cells for link in c.links if re.search(_TARBALL, link)), "")
    name = (cells[roles["field"]].text if "field" in roles else "") or Path(urlsplit(tarball).path).name
    common = {
        "field_name": re.sub(r"\s+", "_", re.sub(_TARBALL, "", name).strip()).upper(),
        "field_type": _field_type(cells[roles["type"]].text if "type" in roles else context),
        "download": urljoin(url, tarball) if tarball else None,
    }
    return [
        {"ObsID": real, "ra": ra, "dec": dec, "obs_mode": mode, **common}
        for obsid, ra, dec, mode in zip(obsids, ras, decs, modes)
        for real in _OBSID_ERRATA.get(obsid, (obsid,))
    ]


def _angles(text: str, *, hours: bool, url: str) -> list[float]:
    """Angles in degrees from a cell holding one or more (decimal or sexagesimal) values."""
    pieces = [p.strip() for p in re.split(r"[,;]", text) if p.strip()]
    if len(pieces) == 1 and all(re.fullmatch(r"[-+]?\d+\.\d*", p) for p in pieces[0].split()):
        pieces = pieces[0].split()  # decimal values separated by spaces only (not "08 42 30")
    values = []
    for piece in pieces:
        try:
            values.append(float(piece))
        except ValueError:
            values.append(_sexagesimal(piece, hours=hours, url=url))
    return values


def _sexagesimal(text: str, *, hours: bool, url: str) -> float:
    """Degrees from a sexagesimal angle (hours for R.A. when written with h or colons)."""
    from astropy.coordinates import Angle

    unit = "hourangle" if hours and re.search(r"[h:]|\d\s+\d", text) else "deg"
    try:
        return float(Angle(text, unit=unit).degree)
    except (ValueError, TypeError):
        raise ServiceError(f"{url}: '{text}' is not an angle", url=url) from None


def _modes(text: str) -> list[str | None]:
    """Observing modes (pointing or scan) from a cell of letters or words."""
    names = {"p": "pointing", "s": "scan", "f": "scan"}
    return [names.get(word[0].lower()) for word in re.findall(r"[A-Za-z]+", text)] or [None]


def _per_obs(values: list, n: int, what: str, url: str) -> list:
    """``values`` matched to ``n`` ObsIDs: one each, or one shared by all."""
    if len(values) == n:
        return values
    if len(values) == 1:
        return values * n
    raise ServiceError(f"{url}: a row lists {n} ObsIDs but {len(values)} {what} values", url=url)


def _field_type(text: str) -> str:
    """DAXA's field category for a heading or type cell (the first keyword found wins)."""
    low = text.lower()
    for key, kind in _FIELD_TYPES:
        if key in low:
            return kind
    return re.sub(r"\W+", "_", text.strip()).upper() or "UNKNOWN"
