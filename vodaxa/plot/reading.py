"""Images read for a picture: the declared size checked before any pixel is read, then summed in blocks as it is
read, a slice of rows at a time, so neither a large image nor a small file declaring a huge one fills memory."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TypeAlias

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:
    from astropy.io.fits import CompImageHDU, HDUList, Header, ImageHDU, PrimaryHDU

__all__ = ["HOW", "MAX_IMAGE_PIXELS", "ImageSource", "Picture", "read_image"]

#: Most pixels an image drawn by :func:`~vodaxa.plot.quicklook` or :func:`~vodaxa.plot.overview` may have (100
#: million, 10,000 x 10,000), checked against its declared shape (``NAXISn``, ``ZNAXISn`` of a tile-compressed
#: image) before any pixel is read: cut a larger one down first (``astropy.nddata.Cutout2D``, or binning).
MAX_IMAGE_PIXELS = 100_000_000

#: What to give instead, in every message about something that is not an image.
HOW = "give a FITS image (a counts image, rate map or exposure map), an image HDU, or a 2-D array"

#: An image: a FITS file's path, an astropy image HDU or HDU list (its first image), or a 2-D numpy array.
ImageSource: TypeAlias = "str | os.PathLike[str] | PrimaryHDU | ImageHDU | CompImageHDU | HDUList | np.ndarray"

_CHUNK = 1 << 20  # pixels read (as floats) at a time


class Picture(NamedTuple):
    """An image read for drawing: its pixels summed in blocks of ``factor`` x ``factor`` (averaged when ``means``:
    the sums would overflow), infinities as NaN (missing); its header, a name and its shape as stored."""

    data: np.ndarray
    header: Header | None
    name: str
    shape: tuple[int, int]
    factor: int
    means: bool


def read_image(image: ImageSource, largest: int) -> Picture:
    """``image`` read and binned so that neither side exceeds ``largest`` pixels; InputError for anything that is
    not an image, or one of more than :data:`MAX_IMAGE_PIXELS` (before reading its pixels)."""
    from astropy.io import fits

    if isinstance(image, np.ndarray):
        if image.dtype.kind not in "biuf":
            raise InputError(f"an array of shape {image.shape} holds {image.dtype} values, not numbers; {HOW}")
        return _picture(image, image.shape, f"an array of shape {image.shape}", None, "array", largest)
    if isinstance(image, (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)):
        where = f"the {_hdu_name(image)} HDU"
        if not image.header.get("NAXIS", 0):
            raise InputError(f"{where} holds no data; {HOW}")
        return _picture(_Data(image, where), image.shape, where, image.header, image.name or "image", largest)
    if isinstance(image, fits.HDUList):
        hdu = _first_image(image, "the HDU list")
        where = f"the HDU list [{_hdu_name(hdu)}]"
        return _picture(_Data(hdu, where), hdu.shape, where, hdu.header.copy(), hdu.name, largest)
    if not isinstance(image, (str, os.PathLike)):
        raise InputError(f"{type(image).__name__} is not an image; {HOW}")
    path = Path(image)
    if not path.is_file():
        raise InputError(f"{path}: no such file; {HOW}")
    try:
        with fits.open(path, memmap=False, lazy_load_hdus=True) as hdul:
            hdul.verify("silentfix")
            hdu = _first_image(hdul, str(path))
            where = f"{path} [{_hdu_name(hdu)}]"
            return _picture(hdu.section, hdu.shape, where, hdu.header.copy(), path.name, largest)
    except InputError:
        raise
    except MemoryError:
        raise InputError(f"{path}: not enough memory to read it; close other programs, or cut the image down "
                         "first") from None  # fmt: skip
    except Exception as err:  # astropy raises OSError, ValueError and others for a file that is not FITS
        raise InputError(f"{path}: not a readable FITS file ({type(err).__name__}: {err}); {HOW}") from None


class _Data:
    """An HDU's data, indexed without touching it before the declared shape has been checked."""

    def __init__(self, hdu: PrimaryHDU | ImageHDU | CompImageHDU, where: str) -> None:
        self.hdu, self.where = hdu, where

    def __getitem__(self, key: tuple[slice | int, ...]) -> np.ndarray:
        if self.hdu.data is None:
            raise InputError(f"{self.where} holds no data; {HOW}")
        return np.asarray(self.hdu.data[key])


def _hdu_name(hdu: object) -> str:
    from astropy.io import fits

    name = str(getattr(hdu, "name", "") or "").strip()
    return name or ("PRIMARY" if isinstance(hdu, fits.PrimaryHDU) else "unnamed image")


def _first_image(hdul: HDUList, where: str) -> PrimaryHDU | ImageHDU | CompImageHDU:
    """The first HDU of ``hdul`` holding an image of two axes or more (judged by its header: nothing is read)."""
    for hdu in hdul:
        if getattr(hdu, "is_image", False) and len(getattr(hdu, "shape", ())) >= 2:
            return hdu
    kinds = ", ".join(f"{h.name} ({type(h).__name__})" for h in hdul) or "none"
    raise InputError(f"{where} holds no image (its HDUs: {kinds}); {HOW}")


def _picture(source: object, shape: tuple[int, ...], where: str, header: Header | None, name: str,
             largest: int) -> Picture:  # fmt: skip
    """The Picture of ``source`` (an array, or an HDU's data or section, indexed a slice of rows at a time) whose
    stored shape is ``shape``: length-one axes dropped to two; more, fewer, or too many pixels refused."""
    shape = tuple(int(n) for n in shape)
    axes = list(range(len(shape)))
    while len(axes) > 2 and any(shape[a] == 1 for a in axes):
        axes.remove(next(a for a in axes if shape[a] == 1))
    if len(axes) != 2:
        raise InputError(f"{where} is {len(axes)}-dimensional (shape {shape}); {HOW}")
    rows, columns = shape[axes[0]], shape[axes[1]]
    if not rows or not columns:
        raise InputError(f"{where} holds no pixels (shape {shape}); {HOW}")
    if rows * columns > MAX_IMAGE_PIXELS:
        raise InputError(f"{where} is {columns} x {rows} pixels, more than the {MAX_IMAGE_PIXELS:,} a quick-look "
                         "reads; cut out the part to look at (astropy.nddata.Cutout2D) or bin it first")  # fmt: skip

    def read(start: int, stop: int) -> np.ndarray:
        key = tuple(slice(start, stop) if a == axes[0] else slice(None) if a == axes[1] else 0
                    for a in range(len(shape)))  # fmt: skip
        return np.asarray(source[key])  # type: ignore[index]  # an array, or astropy's Section of the same shape

    data, factor, means = _binned(read, (rows, columns), largest)
    return Picture(data, header, name, (rows, columns), factor, means)


def _binned(
    read: Callable[[int, int], np.ndarray], shape: tuple[int, int], largest: int
) -> tuple[np.ndarray, int, bool]:
    """The image summed in square blocks so that neither side exceeds ``largest`` pixels (single counts stay
    visible in a thumbnail, where resampling would drop them), the block size, and whether the blocks are means
    (when a sum overflows)."""
    factor = max(1, math.ceil(max(shape) / largest))
    summed = _block_sums(read, shape, factor, 1.0)
    if summed is not None:
        return summed, factor, False
    means = _block_sums(read, shape, factor, 1.0 / factor**2)
    assert means is not None  # a mean of finite floats cannot overflow
    return means, factor, True


def _block_sums(read: Callable[[int, int], np.ndarray], shape: tuple[int, int], factor: int,
                scale: float) -> np.ndarray | None:  # fmt: skip
    """Sums of ``scale`` x the pixels in blocks of ``factor`` x ``factor``, read a slice of rows at a time (NaN
    where a block has no finite pixel); None when a sum overflows."""
    rows, columns = shape
    out = np.empty((math.ceil(rows / factor), math.ceil(columns / factor)))
    step = max(1, _CHUNK // (columns * factor)) * factor
    width = out.shape[1] * factor
    for start in range(0, rows, step):
        stop = min(rows, start + step)
        chunk = np.array(read(start, stop), dtype=float)  # a copy: the caller's array is never changed
        chunk[~np.isfinite(chunk)] = np.nan  # infinities are missing pixels
        if scale != 1.0:
            chunk *= scale
        if factor == 1:
            out[start:stop] = chunk
            continue
        height = math.ceil((stop - start) / factor) * factor
        padded = np.full((height, width), np.nan)
        padded[: stop - start, :columns] = chunk
        blocks = padded.reshape(height // factor, factor, width // factor, factor)
        with np.errstate(over="ignore", invalid="ignore"):
            sums = np.nansum(blocks, axis=(1, 3))
        if np.isinf(sums).any():
            return None
        sums[np.isnan(blocks).all(axis=(1, 3))] = np.nan
        out[start // factor : start // factor + len(sums)] = sums
    return out
