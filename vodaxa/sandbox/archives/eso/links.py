"""ESO's resolution services for the sandbox: DataLink, calSelector and the dataportal.

URL layout as at archive.eso.org / dataportal.eso.org, all on the ESO shape's one origin:

* ``/datalink/links?ID=ivo://eso.org/ID?<dp_id>`` (GET or POST, repeated ``ID``, capped with OVERFLOW):
  for a raw frame the rows ESO gives (``#this``, ``eso#calSelector_raw2raw``, ``eso#calSelector_raw2master``,
  ``eso#night_log``) with ESO's extra columns ``eso_origfile``, ``eso_category`` and ``eso_datalink``;
  for a Phase 3 product ``#this`` and ``#preview``.  ``&eso_download=file`` returns the file itself.
* ``/calselector/v1/associations`` (GET or POST; ``dp_id`` repeated, ``mode`` Raw2Raw or Raw2Master,
  ``responseformat=votable`` or the XML association tree; several trees come as ``multipart/form-data``;
  ``SandboxConfig(calselector_trees=True)`` answers trees even to ``responseformat=votable``).
* ``/dataPortal/file/<dp_id>``: raw frames as Unix-compressed ``.fits.Z``, master calibrations and products
  as ``.fits``, ``<dp_id>.NL`` the night log; ESO's ``Content-Disposition``, with ETag and Range.

Calibrations are not rows of ``dbo.raw``: each (instrument, night) has its own deterministic set of raw
calibration frames and master calibrations (``M.<INSTRUMENT>.<timestamp>``), derived from the pair alone, so
any such dp_id can be checked and served without listing them all.  What a night's cascade looks like is
:func:`cascade_kind`: complete, incomplete (no standard star), uncertified, or without master calibrations
(a Raw2Master request then falls back to Raw2Raw, as ESO does).  Files are written on first use into a
cache directory keyed by the data, each atomically.  Frames still proprietary need their owner's Bearer
token (:meth:`EsoLinks.authorized`, :mod:`.auth`): without it DataLink gives an error row, calSelector
refuses the dp_id and the dataportal sends its HTML login page with status 200; a token that is expired or
not the sandbox's is a 401 everywhere but the dataportal, which treats it as none.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any, NamedTuple
from xml.sax.saxutils import quoteattr

import numpy as np
from aiohttp import web

from vodaxa import lzw

from ....resolvers.datalink import LinkRow as Link
from ... import datafiles
from ...protocols.datalink import LinksEndpoint, request_ids
from ...protocols.files import serve_file
from ...protocols.vo import DATALINK_MIME, FieldMeta, links_document
from ...settings import ShapeContext
from ...synth.fitsgen import Card, primary_hdu
from .auth import EsoAuth, login_page
from .catalog import INSTRUMENTS, IVO_ID, Instrument

__all__ = [
    "CALSELECTOR_FIELDS",
    "DATALINK_EXTRA_FIELDS",
    "ESO_SEMANTICS",
    "KINDS",
    "Association",
    "EsoLinks",
    "cascade_kind",
    "night_of",
]

#: ESO's own DataLink vocabulary (semantics outside the IVOA core terms).
ESO_SEMANTICS = "http://archive.eso.org/rdf/datalink/eso#"
RAW2RAW = f"{ESO_SEMANTICS}calSelector_raw2raw"
RAW2MASTER = f"{ESO_SEMANTICS}calSelector_raw2master"
NIGHT_LOG = f"{ESO_SEMANTICS}night_log"
SIBLING_RAW = f"{ESO_SEMANTICS}sibling_raw"
#: What the cascades of one (instrument, night) look like; see :func:`cascade_kind`.
KINDS = ("complete", "incomplete", "uncertified", "no_masters")
FILES_VERSION = 1  # bump when generated file contents change (the cache directory is keyed by it)
CALSELECTOR_MIME = "application/xml; content=calselector"
_MJD_UNIX = 40587.0
_MS_PER_DAY = 86_400_000.0
_DISPOSITION = web.RequestKey("vodaxa_eso_disposition", str)

_ORIGFILE = FieldMeta("eso_origfile", "char", ucd="meta.id;meta.file", description="Name of the file as delivered")
_CATEGORY = FieldMeta("eso_category", "char", ucd="meta.code.class", description="ESO category of the file")
_DATALINK = FieldMeta("eso_datalink", "char", ucd="meta.ref.url", description="DataLink URL of the file")
LINK_FIELDS = (_ORIGFILE, _CATEGORY, _DATALINK)  # ESO's own columns of its DataLink answers, in its order
#: ESO's extra columns of a ``links`` answer, after the standard ones.
DATALINK_EXTRA_FIELDS: tuple[FieldMeta, ...] = (_ORIGFILE, _CATEGORY, _DATALINK)
#: ESO's extra columns of a calSelector VOTable.
CALSELECTOR_FIELDS: tuple[FieldMeta, ...] = (_CATEGORY, _DATALINK)

# Order-of-magnitude sizes ESO puts on links to services and night logs (it does not compute them).
_SERVICE_SIZE, _NIGHT_LOG_SIZE, _TREE_SIZE = 500_000, 10_000, 1_000_000


# ------------------------------------------------------------------------------------- dp_ids and time


def _ms(mjd: float) -> int:
    """Milliseconds since 1970 of an MJD."""
    return round((mjd - _MJD_UNIX) * _MS_PER_DAY)


def _iso(ms: int) -> str:
    """ESO's timestamp of a dp_id, to the millisecond (``2021-01-02T00:59:12.533``)."""
    return str(np.datetime64(int(ms), "ms"))


def _mjd_of(iso: str) -> float | None:
    """MJD of a dp_id timestamp, or None when it is not one."""
    if len(iso) != 23 or iso[10] != "T":
        return None
    try:
        ms = np.datetime64(iso, "ms").astype(np.int64)
    except ValueError:
        return None
    return _MJD_UNIX + int(ms) / _MS_PER_DAY


def night_of(mjd: float) -> int:
    """The night (MJD of its evening) a frame belongs to: Chilean nights run from 23:00 to 10:00 UT."""
    return math.floor(mjd - 0.5)


_BY_PREFIX: dict[str, Instrument] = {i.prefix: i for i in INSTRUMENTS}
_BY_NAME: dict[str, Instrument] = {i.name: i for i in INSTRUMENTS}
_TAGS = {"IMAGE": "IMG", "SPECTRUM": "LSS", "MOS": "MOS", "ECHELLE": "ECH", "IFU": "IFU"}


def _tag(tech: str | None) -> str:
    """Short technique tag of a dp_tech (``IMAGE,JITTER`` -> ``IMG``), as in ESO's cascade categories."""
    return _TAGS.get(str(tech or "").split(",")[0], "IMG")


# ------------------------------------------------------------------------------------- calibration plan


class Role(NamedTuple):
    """One kind of calibration in a cascade: its categories, frames per night and when they are taken."""

    association: str  # category of its <association>
    file: str  # category of its raw frames
    master: str  # category of the master calibration made from them
    frames: int  # raw frames per night (the CSV's count)
    start: float  # first frame, days after the night's MJD (all within [0.5, 1.5): night_of() holds)
    needs: tuple[str, ...] = ()  # roles it is itself reduced with


#: Calibration type -> its role in a cascade, from data/calibration_roles.csv.
_ROLES: dict[str, Role] = {
    r["type"]: Role(r["association"], r["file"], r["master"], int(r["count"]), float(r["start"]),
                    tuple(r["needs"].split("|")) if r["needs"] else ())
    for r in datafiles.rows(__package__, "calibration_roles.csv")
}  # fmt: skip


def _plan(inst: Instrument, tag: str) -> dict[str, str]:
    """Role -> calibration type (a key of _ROLES) that science frames of ``tag`` need, in cascade order."""
    plan = {"detector": "BIAS" if "BIAS" in inst.calibs else "DARK"}
    if tag == "IMG":
        plan["flat"] = "FLAT,SKY" if "FLAT,SKY" in inst.calibs else "FLAT,LAMP"
    else:
        plan["flat"] = "FLAT,LAMP"
        if "WAVE,LAMP" in inst.calibs:
            plan["arc"] = "WAVE,LAMP"
    plan["std"] = "STD"
    return plan


def _instrument_tags(inst: Instrument) -> list[str]:
    """The technique tags of an instrument's setups, in order."""
    return list(dict.fromkeys(_tag(s.tech) for s in inst.setups))


def _categories(role: str, key: str, tag: str) -> tuple[str, str, str]:
    """(association, raw file, master) categories of a role; detector calibrations carry no tag."""
    spec = _ROLES[key]
    if role == "detector":
        return spec.association, spec.file, spec.master
    master = "PHOT_TABLE" if key == "STD" and tag == "IMG" else spec.master
    return f"{spec.association}_{tag}", f"{spec.file}_{tag}", f"{master}_{tag}"


def cascade_kind(dp_id: str) -> str:
    """How the cascade of a raw frame's (instrument, night) looks: one of :data:`KINDS`, from the dp_id alone.

    ``incomplete``: no standard star that night; ``uncertified``: calibrations not yet certified;
    ``no_masters``: no master calibrations, so Raw2Master falls back to Raw2Raw.
    """
    prefix, _, stamp = dp_id.partition(".")
    mjd = _mjd_of(stamp)
    inst = _BY_PREFIX.get(prefix)
    if mjd is None or inst is None:
        raise ValueError(f"{dp_id} is not a raw frame identifier")
    return _kind(inst.name, night_of(mjd))


def _kind(instrument: str, night: int) -> str:
    """The cascade kind of one (instrument, night): about 60% complete, 10% incomplete, 10% uncertified."""
    draw = zlib.crc32(f"{instrument}|{night}".encode()) % 10
    return {0: "incomplete", 1: "uncertified", 2: "no_masters", 3: "no_masters"}.get(draw, "complete")


@dataclass(frozen=True)
class CalFrame:
    """A calibration file of one night: a raw frame (``<prefix>.<time>``) or a master (``M.<name>.<time>``)."""

    dp_id: str
    instrument: str
    night: int
    key: str  # calibration type, a key of _ROLES
    tag: str
    category: str
    mjd: float
    master: bool = False


@dataclass(frozen=True)
class Night:
    """The calibrations of one instrument in one night: raw frames and masters per (tag, role)."""

    kind: str
    raw: dict[tuple[str, str], tuple[CalFrame, ...]]
    masters: dict[tuple[str, str], CalFrame]
    by_id: dict[str, CalFrame]


def _slot(role: str, tag: str) -> tuple[str, str]:
    """Where a role's frames are filed in a Night: detector calibrations are shared by every tag."""
    return ("", role) if role == "detector" else (tag, role)


@lru_cache(maxsize=4096)
def night_calibrations(instrument: str, night: int) -> Night:
    """The deterministic calibration set of ``instrument`` for ``night`` (from the pair alone)."""
    inst = _BY_NAME[instrument]
    kind = _kind(instrument, night)
    rng = np.random.default_rng(zlib.crc32(f"calibrations|{instrument}|{night}".encode()))
    raw: dict[tuple[str, str], tuple[CalFrame, ...]] = {}
    for slot_index, tag in enumerate(_instrument_tags(inst)):
        for role, key in _plan(inst, tag).items():
            slot = _slot(role, tag)
            if slot in raw or (role == "std" and kind == "incomplete"):
                continue
            start = night + _ROLES[key].start + 0.003 * (0 if role == "detector" else slot_index)
            first = _ms(start + rng.uniform(0.0, 0.0015))
            steps = np.cumsum(rng.integers(21_000, 26_000, _ROLES[key].frames)) - 21_000
            category = _categories(role, key, tag)[1]
            raw[slot] = tuple(
                CalFrame(f"{inst.prefix}.{_iso(first + int(s))}", instrument, night, key, tag, category,
                         _MJD_UNIX + (first + int(s)) / _MS_PER_DAY)
                for s in steps
            )  # fmt: skip
    masters: dict[tuple[str, str], CalFrame] = {}
    if kind != "no_masters":
        for n, ((tag, role), frames) in enumerate(raw.items()):
            ms = _ms(night + 1.55 + 0.002 * n + rng.uniform(0.0, 0.001))
            category = _categories(role, frames[0].key, tag)[2]
            dp_id = f"M.{instrument}.{_iso(ms)}"
            masters[(tag, role)] = CalFrame(
                dp_id, instrument, night, frames[0].key, tag, category, _MJD_UNIX + ms / _MS_PER_DAY, master=True
            )
    by_id = {f.dp_id: f for frames in raw.values() for f in frames} | {m.dp_id: m for m in masters.values()}
    return Night(kind, raw, masters, by_id)


def calibration_frame(dp_id: str) -> CalFrame | None:
    """The generated calibration (raw or master) called ``dp_id``, or None."""
    head, _, rest = dp_id.partition(".")
    if head == "M":
        name, _, stamp = rest.partition(".")
        mjd = _mjd_of(stamp)
        if name not in _BY_NAME or mjd is None:
            return None
        return night_calibrations(name, math.floor(mjd) - 1).by_id.get(dp_id)
    inst, mjd = _BY_PREFIX.get(head), _mjd_of(rest)
    if inst is None or mjd is None:
        return None
    return night_calibrations(inst.name, night_of(mjd)).by_id.get(dp_id)


# ------------------------------------------------------------------------------------- association trees


@dataclass
class Association:
    """One ``<association>`` of a calSelector tree: main files, messages and nested associations."""

    category: str
    files: list[tuple[str, str]]  # (category, dp_id)
    certified: bool
    complete: bool
    messages: list[str] = field(default_factory=list)
    children: list[Association] = field(default_factory=list)
    match: str | None = None  # inner associations: how the calibration was matched
    mode: str | None = None  # the top association: the mode executed

    def all_files(self) -> Iterable[tuple[str, str]]:
        """Every (category, dp_id) in the tree, depth first, repeats included."""
        yield from self.files
        for child in self.children:
            yield from child.all_files()

    def all_messages(self) -> list[str]:
        """Every message in the tree, each once."""
        found = list(self.messages)
        for child in self.children:
            found += child.all_messages()
        return list(dict.fromkeys(found))


def _calibration(night: Night, inst: Instrument, tag: str, role: str, certified: bool) -> Association:
    """The raw-calibration association of ``role``, nesting what its own reduction needs."""
    plan = _plan(inst, tag)
    key = plan[role]
    assoc_category, _, _ = _categories(role, key, tag)
    frames = night.raw.get(_slot(role, tag), ())
    if not frames:
        message = f"No {assoc_category} calibration matching the calibration plan was found"
        return Association(assoc_category, [], certified, False, [message], match="calib_plan")
    children = [_calibration(night, inst, tag, need, certified) for need in _ROLES[key].needs if need in plan]
    files = [(f.category, f.dp_id) for f in frames]
    complete = all(c.complete for c in children)
    return Association(assoc_category, files, certified, complete, children=children, match="calib_plan")


def _master(night: Night, inst: Instrument, tag: str, role: str, certified: bool) -> Association:
    """The master-calibration association of ``role`` (Raw2Master cascades name no raw calibrations)."""
    key = _plan(inst, tag)[role]
    _, _, master_category = _categories(role, key, tag)
    master = night.masters.get(_slot(role, tag))
    if master is None:
        message = f"No {master_category} master calibration matching the calibration plan was found"
        return Association(master_category, [], certified, False, [message], match="calib_plan")
    return Association(master_category, [(master.category, master.dp_id)], certified, True, match="calib_plan")


@dataclass(frozen=True)
class Science:
    """What calSelector needs of an input raw frame."""

    dp_id: str
    instrument: str
    tech: str | None
    category: str  # dp_cat: SCIENCE, CALIB, ACQUISITION
    mjd: float
    siblings: tuple[str, ...] = ()


def cascade(frame: Science, mode: str) -> Association:
    """The calSelector association tree of ``frame`` for ``mode`` (Raw2Raw or Raw2Master), as ESO builds it."""
    tag = _tag(frame.tech)
    main = [(f"SCIENCE_{tag}", d) for d in (frame.dp_id, *frame.siblings)]
    if frame.category != "SCIENCE":
        message = f"{frame.dp_id} is not a science frame: calibrations are associated with science frames only"
        return Association(frame.category, [(frame.category, frame.dp_id)], True, False, [message], mode=mode)
    inst = _BY_NAME[frame.instrument]
    night = night_calibrations(frame.instrument, night_of(frame.mjd))
    certified = night.kind != "uncertified"
    executed = "Raw2Raw" if mode == "Raw2Master" and not night.masters else mode
    build = _master if executed == "Raw2Master" else _calibration
    children = [build(night, inst, tag, role, certified) for role in _plan(inst, tag)]
    complete = all(c.complete for c in children)
    top = Association(f"SCI_{tag}", main, certified, complete, children=children, mode=executed)
    top.messages = [m for c in children for m in c.all_messages()]
    return top


def tree_xml(top: Association) -> bytes:
    """The association tree as calSelector writes it (XML, four-space indentation)."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>']
    _association_lines(top, 0, lines)
    return ("\n".join(lines) + "\n").encode()


def _association_lines(assoc: Association, depth: int, out: list[str]) -> None:
    """Append the lines of one ``<association>`` (and its nested ones) at ``depth``."""
    pad, inner = "    " * depth, "    " * (depth + 1)
    attrs = [
        ("category", assoc.category),
        ("certified", "true" if assoc.certified else "false"),
        ("complete", "true" if assoc.complete else "false"),
    ]
    attrs += [("match", assoc.match)] if assoc.match else []
    attrs += [("mode", assoc.mode)] if assoc.mode else []
    attrs.append(("type", "main"))
    out.append(f"{pad}<association {' '.join(f'{k}={quoteattr(v)}' for k, v in attrs)}>")
    if assoc.files:
        out.append(f"{inner}<mainFiles>")
        out += [f"{inner}    <file category={quoteattr(c)} name={quoteattr(n)}/>" for c, n in assoc.files]
        out.append(f"{inner}</mainFiles>")
    else:
        out.append(f"{inner}<mainFiles/>")
    if assoc.messages:
        out.append(f"{inner}<messages>")
        out += [f"{inner}    <message>{escape(m, quote=False)}</message>" for m in assoc.messages]
        out.append(f"{inner}</messages>")
    else:
        out.append(f"{inner}<messages/>")
    if assoc.children:
        out.append(f"{inner}<associatedFiles>")
        for child in assoc.children:
            _association_lines(child, depth + 2, out)
        out.append(f"{inner}</associatedFiles>")
    else:
        out.append(f"{inner}<associatedFiles/>")
    out.append(f"{pad}</association>")


def summary(top: Association) -> str:
    """The cascade summary ESO puts in the ``#this`` description of a calSelector VOTable."""
    return (
        f'category="{top.category}" certified="{str(top.certified).lower()}" '
        f'complete="{str(top.complete).lower()}" mode="{top.mode}" type="main" '
        f'messages="{"; ".join(top.all_messages())}"'
    )


def multipart(parts: Sequence[tuple[str, bytes]]) -> tuple[str, bytes]:
    """(boundary, body) of a ``multipart/form-data`` answer with one attached XML tree per (filename, bytes)."""
    digest = hashlib.sha256("\0".join(name for name, _ in parts).encode()).digest()
    boundary = "".join(f"{b:02x}" for b in digest)[:36]  # deterministic, never in the XML
    body = b""
    for name, data in parts:
        head = (
            f'--{boundary}\r\nContent-Disposition: attachment; filename="{name}"\r\n'
            f"Content-Type: application/xml;content=calselector\r\nContent-Length: {len(data)}\r\n\r\n"
        )
        body += head.encode() + data + b"\r\n"
    return boundary, body + f"--{boundary}--\r\n".encode()


# ------------------------------------------------------------------------------------- synthetic files


@dataclass(frozen=True)
class FitsMeta:
    """What a generated FITS file says about itself."""

    dp_id: str
    instrument: str
    telescope: str
    mjd: float
    exptime: float
    object: str
    catg: str  # DPR CATG of raw frames, PRO CATG of masters and products
    type: str
    tech: str
    ra: float | None = None
    dec: float | None = None
    origfile: str = ""
    processed: bool = False  # masters and products: a float image with PRO keywords


def fits_bytes(meta: FitsMeta) -> bytes:
    """A small deterministic FITS file (32x32 image, valid checksums) for ``meta``."""
    rng = np.random.default_rng(zlib.crc32(meta.dp_id.encode()))
    image = rng.normal(200.0, 5.0, (32, 32))
    if meta.ra is not None:  # something on the sky: a star
        y, x = np.mgrid[0:32, 0:32]
        cx, cy = rng.uniform(10, 22, 2)
        image += rng.uniform(200, 3000) * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 4.5)
    keys: list[Card] = [
        ("ORIGIN", "ESO", "European Southern Observatory"),
        ("TELESCOP", meta.telescope, "ESO telescope designation"),
        ("INSTRUME", meta.instrument, "Instrument used"),
        ("OBJECT", meta.object[:60], "Original target"),
    ]
    if meta.ra is not None and meta.dec is not None:
        keys += [("RA", round(meta.ra, 6), "[deg] pointing"), ("DEC", round(meta.dec, 6), "[deg] pointing")]
    keys += [
        ("EXPTIME", round(meta.exptime, 4), "[s] Integration time"),
        ("MJD-OBS", round(meta.mjd, 8), "Observation start"),
        ("DATE-OBS", _iso(_ms(meta.mjd)), "Observing date"),
        ("ARCFILE", f"{meta.dp_id}.fits", "Archive file name"),
        ("ORIGFILE", meta.origfile or f"{meta.dp_id}.fits", "Original file name"),
    ]
    if meta.processed:
        keys += [("HIERARCH ESO PRO CATG", meta.catg, "Category of the product"), ("PRODCATG", meta.type, "")]
        return primary_hdu(keys, image.astype(np.float32))
    keys += [
        ("HIERARCH ESO DPR CATG", meta.catg, "Observation category"),
        ("HIERARCH ESO DPR TYPE", meta.type, "Observation type"),
        ("HIERARCH ESO DPR TECH", meta.tech, "Observation technique"),
    ]
    return primary_hdu(keys, np.clip(np.round(image), 0, 32767).astype(np.int16))


def night_log_text(inst: Instrument, night: int) -> bytes:
    """A deterministic night log of ``inst`` for ``night``: ambient conditions hour by hour, and remarks."""
    rng = np.random.default_rng(zlib.crc32(f"nightlog|{inst.name}|{night}".encode()))
    date = _iso(_ms(night))[:10]
    lines = [
        f"ESO NIGHT LOG  {inst.telescope}  {inst.name}  night starting {date}",
        "(synthetic night log of the vodaxa sandbox)",
        "",
        "UT     seeing  transparency  humidity  remarks",
    ]
    for hour in range(11):
        seeing = float(np.clip(rng.lognormal(np.log(0.8), 0.3), 0.3, 2.5))
        sky = str(rng.choice(["PHO", "CLR", "THN", "THK"], p=[0.55, 0.3, 0.1, 0.05]))
        remark = "technical problem, exposure repeated" if rng.random() < 0.04 else ""
        lines.append(f"{(23 + hour) % 24:02d}:00  {seeing:6.2f}  {sky:<12}  {rng.uniform(2, 40):7.1f}%  {remark}")
    return ("\n".join(lines) + "\n").encode()


class FileStore:
    """Generated files in one cache directory, each written once on first use, atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def ensure(self, name: str, render: Callable[[], bytes]) -> Path:
        """The path of file ``name``, rendered and renamed into place first if it does not exist yet."""
        path = self.root / name
        if path.exists():
            return path
        data = render()
        with self._lock:
            if not path.exists():
                fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=self.root)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.chmod(tmp, 0o644)
                os.replace(tmp, path)
        return path


# ------------------------------------------------------------------------------------- datasets


@dataclass(frozen=True)
class Dataset:
    """Something the dataportal serves: a raw frame, a generated calibration, a master or a product."""

    dp_id: str
    kind: str  # "raw" (dbo.raw), "calib" (generated raw calibration), "master", "product" (ivoa.ObsCore)
    meta: FitsMeta
    night: int | None = None  # raw frames: the night whose log applies
    index: int | None = None  # row in dbo.raw or ivoa.ObsCore

    @property
    def filename(self) -> str:
        """The delivered file name: raw frames come Unix-compressed, processed files as plain FITS."""
        return f"{self.dp_id}.fits.Z" if self.kind in ("raw", "calib") else f"{self.dp_id}.fits"

    def render(self) -> bytes:
        """The delivered bytes."""
        data = fits_bytes(self.meta)
        return lzw.compress(data) if self.kind in ("raw", "calib") else data


def _value(column: np.ndarray, index: int) -> Any:
    """One cell as a plain Python value (None for NULL and NaN)."""
    value = column[index]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _did_name(did: str | None) -> str:
    """The file name in an ``ivo://eso.org/origfile?<name>`` creator DID ("" without one)."""
    return did.partition("?")[2] if did and "?" in did else ""


# ------------------------------------------------------------------------------------- the services


class EsoLinks:
    """ESO's DataLink, calSelector and dataportal over the rows of an :class:`~.eso.EsoArchive`."""

    def __init__(
        self, data: Mapping[str, Mapping[str, np.ndarray]], context: ShapeContext, *, auth: EsoAuth | None = None
    ) -> None:
        self.raw, self.obscore = data["raw"], data["ObsCore"]
        self.auth = auth  # None: everything is public
        self.injector = context.injector
        self._raw_index = {str(d): i for i, d in enumerate(self.raw["dp_id"])}
        self._product_index = {str(d): i for i, d in enumerate(self.obscore["dp_id"])}
        self._ob_science: dict[int, list[int]] = {}
        for i, (ob, cat) in enumerate(zip(self.raw["ob_id"].tolist(), self.raw["dp_cat"])):
            if cat == "SCIENCE":
                self._ob_science.setdefault(int(ob), []).append(i)
        cfg = context.config
        sizes = sorted((t, len(d["dp_id"])) for t, d in data.items())
        key = hashlib.sha256(repr((FILES_VERSION, cfg.seed, sizes, context.now_mjd)).encode()).hexdigest()[:16]
        self.files = FileStore(context.cache / f"eso-{key}")
        self.links = LinksEndpoint(self._resolve, max_ids=cfg.datalink_max_ids, extra_fields=LINK_FIELDS)
        self.trees_always = cfg.calselector_trees  # a calSelector that ignores responseformat=votable

    # --------------------------------------------------------------------------- wiring
    def add_routes(self, app: web.Application) -> None:
        """Add the DataLink, calSelector, dataportal and preview routes to the ESO application."""
        app.router.add_route("*", "/datalink/links", self._datalink)
        app.router.add_route("*", "/calselector/v1/associations", self._calselector)
        app.router.add_get("/dataPortal/file/{name}", self._dataportal)
        app.router.add_get("/dataset/{dp_id}", self._preview)
        app.router.add_get("/hdr", self._header_page)
        app.on_response_prepare.append(_add_disposition)

    @staticmethod
    def endpoints(base: str) -> dict[str, str]:
        """vodaxa's ``{service: url}`` of these services at ``base``."""
        return {
            "datalink": f"{base}/datalink/links",
            "calselector": f"{base}/calselector/v1/associations",
            "dataportal": f"{base}/dataPortal/file/",
        }

    def authorized(self, request: web.Request, dp_id: str) -> bool:
        """Whether ``request`` may have ``dp_id``: public data always, proprietary frames with their owner's token."""
        return self.auth is None or self.auth.authorized(request, dp_id)

    def _require_valid_token(self, request: web.Request) -> None:
        """401 ``invalid_token`` for a Bearer token that is expired or forged (the dataportal skips this)."""
        if self.auth is not None:
            self.auth.require_valid_token(request)

    # --------------------------------------------------------------------------- datasets
    def dataset(self, dp_id: str) -> Dataset | None:
        """The dataset called ``dp_id`` (a dbo.raw frame, a generated calibration, a product), or None."""
        if dp_id in self._raw_index:
            return self._raw_dataset(self._raw_index[dp_id])
        if dp_id in self._product_index:
            return self._product_dataset(self._product_index[dp_id])
        frame = calibration_frame(dp_id)
        return self._calibration_dataset(frame) if frame else None

    def _raw_dataset(self, i: int) -> Dataset:
        """A dbo.raw row as a dataset."""
        r = {name: _value(self.raw[name], i) for name in ("dp_id", "mjd_obs", "ra", "dec", "object", "dp_tech")}
        meta = FitsMeta(
            r["dp_id"], instrument=str(self.raw["instrument"][i]), telescope=str(self.raw["telescope"][i]),
            mjd=r["mjd_obs"], exptime=float(self.raw["exposure"][i]), object=str(r["object"] or ""),
            catg=str(self.raw["dp_cat"][i]), type=str(self.raw["dp_type"][i]), tech=str(r["dp_tech"] or ""),
            ra=r["ra"], dec=r["dec"], origfile=str(self.raw["origfile"][i]),
        )  # fmt: skip
        return Dataset(r["dp_id"], "raw", meta, night_of(r["mjd_obs"]), i)

    def _product_dataset(self, i: int) -> Dataset:
        """An ivoa.ObsCore row as a dataset."""
        c = self.obscore
        ptype = str(c["dataproduct_type"][i])
        meta = FitsMeta(
            str(c["dp_id"][i]), instrument=str(c["instrument_name"][i]), telescope=str(c["facility_name"][i]),
            mjd=float(c["t_min"][i]), exptime=float(c["t_exptime"][i]), object=str(c["target_name"][i]),
            catg=ptype.upper(), type=f"SCIENCE.{'SRCTBL' if ptype == 'measurements' else ptype.upper()}",
            tech=str(c["obstech"][i]), ra=_value(c["s_ra"], i), dec=_value(c["s_dec"], i),
            origfile=_did_name(_value(c["obs_creator_did"], i)), processed=True,
        )  # fmt: skip
        return Dataset(meta.dp_id, "product", meta, None, i)

    def _calibration_dataset(self, frame: CalFrame) -> Dataset:
        """A generated calibration as a dataset."""
        inst = _BY_NAME[frame.instrument]
        exptime = 0.0 if frame.key == "BIAS" else 5.0
        on_sky = frame.key in ("FLAT,SKY", "STD")
        meta = FitsMeta(
            frame.dp_id, instrument=inst.name, telescope=inst.telescope, mjd=frame.mjd, exptime=exptime,
            object=frame.category, catg=frame.category, type="MASTER" if frame.master else frame.key,
            tech=frame.key.split(",")[0], ra=0.0 if on_sky else None, dec=-30.0 if on_sky else None,
            processed=frame.master,
        )  # fmt: skip
        return Dataset(frame.dp_id, "master" if frame.master else "calib", meta, None if frame.master else frame.night)

    def file_path(self, dataset: Dataset) -> Path:
        """The dataset's file on disk (written on first use)."""
        return self.files.ensure(dataset.filename, dataset.render)

    def night_log_path(self, dataset: Dataset) -> Path:
        """The night log of a raw dataset's night, as a file named after the dataset."""
        inst = _BY_NAME[dataset.meta.instrument]
        night = dataset.night if dataset.night is not None else night_of(dataset.meta.mjd)
        return self.files.ensure(f"{dataset.dp_id}.NL.txt", lambda: night_log_text(inst, night))

    def science(self, dp_id: str) -> Science | None:
        """calSelector's view of a dbo.raw frame (with its siblings), or None if ``dp_id`` is not one."""
        i = self._raw_index.get(dp_id)
        if i is None:
            return None
        cat = str(self.raw["dp_cat"][i])
        siblings = [] if cat != "SCIENCE" else self._ob_science.get(int(self.raw["ob_id"][i]), [])
        return Science(
            dp_id, str(self.raw["instrument"][i]), _value(self.raw["dp_tech"], i), cat, float(self.raw["mjd_obs"][i]),
            tuple(str(self.raw["dp_id"][j]) for j in siblings if j != i),
        )  # fmt: skip

    # --------------------------------------------------------------------------- DataLink
    async def _datalink(self, request: web.Request) -> web.StreamResponse:
        """The links endpoint; with ``eso_download=file`` the one identified file itself."""
        self._require_valid_token(request)
        if request.query.get("eso_download", "").lower() == "file":
            ids = await request_ids(request)
            if len(ids) != 1:
                raise web.HTTPBadRequest(text="eso_download=file takes exactly one ID")
            dataset = self.dataset(_dp_id(ids[0]) or "")
            if dataset is None:
                raise web.HTTPNotFound(text=f"{ids[0]} was not found")
            return await self._send(request, dataset)
        return await self.links(request)

    async def _resolve(self, request: web.Request, ids: Sequence[str]) -> list[Link]:
        """The rows of every ID, in order (LinksEndpoint caps the count)."""
        base = f"{request.scheme}://{request.host}"
        allowed = [self.authorized(request, _dp_id(i) or i) for i in ids]
        return await asyncio.to_thread(self._links_for_all, list(ids), allowed, base)

    def _links_for_all(self, ids: list[str], allowed: list[bool], base: str) -> list[Link]:
        """Rows of all ``ids`` (run in a worker thread: sizes need the files)."""
        out: list[Link] = []
        for ident, ok in zip(ids, allowed):
            denied = _error(ident, f"NotFoundFault: {ident} is protected: log in as an account allowed to see it")
            out += self._links_for(ident, base) if ok else [denied]
        return out

    def _links_for(self, ident: str, base: str) -> list[Link]:
        """ESO's rows for one ID: a raw frame's four, a product's #this and #preview, or an error row."""
        dp_id = _dp_id(ident)
        dataset = self.dataset(dp_id) if dp_id else None
        if dataset is None:
            return [_error(ident, f"NotFoundFault: {ident} is not a dataset of this archive")]
        this = Link(
            ident,
            access_url=f"{base}/dataPortal/file/{dataset.dp_id}",
            description="The requested file",
            semantics="#this",
            content_type="application/fits",
            content_length=self.file_path(dataset).stat().st_size,
            extra=_extra(dataset.filename, None, _datalink_url(base, dataset.dp_id)),
        )
        if dataset.kind == "product":
            return [this, self._preview_link(ident, dataset, base)]
        if dataset.kind == "master":
            return [this]
        rows = [this]
        if dataset.kind == "raw" and dataset.meta.catg == "SCIENCE":
            rows += [self._calselector_link(ident, dataset.dp_id, mode, base) for mode in ("Raw2Raw", "Raw2Master")]
        rows.append(
            Link(
                ident,
                access_url=f"{base}/dataPortal/file/{dataset.dp_id}.NL",
                description="Night log of the observation: problems reported and ambient conditions (seeing, "
                "transparency, humidity); its content_length is an order of magnitude only",
                semantics=NIGHT_LOG,
                content_type="text/plain",
                content_length=_NIGHT_LOG_SIZE,
                extra=_extra(f"{dataset.dp_id}.NL.txt", "Night Log", None),
            )
        )
        return rows

    @staticmethod
    def _calselector_link(ident: str, dp_id: str, mode: str, base: str) -> Link:
        """The row pointing at calSelector's VOTable of ``mode`` for ``dp_id``."""
        kind = "raw" if mode == "Raw2Raw" else "master"
        return Link(
            ident,
            access_url=f"{base}/calselector/v1/associations?dp_id={dp_id}&mode={mode}&responseformat=votable",
            description=f"Access points of the {kind} calibrations associated with this raw file "
            "and with its siblings, if any",
            semantics=RAW2RAW if mode == "Raw2Raw" else RAW2MASTER,
            content_type="application/x-votable+xml",
            content_length=_SERVICE_SIZE,
            extra=_extra(None, None, None),
        )

    @staticmethod
    def _preview_link(ident: str, dataset: Dataset, base: str) -> Link:
        """A product's #preview row: its preview page."""
        return Link(
            ident,
            access_url=f"{base}/dataset/{dataset.dp_id}",
            description="Preview page of the product",
            semantics="#preview",
            content_type="text/html",
            extra=_extra(None, None, None),
        )

    # --------------------------------------------------------------------------- calSelector
    async def _calselector(self, request: web.Request) -> web.Response:
        """calSelector: association trees (XML, multipart for several) or their DataLink-style VOTable."""
        self._require_valid_token(request)
        params = await _params(request)
        dp_ids = list(dict.fromkeys(v for k, v in params if k == "dp_id"))
        mode = _mode(next((v for k, v in params if k == "mode"), "Raw2Raw"))
        fmt = next((v for k, v in params if k == "responseformat"), "").lower()
        if not dp_ids or mode is None or fmt not in ("", "xml", "votable"):
            raise web.HTTPBadRequest(
                text="calselector takes dp_id (one or more), mode=Raw2Raw|Raw2Master and responseformat=votable|xml"
            )
        base = f"{request.scheme}://{request.host}"
        allowed = {d: self.authorized(request, d) for d in dp_ids}
        if fmt == "votable" and not self.trees_always:
            body = await asyncio.to_thread(self._calselector_votable, dp_ids, mode, allowed, base)
            return web.Response(body=body, headers={"Content-Type": DATALINK_MIME})
        frames = {d: f for d in dp_ids if (f := self.science(d)) is not None}
        unknown = [d for d in dp_ids if d not in frames]
        if unknown:
            raise web.HTTPNotFound(text=f"unknown raw dp_id: {', '.join(unknown)}")
        if not all(allowed.values()):
            raise web.HTTPUnauthorized(
                text="some of the datasets are proprietary: log in first", headers={"WWW-Authenticate": "Bearer"}
            )
        parts = []
        for dp_id, frame in frames.items():
            top = cascade(frame, mode)
            parts.append((f"{dp_id}_{str(top.mode).lower()}.xml", tree_xml(top)))
        if len(parts) == 1:
            headers = {"Content-Type": CALSELECTOR_MIME, "Content-Disposition": f'filename="{parts[0][0]}"'}
            return web.Response(body=parts[0][1], headers=headers)
        boundary, body = multipart(parts)
        return web.Response(body=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})

    def _calselector_votable(self, dp_ids: list[str], mode: str, allowed: Mapping[str, bool], base: str) -> bytes:
        """calSelector's DataLink-compatible VOTable for ``dp_ids`` (run in a worker thread)."""
        links: list[Link] = []
        for dp_id in dp_ids:
            ident = f"{IVO_ID}{dp_id}"
            frame = self.science(dp_id)
            if frame is None:
                links.append(_error(ident, f"NotFoundFault: {dp_id} is not a raw frame of this archive"))
            elif not allowed[dp_id]:
                links.append(_error(ident, f"DefaultFault: {dp_id} is proprietary: log in first"))
            else:
                links += self._cascade_links(ident, frame, mode, base)
        return links_document(links, extra_fields=CALSELECTOR_FIELDS)

    def _cascade_links(self, ident: str, frame: Science, mode: str, base: str) -> list[Link]:
        """#this (with the cascade summary), #sibling_raw, #calibration and association-tree rows."""
        top = cascade(frame, mode)
        main = {name for _, name in top.files}
        rows = [self._file_link(ident, frame.dp_id, top.files[0][0], "#this", summary(top), base)]
        rows += [
            self._file_link(ident, d, c, SIBLING_RAW, "Raw science file to be calibrated together with the input", base)
            for c, d in top.files[1:]
        ]
        calibrations = dict.fromkeys((c, d) for c, d in top.all_files() if d not in main)
        rows += [
            self._file_link(ident, d, c, "#calibration", "Calibration of the input raw file and its siblings", base)
            for c, d in calibrations
        ]
        rows.append(
            Link(
                ident,
                access_url=f"{base}/calselector/v1/associations?dp_id={frame.dp_id}&mode={top.mode}",
                description="Calibration cascade: how the science and calibration files relate (XML tree)",
                semantics=RAW2MASTER if top.mode == "Raw2Master" else RAW2RAW,
                content_type="application/xml",
                content_length=_TREE_SIZE,
                extra={_CATEGORY.name: "ASSOCIATION_TREE", _DATALINK.name: None},
            )
        )
        return rows

    def _file_link(self, ident: str, dp_id: str, category: str, semantics: str, description: str, base: str) -> Link:
        """A calSelector row giving one file through the DataLink service's ``eso_download=file``."""
        dataset = self.dataset(dp_id)
        size = self.file_path(dataset).stat().st_size if dataset else None
        return Link(
            ident,
            access_url=f"{_datalink_url(base, dp_id)}&eso_download=file",
            description=description,
            semantics=semantics,
            content_type="application/fits",
            content_length=size,
            extra={_CATEGORY.name: category, _DATALINK.name: _datalink_url(base, dp_id)},
        )

    # --------------------------------------------------------------------------- dataportal
    async def _dataportal(self, request: web.Request) -> web.StreamResponse:
        """A file by dp_id (``<dp_id>.NL``: the night log), as dataportal.eso.org sends it."""
        name = request.match_info["name"]
        log = name.endswith(".NL")
        dataset = self.dataset(name[:-3] if log else name)
        if dataset is None or (log and dataset.night is None):
            raise web.HTTPNotFound(text=f"{name} was not found")
        return await self._send(request, dataset, night_log=log)

    async def _send(self, request: web.Request, dataset: Dataset, *, night_log: bool = False) -> web.StreamResponse:
        """Serve a dataset's file (or night log) with ESO's Content-Disposition, ETag and Range; else the login page."""
        if not self.authorized(request, dataset.dp_id):
            return login_page(request)  # status 200, as ESO's single sign-on answers (astroquery#1272)
        make = self.night_log_path if night_log else self.file_path
        path = await asyncio.to_thread(make, dataset)
        request[_DISPOSITION] = f"attachment; filename={path.name}"
        return await serve_file(request, path, self.injector)

    async def _header_page(self, request: web.Request) -> web.Response:
        """``/hdr?DpId=<dp_id>``: the file's primary FITS header as an HTML page, one card a line in a ``<pre>``
        (what astroquery's ``Eso.get_headers`` parses); a frame the requester may not see gets the login page."""
        dp_id = request.query.get("DpId", "")
        dataset = self.dataset(dp_id)
        if dataset is None:
            raise web.HTTPNotFound(text=f"{dp_id or '(no DpId)'} was not found")
        if not self.authorized(request, dp_id):
            return login_page(request)
        data = fits_bytes(dataset.meta)
        lines = []
        for start in range(0, len(data), 80):
            card = data[start : start + 80].decode("ascii")
            lines.append(card.rstrip())
            if card.startswith("END "):  # the data (binary) follow the header
                break
        page = (
            f"<html><head><title>{escape(dp_id)}</title></head><body><h2>Header of {escape(dp_id)}</h2>"
            f"<pre>{escape(chr(10).join(lines), quote=False)}\n</pre></body></html>"
        )
        return web.Response(text=page, content_type="text/html")

    async def _preview(self, request: web.Request) -> web.Response:
        """A product's preview page (the ``preview_html`` of ivoa.ObsCore)."""
        dp_id = request.match_info["dp_id"]
        i = self._product_index.get(dp_id)
        if i is None:
            raise web.HTTPNotFound(text=f"{dp_id} was not found")
        cells = "".join(
            f"<tr><th>{escape(name)}</th><td>{escape(str(_value(col, i)))}</td></tr>"
            for name, col in self.obscore.items()
            if name
            in ("dp_id", "obs_collection", "dataproduct_type", "target_name", "instrument_name", "s_ra", "s_dec")
        )
        page = f"<html><head><title>{escape(dp_id)}</title></head><body><table>{cells}</table></body></html>"
        return web.Response(text=page, content_type="text/html")


# ------------------------------------------------------------------------------------- helpers


def _dp_id(ident: str) -> str | None:
    """The dp_id of an ``ivo://eso.org/ID?<dp_id>`` identifier, or None for other forms."""
    return ident[len(IVO_ID) :] if ident.startswith(IVO_ID) and len(ident) > len(IVO_ID) else None


def _datalink_url(base: str, dp_id: str) -> str:
    """The DataLink URL of one dataset."""
    return f"{base}/datalink/links?ID={IVO_ID}{dp_id}"


def _extra(origfile: str | None, category: str | None, datalink: str | None) -> dict[str, Any]:
    """ESO's extra DataLink columns of one row, always all three so every answer has the same columns."""
    return {_ORIGFILE.name: origfile, _CATEGORY.name: category, _DATALINK.name: datalink}


def _error(ident: str, message: str) -> Link:
    """An error row (with ESO's extra columns, empty)."""
    return Link(ident, error_message=message, extra=_extra(None, None, None))


def _mode(value: str) -> str | None:
    """calSelector's mode, spelt as ESO spells it, from any case; None if it is not one."""
    return {"raw2raw": "Raw2Raw", "raw2master": "Raw2Master"}.get(value.strip().lower())


async def _params(request: web.Request) -> list[tuple[str, str]]:
    """Every (lower-cased name, value) of the query string and a POSTed form, in order."""
    items = [(k.lower(), v) for k, v in request.query.items()]
    if request.method == "POST":
        form = await request.post()
        items += [(k.lower(), str(v)) for k, v in form.items()]
    return items


async def _add_disposition(request: web.Request, response: web.StreamResponse) -> None:
    """Give a served file the ``Content-Disposition`` its handler chose (files.serve_file sets no such header)."""
    value = request.get(_DISPOSITION)
    if value and response.status in (200, 206):
        response.headers["Content-Disposition"] = value
