"""Quick-looks of images: one image with a stretch and sky coordinates, or a grid of thumbnails."""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal, TypeAlias, cast

import numpy as np

from ..errors import InputError
from .figures import LITERAL, check_figure, check_target, figure, label_sky, require_matplotlib, save, sky_labels
from .reading import MAX_IMAGE_PIXELS, ImageSource, read_image

if TYPE_CHECKING:
    from astropy.io.fits import Header
    from astropy.wcs import WCS
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.image import AxesImage

    from ..typing import PathLike

__all__ = ["MAX_IMAGE_PIXELS", "STRETCHES", "STRETCH_NOTE", "ImageSource", "Stretch", "overview", "quicklook"]

#: The stretches :func:`quicklook` and :func:`overview` know (astropy.visualization's).
STRETCHES = ("asinh", "log", "sqrt", "linear")

#: The text chunk of a quick-look PNG naming its stretch (what :meth:`vodaxa.process.Workspace.quicklooks` reads
#: to redraw a picture whose stretch differs).
STRETCH_NOTE = "vodaxa-stretch"

Stretch: TypeAlias = Literal["asinh", "log", "sqrt", "linear"]

_LARGE, _SMALL = 1e30, 1e-30  # beyond these, values are drawn in units of a power of ten (said on the colour bar)


def quicklook(
    image: ImageSource,
    path: PathLike | None = None,
    *,
    stretch: Stretch = "asinh",
    title: str | None = None,
    size: tuple[float, float] = (6.4, 5.6),
    dpi: float = 100,
) -> Figure:
    """Draw one image for a quick look: stretched, with sky coordinates when it has them, titled from its header.

    The grey levels run from the image's lowest value to the 99.5th percentile of the pixels above it, through the
    ``stretch`` (astropy.visualization), so faint structure shows next to bright sources, and a source in an X-ray image
    of mostly empty pixels is not drawn as bright as a single background count.  An image over 512 pixels a side is
    shown summed in square blocks (said on the colour bar; means of them where a sum would overflow), read a slice of
    rows at a time, so single counts stay visible and memory stays small.  An image of more than
    :data:`MAX_IMAGE_PIXELS` (100 million) is refused from its declared shape, before any pixel is read.  With a
    celestial WCS in the header the axes are named from its world coordinates (RA and Dec, Galactic or ecliptic
    longitude and latitude); without one, pixels.  The title names the object, ObsID, telescope and instrument
    (``OBJECT``, ``OBS_ID``, ``TELESCOP``, ``INSTRUME``) and the file; the colour bar is in the image's ``BUNIT``.
    Every text is drawn as written (a ``$`` is not mathtext).  Infinite pixels are missing, like NaN; values beyond 1e30
    (or below 1e-30) are drawn in units of a power of ten, said on the colour bar.  An image without a count (all
    zeros), with one value everywhere, or with no finite value is drawn with a label saying so, rather than failing.  A
    written PNG records the stretch in its ``vodaxa-stretch`` text chunk.

    Parameters
    ----------
    image : str, os.PathLike, astropy HDU or HDUList, or numpy.ndarray
        A FITS file (its first HDU holding an image), an image HDU or HDU list, or a 2-D array (length-one axes
        are dropped: a 1 x N image is a row).
    path : str or os.PathLike, optional
        Also write the figure here (``.png``, ``.pdf`` or ``.svg``; missing folders are made; written whole or
        not at all).
    stretch : {'asinh', 'log', 'sqrt', 'linear'}, optional
        How values map to grey levels (default ``"asinh"``: linear when faint, logarithmic when bright).
    title : str, optional
        The title; default: from the header (object, ObsID, telescope, instrument) and the file name.
    size : tuple of float, optional
        Width and height in inches (default 6.4 x 5.6).
    dpi : float, optional
        Dots per inch of a written PNG (default 100: 640 x 560 pixels); with ``size``, at most
        :data:`vodaxa.plot.MAX_FIGURE_PIXELS` pixels.

    Returns
    -------
    matplotlib.figure.Figure
        The figure, made without pyplot.

    Raises
    ------
    vodaxa.errors.InputError
        ``image`` is not an image: a missing or non-FITS file, a FITS file with tables only, an array that is
        not 2-D, an image of more than :data:`MAX_IMAGE_PIXELS`; or ``stretch`` is unknown, ``size`` or ``dpi``
        are not positive (or make too many pixels), or ``path`` has another suffix, is a folder or cannot be
        written.  The message says what to give.
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
    check_figure(size, dpi)
    check_target(path)
    picture = read_image(image, 512)
    fig = figure(size, dpi)
    wcs = _celestial(picture.header, picture.shape)
    factor = picture.factor
    if wcs is not None and factor > 1:
        wcs = wcs.slice((slice(None, None, factor), slice(None, None, factor)))
    ax = fig.add_subplot(projection=wcs) if wcs is not None else fig.add_subplot()
    shown, exponent = _show(ax, picture.data, stretch)
    if wcs is not None:
        label_sky(ax, *sky_labels(wcs))
    else:
        ax.set_xlabel("x (pixel)")
        ax.set_ylabel("y (pixel)")
    header = picture.header
    unit = (str(header.get("BUNIT", "")).strip() if header is not None else "") or "value"
    unit += f" (x 1e{exponent})" if exponent else ""
    blocks = f" ({'means' if picture.means else 'sums'} of {factor} x {factor} pixels)" if factor > 1 else ""
    fig.colorbar(shown, ax=ax, shrink=0.9).set_label(unit + blocks, **LITERAL)
    ax.set_title(title if title is not None else _image_title(header, picture.name), fontsize="medium", **LITERAL)
    if path is not None:
        save(fig, path, dpi, notes={STRETCH_NOTE: stretch})
    return fig


def overview(
    images: ImageSource | Sequence[ImageSource],
    path: PathLike | None = None,
    *,
    columns: int | None = None,
    stretch: Stretch = "asinh",
    title: str | None = None,
    dpi: float = 100,
) -> Figure:
    """Draw several images as a grid of thumbnails, each stretched on its own and labelled.

    Each thumbnail is titled with its ObsID and instrument (from the header) and its file name; an image
    without a count says "no counts".  The grid is ``columns`` wide (default: about square, at most 6).  Each
    image is reduced to its thumbnail (summed in blocks of at most 256 pixels a side) as it is read, so many
    large images take little memory; each may have at most :data:`MAX_IMAGE_PIXELS`.  Texts are drawn as written.

    Parameters
    ----------
    images : image or sequence of images
        FITS files, image HDUs or HDU lists, or 2-D arrays (see :func:`quicklook`); one image is a grid of one.
    path : str or os.PathLike, optional
        Also write the figure here (``.png``, ``.pdf`` or ``.svg``; missing folders are made; written whole or
        not at all).
    columns : int, optional
        Thumbnails per row (default: the square root of their number, rounded up, at most 6).
    stretch : {'asinh', 'log', 'sqrt', 'linear'}, optional
        How values map to grey levels (default ``"asinh"``).
    title : str, optional
        The figure's title; default: how many images.
    dpi : float, optional
        Dots per inch of a written PNG (default 100; each thumbnail is 3 inches a side); the whole figure may
        have at most :data:`vodaxa.plot.MAX_FIGURE_PIXELS` pixels.

    Returns
    -------
    matplotlib.figure.Figure
        The figure, made without pyplot.

    Raises
    ------
    vodaxa.errors.InputError
        No images were given (or something that is neither an image nor a sequence of them), one of them is not
        an image or is too large (the message says which, and what to give), ``columns`` is not a positive
        whole number, ``stretch`` is unknown, ``dpi`` is not positive or makes too many pixels, or ``path`` has
        another suffix, is a folder or cannot be written.
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
    items = _image_list(images)
    if columns is not None and (isinstance(columns, bool) or not isinstance(columns, numbers.Integral)
                                or columns < 1):  # fmt: skip
        raise InputError(f"columns={columns!r}: give a positive number of thumbnails per row")
    across = min(len(items), int(columns) if columns is not None else min(6, math.ceil(math.sqrt(len(items)))))
    rows = math.ceil(len(items) / across)
    size = (3.0 * across, 3.0 * rows + 0.5)
    check_figure(size, dpi)
    check_target(path)
    pictures = []
    for number, item in enumerate(items, start=1):
        try:
            pictures.append(read_image(item, 256))  # each reduced to its thumbnail as it is read
        except InputError as err:
            raise InputError(f"overview: image {number} of {len(items)}: {err}") from None
    fig = figure(size, dpi)
    for index, picture in enumerate(pictures):
        ax = fig.add_subplot(rows, across, index + 1)
        _show(ax, picture.data, stretch, note_size="medium")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(_image_title(picture.header, picture.name, short=True), fontsize="small", **LITERAL)
    count = len(pictures)
    fig.suptitle(title if title is not None else f"{count} image{'s' * (count != 1)}", **LITERAL)
    if path is not None:
        save(fig, path, dpi, notes={STRETCH_NOTE: stretch})
    return fig


def _image_list(images: object) -> list[ImageSource]:
    """``images`` as a list of images: one image is a list of one; InputError for anything else, or none."""
    if _is_one_image(images):
        return [cast("ImageSource", images)]
    if not isinstance(images, Iterable) or isinstance(images, (Mapping, bytes)):
        raise InputError(f"overview takes images (FITS files, image HDUs or HDU lists, 2-D arrays, or a sequence of "
                         f"them), not {type(images).__name__}")  # fmt: skip
    items = list(cast("Iterable[ImageSource]", images))
    if not items:
        raise InputError("overview: no images were given; give one or more FITS images (files, HDUs or 2-D arrays)")
    return items


def _is_one_image(images: object) -> bool:
    if isinstance(images, (str, os.PathLike, np.ndarray)):
        return True
    from astropy.io import fits

    return isinstance(images, (fits.HDUList, fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU))


def _check_stretch(stretch: object) -> None:
    if not isinstance(stretch, str) or stretch not in STRETCHES:
        raise InputError(f"stretch={stretch!r}: use one of {', '.join(STRETCHES)}")


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


def _show(ax: Axes, data: np.ndarray, stretch: str, note_size: str = "large") -> tuple[AxesImage, int]:
    """``data`` drawn on ``ax`` with ``stretch`` between its minimum and the 99.5th percentile of the pixels above
    it (an empty image says
    so), and the power of ten it is drawn in units of (0 but for values beyond 1e30 or below 1e-30)."""
    from astropy.visualization import (
        AsinhStretch,
        ImageNormalize,
        LinearStretch,
        LogStretch,
        SqrtStretch,
    )

    finite = data[np.isfinite(data)]
    note, exponent = None, 0
    if not finite.size:
        lo, hi, note = 0.0, 1.0, "no data (every pixel is NaN)"
    else:
        lo, top = float(finite.min()), float(finite.max())
        if lo == top:
            note = "no counts" if lo == 0 else f"one value everywhere ({lo:g})"
        largest = max(abs(lo), abs(top))
        if largest > _LARGE or 0 < largest < _SMALL:  # matplotlib's colour bar cannot span such values: rescaled
            exponent = math.floor(math.log10(largest))
            first = -exponent // 2  # in two steps: 10**323 itself would overflow
            data = data * 10.0**first * 10.0 ** (-exponent - first)
            finite = data[np.isfinite(data)]
            lo, top = float(finite.min()), float(finite.max())
        above = finite[finite > lo]  # X-ray counts are mostly empty pixels: the scale is set by those with counts
        hi = float(np.percentile(above, 99.5)) if above.size else lo
        if hi <= lo:
            hi = top
        if hi <= lo:
            hi = lo + 1.0
    stretches = {"asinh": AsinhStretch(0.1), "log": LogStretch(1000), "sqrt": SqrtStretch(), "linear": LinearStretch()}
    norm = ImageNormalize(vmin=lo, vmax=hi, stretch=stretches[stretch], clip=True)
    shown = ax.imshow(np.nan_to_num(data, nan=lo), origin="lower", cmap="magma", norm=norm, interpolation="nearest")
    if note:
        ax.text(0.5, 0.5, note, transform=ax.transAxes, ha="center", va="center", fontsize=note_size, color="white",
                bbox={"facecolor": "0.25", "edgecolor": "none", "alpha": 0.85, "boxstyle": "round"})  # fmt: skip
    return shown, exponent


def _image_title(header: Header | None, name: str, *, short: bool = False) -> str:
    """Object, ObsID, telescope and instrument from the header, then the file name."""
    def word(key: str) -> str:
        return str(header.get(key, "")).strip() if header is not None else ""

    obs = f"ObsID {word('OBS_ID')}" if word("OBS_ID") else ""
    instrument = " ".join(dict.fromkeys(w for w in (word("TELESCOP"), word("INSTRUME")) if w))
    first = ", ".join(p for p in ((obs, instrument) if short else (word("OBJECT"), obs, instrument)) if p)
    return f"{first}\n{name}" if first else name
