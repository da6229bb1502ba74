"""A small, fast, deterministic FITS writer for the sandbox's synthetic files.

astropy writes the same bytes but takes ~7 ms per file and stamps the time into CHECKSUM
comments; the sandbox writes thousands of files and needs them byte-identical across runs (so
ETags and resumed downloads stay valid).  Cards are formatted as astropy formats them, every HDU
carries valid DATASUM/CHECKSUM cards, and the tests open every file with astropy (checksum=True).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Card", "Col", "bintable_hdu", "card", "hdu", "primary_hdu"]

_BLOCK = 2880
_CHECKSUM_EXCLUDE = (0x3A, 0x3B, 0x3C, 0x3D, 0x3E, 0x3F, 0x40, 0x5B, 0x5C, 0x5D, 0x5E, 0x5F, 0x60)
_TFORM_DTYPES = {"D": ">f8", "E": ">f4", "J": ">i4", "I": ">i2", "K": ">i8", "B": "u1"}

Card = tuple[str, Any, str]  # keyword, value, comment


def _fits_float(value: float) -> str:
    """A float in FITS fixed format: always a decimal point, upper-case exponent, at most 20 characters."""
    if not math.isfinite(value):
        raise ValueError(f"FITS header values must be finite, not {value}")
    text = repr(float(value)).upper()
    if len(text) > 20:
        text = f"{value:.13E}"
    mantissa, _, exponent = text.partition("E")
    if "." not in mantissa:
        mantissa += ".0"
    return f"{mantissa}E{exponent}" if exponent else mantissa


def card(key: str, value: Any, comment: str = "") -> str:
    """One 80-character header card, formatted the way astropy formats it."""
    if isinstance(value, (bool, np.bool_)):
        text = f"{'T' if value else 'F':>20}"
    elif isinstance(value, (int, np.integer)):
        text = f"{int(value):>20}"
    elif isinstance(value, (float, np.floating)):
        text = f"{_fits_float(float(value)):>20}"
    else:
        clean = str(value).encode("ascii", "replace").decode("ascii").replace("'", "''")
        quoted = "'" + f"{clean:<8}" + "'"
        text = f"{quoted:<20}"
    card = f"{key:<8}= {text}"
    if len(card) > 80:
        raise ValueError(f"header value too long for one card: {key}={value!r}")
    if comment:
        card = f"{card} / {comment}"[:80]
    return f"{card:<80}"


def _ones_sum(data: bytes) -> int:
    """32-bit ones' complement sum of ``data`` (a multiple of 4 bytes), the basis of FITS checksums."""
    if not data:
        return 0
    total = int(np.frombuffer(data, dtype=">u4").sum(dtype=np.uint64))
    while total >> 32:
        total = (total & 0xFFFFFFFF) + (total >> 32)
    return total


def _encode_checksum(value: int) -> str:
    """The 16-character ASCII encoding of a 32-bit checksum (FITS standard, appendix J)."""
    out = [0] * 16
    for i in range(4):
        quotient, remainder = divmod((value >> (24 - 8 * i)) & 0xFF, 4)
        ch = [quotient + 0x30 + remainder] + [quotient + 0x30] * 3
        changed = True
        while changed:  # keep clear of punctuation, preserving each pair's sum
            changed = False
            for bad in _CHECKSUM_EXCLUDE:
                for j in (0, 2):
                    if ch[j] == bad or ch[j + 1] == bad:
                        ch[j] += 1
                        ch[j + 1] -= 1
                        changed = True
        for j in range(4):
            out[4 * j + i] = ch[j]
    return bytes(out[(k + 15) % 16] for k in range(16)).decode("ascii")


def hdu(cards: list[Card], data: bytes = b"") -> bytes:
    """A complete HDU (header and padded data) with valid DATASUM and CHECKSUM cards."""
    data += b"\0" * (-len(data) % _BLOCK)
    datasum = _ones_sum(data)
    lines = [card(*c) for c in cards]
    lines.append(card("DATASUM", str(datasum), "data unit checksum"))
    lines.append(card("CHECKSUM", "0" * 16, "HDU checksum"))
    text = "".join(lines) + f"{'END':<80}"
    header = (text + " " * (-len(text) % _BLOCK)).encode("ascii")
    total = _ones_sum(header) + datasum
    total = (total & 0xFFFFFFFF) + (total >> 32)
    at = (len(lines) - 1) * 80 + 11  # the CHECKSUM value, after "CHECKSUM= '"
    header = header[:at] + _encode_checksum(~total & 0xFFFFFFFF).encode("ascii") + header[at + 16 :]
    return header + data


def primary_hdu(keys: list[Card], image: np.ndarray | None = None) -> bytes:
    """A primary HDU: header only, or a 2-D image (int16, int32 or float32)."""
    if image is None:
        return hdu(
            [
                ("SIMPLE", True, "conforms to FITS standard"),
                ("BITPIX", 8, ""),
                ("NAXIS", 0, ""),
                ("EXTEND", True, ""),
                *keys,
            ]
        )
    bitpix = {"i2": 16, "i4": 32, "f4": -32}[image.dtype.str[1:]]
    cards: list[Card] = [
        ("SIMPLE", True, "conforms to FITS standard"),
        ("BITPIX", bitpix, ""),
        ("NAXIS", 2, ""),
        ("NAXIS1", image.shape[1], ""),
        ("NAXIS2", image.shape[0], ""),
        ("EXTEND", True, ""),
        *keys,
    ]
    return hdu(cards, image.astype(image.dtype.newbyteorder(">")).tobytes())


@dataclass(frozen=True)
class Col:
    """One binary-table column: name, TFORM, unit, values and extra per-column keys (TLMIN, TCTYP...)."""

    name: str
    tform: str
    unit: str
    values: Any
    extra: tuple[tuple[str, Any], ...] = ()


def _col_dtype(col: Col) -> tuple[str, Any] | tuple[str, Any, tuple[int]]:
    """The numpy field of a column (big-endian, packed)."""
    if col.tform.endswith("X"):
        return (col.name, "u1", ((int(col.tform[:-1]) + 7) // 8,))
    if col.tform.endswith("A"):
        return (col.name, f"S{int(col.tform[:-1])}")
    return (col.name, _TFORM_DTYPES[col.tform])


def bintable_hdu(extname: str, cols: list[Col], keys: list[Card]) -> bytes:
    """A BINTABLE extension holding ``cols`` (all of the same length)."""
    rows = len(cols[0].values)
    rec = np.zeros(rows, dtype=[_col_dtype(c) for c in cols])
    for col in cols:
        rec[col.name] = col.values
    cards: list[Card] = [
        ("XTENSION", "BINTABLE", "binary table extension"),
        ("BITPIX", 8, ""),
        ("NAXIS", 2, ""),
        ("NAXIS1", rec.dtype.itemsize, "width of table in bytes"),
        ("NAXIS2", rows, "rows"),
        ("PCOUNT", 0, ""),
        ("GCOUNT", 1, ""),
        ("TFIELDS", len(cols), ""),
    ]
    for n, col in enumerate(cols, 1):
        cards += [(f"TTYPE{n}", col.name, ""), (f"TFORM{n}", col.tform, "")]
        if col.unit:
            cards.append((f"TUNIT{n}", col.unit, ""))
        cards += [(f"{key}{n}", value, "") for key, value in col.extra]
    cards += [("EXTNAME", extname, "name of this binary table extension"), *keys]
    return hdu(cards, rec.tobytes())
