"""What every picture shares: matplotlib on demand, a figure without pyplot of a checked size, text drawn as
written, and writing it whole or not at all."""

from __future__ import annotations

import math
import numbers
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError, MissingDependencyError

if TYPE_CHECKING:
    from astropy.visualization.wcsaxes import WCSAxes
    from astropy.wcs import WCS
    from matplotlib.figure import Figure
    from matplotlib.legend import Legend

    from ..typing import PathLike

__all__ = [
    "INSTALL", "LITERAL", "MAX_FIGURE_PIXELS", "check_figure", "check_suffix", "check_target", "figure", "label_sky",
    "literal_legend", "picture_notes", "require_matplotlib", "save", "sky_labels",
]  # fmt: skip

#: The command that installs what the pictures need.
INSTALL = "pip install 'vodaxa[plot]'"

#: Most pixels a figure may have (width x height, from its size in inches and its dpi): 50 million, a 200 MB
#: canvas; a larger ``dpi`` or ``size`` is refused before anything is drawn.
MAX_FIGURE_PIXELS = 50_000_000

#: Keywords of a matplotlib text drawn exactly as written: ``$...$`` in a header, file or mission name is not
#: mathtext, nor TeX.
LITERAL: dict[str, Any] = {"parse_math": False, "usetex": False}  # Any: spread into matplotlib's **kwargs

_SUFFIXES = (".png", ".pdf", ".svg")

#: The names of the world coordinates WCSAxes show, by the start of their IVOA UCD (astropy's physical types).
_WORLD_NAMES = {
    "pos.eq.ra": "RA", "pos.eq.dec": "Dec", "pos.galactic.lon": "Galactic longitude",
    "pos.galactic.lat": "Galactic latitude", "pos.ecliptic.lon": "Ecliptic longitude",
    "pos.ecliptic.lat": "Ecliptic latitude", "pos.supergalactic.lon": "Supergalactic longitude",
    "pos.supergalactic.lat": "Supergalactic latitude",
}  # fmt: skip


def require_matplotlib(feature: str = "vodaxa.plot") -> None:
    """Check that matplotlib can be imported, before any work that would need it.

    Parameters
    ----------
    feature : str, optional
        What needs it, for the message (default ``"vodaxa.plot"``).

    Raises
    ------
    vodaxa.errors.MissingDependencyError
        matplotlib is not installed; the message says ``pip install 'vodaxa[plot]'``.
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError as err:
        raise MissingDependencyError(
            f"{feature} needs matplotlib, which is not installed; install it with: {INSTALL}"
        ) from err


def check_figure(size: object, dpi: object) -> tuple[tuple[float, float], float]:
    """``size`` (inches) and ``dpi`` as numbers, after checking they are positive and make at most
    :data:`MAX_FIGURE_PIXELS` pixels; InputError otherwise."""
    dots = _positive(dpi)
    if dots is None:
        raise InputError(f"dpi={dpi!r}: give a positive number of dots per inch (e.g. 100)")
    inches = [_positive(v) for v in size] if isinstance(size, (tuple, list)) else []
    if len(inches) != 2 or inches[0] is None or inches[1] is None:
        raise InputError(f"size={size!r}: give (width, height) in inches, two positive numbers (e.g. (6.4, 5.6))")
    pixels = inches[0] * inches[1] * dots**2
    if pixels > MAX_FIGURE_PIXELS:
        raise InputError(f"size={size!r} at dpi={dpi!r} is {pixels:,.0f} pixels, more than the {MAX_FIGURE_PIXELS:,} "
                         "a picture may have; give a smaller size or dpi")  # fmt: skip
    return (inches[0], inches[1]), dots


def _positive(value: object) -> float | None:
    """``value`` as a float when it is a finite, positive real number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    number = float(value)
    return number if math.isfinite(number) and number > 0 else None


def figure(size: tuple[float, float], dpi: float) -> Figure:
    """A matplotlib Figure made without pyplot, after :func:`check_figure`."""
    from matplotlib.figure import Figure

    size, dpi = check_figure(size, dpi)
    return Figure(figsize=size, dpi=dpi, layout="constrained")


def sky_labels(wcs: WCS) -> tuple[str, str]:
    """The names of a celestial WCS's two world coordinates, in their order (RA and Dec, Galactic longitude and
    latitude, ...); the CTYPE's first word for others."""
    types = list(wcs.world_axis_physical_types)
    names = []
    for index, kind in enumerate(types[:2]):
        name = next((v for k, v in _WORLD_NAMES.items() if str(kind or "").startswith(k)), None)
        names.append(name or str(wcs.wcs.ctype[index]).split("-")[0] or f"world {index + 1}")
    return names[0], names[1]


def label_sky(ax: WCSAxes, ra: str, dec: str, grid: bool = False) -> None:
    """Name the coordinates of WCSAxes (and draw their grid)."""
    if grid:
        ax.coords.grid(True, color="0.8", linewidth=0.6)
    ax.coords[0].set_axislabel(ra, **LITERAL)
    ax.coords[1].set_axislabel(dec, **LITERAL)


def literal_legend(legend: Legend) -> Legend:
    """``legend`` with its texts drawn as written (mission names with ``$`` in them)."""
    for text in legend.get_texts():
        text.set_parse_math(False)
        text.set_usetex(False)
    return legend


def check_suffix(path: PathLike | None) -> None:
    """InputError unless ``path`` (when given) ends in ``.png``, ``.pdf`` or ``.svg``."""
    if path is not None and Path(path).suffix.lower() not in _SUFFIXES:
        raise InputError(f"{path}: a picture is written as {', '.join(_SUFFIXES)} (from the suffix)")


def check_target(path: PathLike | None, what: str | None = None) -> None:
    """InputError, before any drawing, unless ``path`` (when given) can be a picture: its suffix, not a folder,
    and no file where a folder of it must be; ``what`` names it in the message (e.g. ``"--plot"``)."""
    if path is None:
        return
    named = f"{what} {path}" if what else str(path)
    if Path(path).suffix.lower() not in _SUFFIXES:
        raise InputError(f"{named}: a picture is written as {', '.join(_SUFFIXES)} (from the suffix)")
    target = Path(path).expanduser()
    if target.is_dir():
        raise InputError(f"{named} is a folder; give a file name in it, e.g. {Path(path) / 'sky.png'}")
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"{named}: {parent} is a file, not a folder; give a path in a folder")
            break


def save(fig: Figure, path: PathLike, dpi: float, notes: Mapping[str, str] | None = None) -> Path:
    """Write ``fig`` to ``path`` whole or not at all, making missing folders: a temporary file of an unpredictable
    name made anew in the same folder (``tempfile.mkstemp``), renamed over the target.  ``notes`` are written
    into a PNG's text chunks.  InputError naming ``path`` and the reason when it cannot be written."""
    target = Path(path).expanduser()
    kind = target.suffix.lower().lstrip(".")
    metadata = {"Software": "vodaxa", **(notes or {})} if kind == "png" else None
    partial: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(prefix=".vodaxa-", suffix=".part", dir=target.parent)
        with os.fdopen(handle, "wb") as out:
            os.chmod(partial, 0o666 & ~_umask())  # mkstemp's 0600 would hide the picture from others
            fig.savefig(out, format=kind, dpi=dpi, metadata=metadata)
        os.replace(partial, target)
        partial = None
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise InputError(f"{path}: the picture could not be written there ({reason}); give a path in a folder you "
                         "can write, with room on its disk") from None  # fmt: skip
    finally:
        if partial is not None:
            Path(partial).unlink(missing_ok=True)
    return target


def picture_notes(path: PathLike) -> dict[str, str]:
    """The text chunks of a PNG written by :func:`save` (empty for another file, or one that cannot be read)."""
    try:
        from PIL import Image

        with Image.open(path) as picture:
            return {str(k): str(v) for k, v in getattr(picture, "text", {}).items()}
    except Exception:  # not a PNG, truncated, or Pillow missing: nothing known about how it was drawn
        return {}


def _umask() -> int:
    """The process's umask, read without changing it (``os.umask`` would, for every thread); 022 if unknown."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022
