"""Whether a file whose size nobody announced is whole, from its own structure.

HEASARC's and the CDA's listings give no sizes, and a server may close a body without a Content-Length
early: then the bytes themselves must say whether the file is complete.  A FITS file is a sequence of
2880-byte blocks whose headers declare every data size; a gzip stream ends with its trailer (checked by
reading it through).  Other files carry no such evidence and are taken as they are.
"""

from __future__ import annotations

import zlib
from pathlib import Path

__all__ = ["FITS_NAMES", "structure_problem"]

BLOCK = 2880
#: Names of plain FITS files (HEASARC and CDA files of these kinds are FITS).
FITS_NAMES = (".fits", ".fit", ".fts", ".evt", ".img", ".pha", ".lc", ".rmf", ".arf", ".pi")
_CHUNK = 1 << 20


def structure_problem(path: Path, name: str | None = None) -> str | None:
    """Why the file at ``path`` (named ``name``) cannot be whole, or None if its structure holds (or it has none)."""
    lower = (name or path.name).lower()
    try:
        if lower.endswith(".gz"):
            return _gzip_problem(path)
        if lower.endswith(FITS_NAMES):
            return _fits_problem(path)
    except OSError as err:
        return f"unreadable ({err})"
    return None


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
        return None if stream.eof else "the gzip stream ends early (the file is cut short)"


def _fits_problem(path: Path) -> str | None:
    """A FITS file is whole when its headers, read one after the other, declare exactly its length."""
    size = path.stat().st_size
    if size == 0 or size % BLOCK:
        return f"{size} bytes is not a whole number of 2880-byte FITS blocks (the file is cut short)"
    offset = 0
    with path.open("rb") as handle:
        while offset < size:
            cards, header_bytes = _header(handle, offset, size)
            if cards is None:
                return f"no END card in the FITS header at byte {offset} (the file is cut short)"
            data = _data_bytes(cards)
            if data is None:
                return f"the FITS header at byte {offset} does not declare its data size"
            offset += header_bytes + -(-data // BLOCK) * BLOCK
    if offset > size:
        return f"its FITS headers declare {offset} bytes, the file has {size} (the file is cut short)"
    return None


def _header(handle, offset: int, size: int) -> tuple[dict[str, str] | None, int]:
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
