"""Quick-looks of images: one image with a stretch and sky coordinates, or a grid of thumbnails."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeAlias, cast

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:
    from astropy.io.fits import CompImageHDU, HDUList, Header, ImageHDU, PrimaryHDU
    from astropy.wcs import WCS
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.image import AxesImage

    from ..typing import PathLike
from .figures import check_suffix, figure, label_sky, require_matplotlib, save

__all__ = ["STRETCHES", "ImageSource", "Stretch", "overview", "quicklook"]

#: The stretches :func:`quicklook` and :func:`overview` know (astropy.visualization's).
STRETCHES = ("asinh", "log", "sqrt", "linear")

#: An image: a FITS file's path, an astropy image HDU or HDU list (its first image), or a 2-D numpy array.
ImageSource: TypeAlias = "str | os.PathLike[str] | PrimaryHDU | ImageHDU | CompImageHDU | HDUList | np.ndarray"

Stretch: TypeAlias = Literal["asinh", "log", "sqrt", "linear"]


def quicklook(
    image: ImageSource,
    path: PathLike | None = None,
    *,
    stretch: Stretch = "asinh",
    title: str | None = None,
    size: tuple[float, float] = (6.4, 5.6),
    dpi: int = 100,
) -> Figure:
    """Draw one image for a quick look: stretched, with sky coordinates when it has them, titled from its header.

    The grey levels run from the image's lowest value to its 99.5th percentile through the ``stretch``
    (astropy.visualization), so faint structure shows next to bright sources.  An image over 512 pixels a
    side is shown summed in square blocks (said on the colour bar), so single counts stay visible.  With a
    celestial WCS in the header the axes are RA and Dec; without one, pixels.  The title names the object,
    ObsID, telescope and instrument (``OBJECT``, ``OBS_ID``, ``TELESCOP``, ``INSTRUME``) and the file; the
    colour bar is in the image's ``BUNIT``.  An image without a count (all zeros), with one value everywhere,
    or with no finite value is drawn with a label saying so, rather than failing.

    Parameters
    ----------
    image : str, os.PathLike, astropy HDU or HDUList, or numpy.ndarray
        A FITS file (its first HDU holding an image), an image HDU or HDU list, or a 2-D array.
    path : str or os.PathLike, optional
        Also write the figure here (``.png``, ``.pdf`` or ``.svg``; missing folders are made).
    stretch : {'asinh', 'log', 'sqrt', 'linear'}, optional
        How values map to grey levels (default ``"asinh"``: linear when faint, logarithmic when bright).
    title : str, optional
        The title; default: from the header (object, ObsID, telescope, instrument) and the file name.
    size : tuple of float, optional
        Width and height in inches (default 6.4 x 5.6).
    dpi : int, optional
        Dots per inch of a written PNG (default 100: 640 x 560 pixels).

    Returns
    -------
    matplotlib.figure.Figure
        The figure, made without pyplot.

    Raises
    ------
    vodaxa.errors.InputError
        ``image`` is not an image: a missing or non-FITS file, a FITS file with tables only, an array that is
        not 2-D; or ``stretch`` is unknown, or ``path`` has another suffix.  The message says what to give.
    vodaxa.errors.MissingDependencyError
        matplotlib is not installed (``pip install 'vodaxa[plot]'``).

    See Also
    --------
    overview : Thumbnails of several images in one figure.
    vodaxa.process.Workspace.quicklooks : Quick-looks of every image a workspace made.

    Examples
    --------
    >>> import numpy as np
    >>> from vodaxa.plot import quicklook
    >>> counts = np.random.default_rng(1).poisson(0.5, size=(64, 64))
    >>> figure = quicklook(counts, "counts.png", title="Poisson noise")
    >>> figure.get_size_inches().tolist()
    [6.4, 5.6]
    """
    require_matplotlib("quicklook")
    _check_stretch(stretch)
    check_suffix(path)
    data, header, name = _read_image(image)
    fig = figure(size, dpi)
    wcs = _celestial(header, data.shape)
    data, factor = _binned(data, 512)
    if wcs is not None and factor > 1:
        wcs = wcs.slice((slice(None, None, factor), slice(None, None, factor)))
    ax = fig.add_subplot(projection=wcs) if wcs is not None else fig.add_subplot()
    shown = _show(ax, data, stretch)
    if wcs is not None:
        label_sky(ax, "RA", "Dec")
    else:
        ax.set_xlabel("x (pixel)")
        ax.set_ylabel("y (pixel)")
    unit = (str(header.get("BUNIT", "")).strip() if header is not None else "") or "value"
    summed = f" (sums of {factor} x {factor} pixels)" if factor > 1 else ""
    fig.colorbar(shown, ax=ax, label=unit + summed, shrink=0.9)
    ax.set_title(title if title is not None else _image_title(header, name), fontsize="medium")
    if path is not None:
        save(fig, path, dpi)
    return fig


def overview(
    images: ImageSource | Sequence[ImageSource],
    path: PathLike | None = None,
    *,
    columns: int | None = None,
    stretch: Stretch = "asinh",
    title: str | None = None,
    dpi: int = 100,
) -> Figure:
    """Draw several images as a grid of thumbnails, each stretched on its own and labelled.

    Each thumbnail is titled with its ObsID and instrument (from the header) and its file name; an image
    without a count says "no counts".  The grid is ``columns`` wide (default: about square, at most 6).

    Parameters
    ----------
    images : image or sequence of images
        FITS files, image HDUs or HDU lists, or 2-D arrays (see :func:`quicklook`); one image is a grid of one.
    path : str or os.PathLike, optional
        Also write the figure here (``.png``, ``.pdf`` or ``.svg``; missing folders are made).
    columns : int, optional
        Thumbnails per row (default: the square root of their number, rounded up, at most 6).
    stretch : {'asinh', 'log', 'sqrt', 'linear'}, optional
        How values map to grey levels (default ``"asinh"``).
    title : str, optional
        The figure's title; default: how many images.
    dpi : int, optional
        Dots per inch of a written PNG (default 100; each thumbnail is 3 inches a side).

    Returns
    -------
    matplotlib.figure.Figure
        The figure, made without pyplot.

    Raises
    ------
    vodaxa.errors.InputError
        No images were given, one of them is not an image (the message says which, and what to give),
        ``columns`` is not a positive number, ``stretch`` is unknown, or ``path`` has another suffix.
    vodaxa.errors.MissingDependencyError
        matplotlib is not installed (``pip install 'vodaxa[plot]'``).

    See Also
    --------
    quicklook : One image, larger, with sky coordinates and a colour bar.

    Examples
    --------
    >>> import numpy as np
    >>> from vodaxa.plot import overview
    >>> rng = np.random.default_rng(2)
    >>> figure = overview([rng.poisson(1.0, (32, 32)), np.zeros((32, 32))], "overview.png")
    >>> len(figure.axes)
    2
    """
    require_matplotlib("overview")
    _check_stretch(stretch)
    check_suffix(path)
    items = [images] if _is_one_image(images) else list(cast("Sequence[ImageSource]", images))
    if not items:
        raise InputError("overview: no images were given; give one or more FITS images (files, HDUs or 2-D arrays)")
    if columns is not None and (not isinstance(columns, int) or columns < 1):
        raise InputError(f"columns={columns!r}: give a positive number of thumbnails per row")
    read = []
    for number, item in enumerate(items, start=1):
        try:
            read.append(_read_image(item))
        except InputError as err:
            raise InputError(f"overview: image {number} of {len(items)}: {err}") from None
    across = min(len(read), columns or min(6, math.ceil(math.sqrt(len(read)))))
    rows = math.ceil(len(read) / across)
    fig = figure((3.0 * across, 3.0 * rows + 0.5), dpi)
    for index, (data, header, name) in enumerate(read):
        ax = fig.add_subplot(rows, across, index + 1)
        _show(ax, _binned(data, 256)[0], stretch, note_size="medium")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(_image_title(header, name, short=True), fontsize="small")
    fig.suptitle(title if title is not None else f"{len(read)} image{'s' * (len(read) != 1)}")
    if path is not None:
        save(fig, path, dpi)
    return fig


def _is_one_image(images: object) -> bool:
    if isinstance(images, (str, os.PathLike, np.ndarray)):
        return True
    from astropy.io import fits

    return isinstance(images, (fits.HDUList, fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU))


def _check_stretch(stretch: str) -> None:
    if stretch not in STRETCHES:
        raise InputError(f"stretch={stretch!r}: use one of {', '.join(STRETCHES)}")


def _read_image(image: ImageSource) -> tuple[np.ndarray, Header | None, str]:
    """(2-D float data, header or None, a name) of an image; InputError for anything that is not one."""
    from astropy.io import fits

    how = "give a FITS image (a counts image, rate map or exposure map), an image HDU, or a 2-D array"
    if isinstance(image, np.ndarray):
        return _plane(image, f"an array of shape {image.shape}", how), None, "array"
    if isinstance(image, (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)):
        if image.data is None:
            raise InputError(f"the {image.name or 'PRIMARY'} HDU holds no data; {how}")
        return _plane(image.data, f"the {image.name} HDU", how), image.header, image.name or "image"
    if isinstance(image, fits.HDUList):
        return _first_image(image, "the HDU list", how)
    if not isinstance(image, (str, os.PathLike)):
        raise InputError(f"{type(image).__name__} is not an image; {how}")
    path = Path(image)
    if not path.is_file():
        raise InputError(f"{path}: no such file; {how}")
    try:
        with fits.open(path, memmap=False) as hdul:
            hdul.verify("silentfix")
            data, header, _ = _first_image(hdul, str(path), how)
    except InputError:
        raise
    except Exception as err:  # astropy raises OSError, ValueError and others for a file that is not FITS
        raise InputError(f"{path}: not a readable FITS file ({type(err).__name__}: {err}); {how}") from None
    return data, header, path.name


def _first_image(hdul: HDUList, where: str, how: str) -> tuple[np.ndarray, Header, str]:
    for hdu in hdul:
        if getattr(hdu, "is_image", False) and hdu.data is not None and np.ndim(hdu.data) >= 2:
            return _plane(hdu.data, f"{where} [{hdu.name}]", how), hdu.header.copy(), hdu.name
    kinds = ", ".join(f"{h.name} ({type(h).__name__})" for h in hdul) or "none"
    raise InputError(f"{where} holds no image (its HDUs: {kinds}); {how}")


def _plane(data: np.ndarray, where: str, how: str) -> np.ndarray:
    """A 2-D float copy of ``data``: length-one axes dropped; anything else not 2-D refused."""
    values = np.asarray(data)
    if values.dtype.kind not in "biuf":
        raise InputError(f"{where} holds {values.dtype} values, not numbers; {how}")
    values = np.squeeze(values)
    if values.ndim != 2:
        raise InputError(f"{where} is {values.ndim}-dimensional (shape {np.shape(data)}); {how}")
    return values.astype(float)


def _celestial(header: Header | None, shape: tuple[int, ...]) -> WCS | None:
    """The header's celestial WCS, when it has one matching a 2-D image, else None."""
    if header is None:
        return None
    from astropy.wcs import WCS

    from ..quiet import quiet

    try:
        with quiet():  # FITSFixedWarning about dates and the like: nothing to do with the picture
            wcs = WCS(header)
    except Exception:  # a header whose WCS astropy cannot read: pixels instead
        return None
    if not wcs.has_celestial or wcs.naxis != 2 or len(shape) != 2:
        return None
    return wcs.celestial


def _binned(data: np.ndarray, largest: int) -> tuple[np.ndarray, int]:
    """``data`` summed in square blocks so that neither side exceeds ``largest`` pixels (single counts stay visible
    in a thumbnail, where resampling would drop them), and the block size."""
    factor = max(1, math.ceil(max(data.shape) / largest))
    if factor == 1:
        return data, 1
    rows, cols = (math.ceil(n / factor) * factor for n in data.shape)
    padded = np.full((rows, cols), np.nan)
    padded[: data.shape[0], : data.shape[1]] = data
    blocks = padded.reshape(rows // factor, factor, cols // factor, factor)
    empty = np.isnan(blocks).all(axis=(1, 3))
    summed = np.nansum(blocks, axis=(1, 3))
    summed[empty] = np.nan
    return summed, factor


def _show(ax: Axes, data: np.ndarray, stretch: str, note_size: str = "large") -> AxesImage:
    """``data`` drawn on ``ax`` with ``stretch`` between its minimum and 99.5th percentile; an empty image says so."""
    from astropy.visualization import (
        AsinhStretch,
        ImageNormalize,
        LinearStretch,
        LogStretch,
        SqrtStretch,
    )

    finite = data[np.isfinite(data)]
    note = None
    if not finite.size:
        lo, hi, note = 0.0, 1.0, "no data (every pixel is NaN)"
    else:
        lo, top = float(finite.min()), float(finite.max())
        hi = float(np.percentile(finite, 99.5))
        if hi <= lo:
            hi = top
        if hi <= lo:
            note = "no counts" if lo == 0 else f"one value everywhere ({lo:g})"
            hi = lo + 1.0
    stretches = {"asinh": AsinhStretch(0.1), "log": LogStretch(1000), "sqrt": SqrtStretch(), "linear": LinearStretch()}
    norm = ImageNormalize(vmin=lo, vmax=hi, stretch=stretches[stretch], clip=True)
    shown = ax.imshow(np.nan_to_num(data, nan=lo), origin="lower", cmap="magma", norm=norm, interpolation="nearest")
    if note:
        ax.text(0.5, 0.5, note, transform=ax.transAxes, ha="center", va="center", fontsize=note_size, color="white",
                bbox={"facecolor": "0.25", "edgecolor": "none", "alpha": 0.85, "boxstyle": "round"})  # fmt: skip
    return shown


def _image_title(header: Header | None, name: str, *, short: bool = False) -> str:
    """Object, ObsID, telescope and instrument from the header, then the file name."""
    def word(key: str) -> str:
        return str(header.get(key, "")).strip() if header is not None else ""

    obs = f"ObsID {word('OBS_ID')}" if word("OBS_ID") else ""
    instrument = " ".join(dict.fromkeys(w for w in (word("TELESCOP"), word("INSTRUME")) if w))
    first = ", ".join(p for p in ((obs, instrument) if short else (word("OBJECT"), obs, instrument)) if p)
    return f"{first}\n{name}" if first else name
