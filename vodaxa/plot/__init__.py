"""Pictures: sky plots of search results and quick-looks of images, drawn with matplotlib.

matplotlib is an optional extra (``pip install 'vodaxa[plot]'``); it is imported only when a picture is drawn,
and without it every function here raises :class:`~vodaxa.errors.MissingDependencyError` saying what to
install.  The figures are :class:`matplotlib.figure.Figure` objects made without ``pyplot``: no global state,
no GUI backend, safe in scripts, threads and servers.  Show one in a notebook by leaving it as the cell's
value, or write it with ``path=`` (PNG, PDF or SVG, from the suffix).

:func:`sky_plot` draws a search result: the observations of each mission (a colour and marker each, counted
in the legend), the positions searched and the distance each mission searched around them, as circles of
the right angular size.  Fields a few degrees across are drawn in a tangent-plane view centred on them
(RA increasing to the left, well behaved across RA 0/360 and at the poles); wider ones on an Aitoff all-sky
map.  Both are astropy WCSAxes, with RA and Dec grid lines.

:func:`quicklook` draws one image (asinh or log stretch, sky coordinates when the header has a celestial
WCS) and :func:`overview` a grid of thumbnails; :meth:`vodaxa.process.Workspace.quicklooks` writes both for
every image a workspace made.

Whatever they are given, they draw every text as written (a ``$`` in a header, file or mission name is not
mathtext), refuse an image of more than :data:`MAX_IMAGE_PIXELS` from its declared shape before reading it, and
a figure of more than :data:`MAX_FIGURE_PIXELS`; a picture is written whole or not at all (a temporary file of
an unpredictable name, renamed), and a path that cannot be written is an :class:`~vodaxa.errors.InputError`
naming it.
"""

from __future__ import annotations

from .figures import INSTALL, MAX_FIGURE_PIXELS, require_matplotlib
from .images import MAX_IMAGE_PIXELS, STRETCHES, ImageSource, overview, quicklook
from .sky import LOCAL_FIELD, sky_plot

__all__ = [
    "INSTALL", "LOCAL_FIELD", "MAX_FIGURE_PIXELS", "MAX_IMAGE_PIXELS", "STRETCHES", "ImageSource", "overview",
    "quicklook", "require_matplotlib", "sky_plot",
]  # fmt: skip
