"""Whether a file whose size nobody announced is whole, from its own structure.

HEASARC's and the CDA's listings give no sizes, and a server may close a body without a Content-Length
early: then the bytes themselves must say what they can.  A FITS file is a sequence of 2880-byte blocks whose
headers declare every data size; a gzip stream ends with its trailer (checked by reading it through); a tar
archive ends with two zero blocks after its last member.

Two questions, two functions.  :func:`structure_problem`: can the file be whole at all (a FITS file that ends
inside an HDU, a gzip stream without its trailer, a tar without its end-of-archive blocks cannot)?  Files
without such structure pass.  :func:`unproven_end`: do the bytes prove where the file ends, when nothing else
can (a server that sent no length and answers no byte ranges)?  Only the tar end-of-archive blocks are a true
end mark; a gzip trailer and FITS headers that add up are taken as proof too, with what FITS files say of
their extensions (NEXTEND; an empty primary HDU announcing extensions) checked, but a cut exactly between two
gzip members or two HDUs of a file that does not count its extensions cannot be seen in the bytes.  Text and
other files prove nothing.
"""

from __future__ import annotations

import os
import tarfile
import zlib
from pathlib import Path
from typing import BinaryIO

__all__ = ["CUT", "FITS_NAMES", "structure_problem", "unproven_end"]

BLOCK = 2880
#: Names of plain FITS files (HEASARC and CDA files of these kinds are FITS).
FITS_NAMES = (".fits", ".fit", ".fts", ".evt", ".img", ".pha", ".lc", ".rmf", ".arf", ".pi")
_CHUNK = 1 << 20
_GZIP_NAMES = (".gz", ".tgz")
_TAR_BLOCK = 512
#: What a reason says when the file is known to be cut short (a resume may mend it; anything else may not).
CUT = "cut short"


def structure_problem(path: Path, name: str | None = None) -> str | None:
    """Why the file at ``path`` (named ``name``) cannot be whole, or None if its structure holds (or it has none)."""
    lower = (name or path.name).lower()
    try:
        if lower.endswith(_GZIP_NAMES):
            return _gzip_problem(path)
        if lower.endswith(".tar"):
            return _tar_problem(path)
        if lower.endswith(FITS_NAMES):
            return _fits_walk(path)[0]
    except OSError as err:
        return f"unreadable ({err})"
    return None


def unproven_end(path: Path, name: str | None = None) -> str | None:
    """Why the bytes at ``path`` (named ``name``) do not prove where the file ends, or None if they do.

    A reason holding :data:`CUT` means the file is known to be cut short."""
    lower = (name or path.name).lower()
    try:
        if lower.endswith((".tar.gz", ".tgz")):
            return _gzip_problem(path) or _tar_problem(path, packed=True)
        if lower.endswith(_GZIP_NAMES):
            return _gzip_problem(path)
        if lower.endswith(".tar"):
            return _tar_problem(path)
        if lower.endswith(FITS_NAMES):
            problem, hdus, primary, primary_data = _fits_walk(path)
            return problem or _extensions_problem(hdus, primary, primary_data)
    except OSError as err:
        return f"unreadable ({err})"
    suffix = os.path.splitext(lower)[1]
    return f"a {suffix or 'such'} file carries no mark of its end"


def _gzip_problem(path: Path) -> str | None:
    """A gzip file is whole when every member ends with its trailer (CRC and length checked by zlib)."""
    with path.open("rb") as handle:
        stream = zlib.decompressobj(wbits=31)
        data = handle.read(_CHUNK)
        if not data:
            return "the file is empty"
        while data:
            try:
                stream.decompress(data)
            except zlib.error as err:
                return f"not a valid gzip stream ({err})"
            while stream.eof and stream.unused_data:  # another member follows
                rest = stream.unused_data
                stream = zlib.decompressobj(wbits=31)
                try:
                    stream.decompress(rest)
                except zlib.error as err:
                    return f"not a valid gzip stream ({err})"
            data = handle.read(_CHUNK)
        return None if stream.eof else f"the gzip stream ends early (the file is {CUT})"


def _tar_problem(path: Path, packed: bool = False) -> str | None:
    """A tar archive is whole when its members, read one after the other, end with two zero blocks (and only
    zeros follow: the padding to a whole record)."""
    try:
        with tarfile.open(path, "r:gz" if packed else "r:") as archive:
            while archive.next() is not None:
                # only the walk matters: keep memory flat for archives of many files (members: the list next()
                # appends to, which typeshed does not declare)
                archive.members.clear()  # type: ignore[attr-defined]
            end = archive.offset
            stream = archive.fileobj
            stream.seek(end)
            marks = stream.read(2 * _TAR_BLOCK)
            rest = stream.read(_CHUNK)
            while rest and not rest.strip(b"\0"):
                rest = stream.read(_CHUNK)
    except (tarfile.TarError, EOFError, zlib.error) as err:
        if "unexpected end of data" in str(err) or isinstance(err, EOFError):
            return f"the tar archive ends inside a member (the file is {CUT})"
        return f"not a valid tar archive ({err})"
    if len(marks) < 2 * _TAR_BLOCK:  # the file ends inside (or before) the last header or the end blocks
        return f"the tar archive ends before its end-of-archive blocks (the file is {CUT})"
    if marks.strip(b"\0"):
        return f"the tar archive has data where its end-of-archive blocks should be (byte {end})"
    if rest:
        return f"data follow the tar archive's end-of-archive blocks (at byte {end})"
    return None


def _fits_walk(path: Path) -> tuple[str | None, int, dict[str, str], int]:
    """Whether a FITS file's headers, read one after the other, declare exactly its length: (why not, or
    None; the number of HDUs read; the primary header's keywords; the primary's data bytes)."""
    size = path.stat().st_size
    if size == 0 or size % BLOCK:
        return f"{size} bytes is not a whole number of 2880-byte FITS blocks (the file is {CUT})", 0, {}, 0
    offset, hdus, primary_data = 0, 0, 0
    primary: dict[str, str] = {}
    with path.open("rb") as handle:
        while offset < size:
            cards, header_bytes = _header(handle, offset, size)
            if cards is None:
                return f"no END card in the FITS header at byte {offset} (the file is {CUT})", hdus, primary, 0
            data = _data_bytes(cards)
            if data is None:
                return f"the FITS header at byte {offset} does not declare its data size", hdus, primary, 0
            if not hdus:
                primary, primary_data = cards, data
            hdus += 1
            offset += header_bytes + -(-data // BLOCK) * BLOCK
    if offset > size:
        return f"its FITS headers declare {offset} bytes, the file has {size} (the file is {CUT})", hdus, primary, 0
    return None, hdus, primary, primary_data


def _extensions_problem(hdus: int, primary: dict[str, str], primary_data: int) -> str | None:
    """What the primary header says of the extensions that must follow, against the ``hdus`` found."""
    declared = primary.get("NEXTEND", "")
    if declared.lstrip("+").isdigit() and int(declared) > hdus - 1:
        return (f"its primary header announces {int(declared)} extensions (NEXTEND), the file holds {hdus - 1} "
                f"(the file is {CUT})")  # fmt: skip
    if hdus == 1 and primary_data == 0 and primary.get("EXTEND") == "T":
        return f"an empty primary HDU announces extensions (EXTEND = T) and none follows (the file looks {CUT})"
    return None


def _header(handle: BinaryIO, offset: int, size: int) -> tuple[dict[str, str] | None, int]:
    """The keyword values of the header starting at ``offset`` and its length in bytes (None: no END)."""
    cards: dict[str, str] = {}
    handle.seek(offset)
    read = 0
    while offset + read < size:
        block = handle.read(BLOCK)
        read += BLOCK
        for i in range(0, BLOCK, 80):
            card = block[i : i + 80].decode("ascii", errors="replace")
            key = card[:8].strip()
            if key == "END":
                return cards, read
            if card[8:10] == "= ":
                cards.setdefault(key, card[10:].split("/", 1)[0].strip())
    return None, read


def _data_bytes(cards: dict[str, str]) -> int | None:
    """The data size a header declares: |BITPIX|/8 x (GCOUNT x (PCOUNT + NAXIS1 x ... x NAXISn))."""
    try:
        bitpix = abs(int(cards["BITPIX"]))
        naxis = int(cards["NAXIS"])
        axes = [int(cards[f"NAXIS{i}"]) for i in range(1, naxis + 1)]
        pcount = int(cards.get("PCOUNT", "0"))
        gcount = int(cards.get("GCOUNT", "1"))
    except (KeyError, ValueError):
        return None
    if naxis == 0:
        return 0
    product = 1
    for n in axes:
        product *= n
    if "XTENSION" not in cards and axes and axes[0] == 0:  # random groups: NAXIS1 = 0 does not count
        product = 1
        for n in axes[1:]:
            product *= n
    return bitpix // 8 * gcount * (pcount + product)
