"""What every picture shares: matplotlib on demand, a figure without pyplot, and writing it whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError, MissingDependencyError

if TYPE_CHECKING:
    from astropy.visualization.wcsaxes import WCSAxes
    from matplotlib.figure import Figure

    from ..typing import PathLike

__all__ = ["INSTALL", "check_suffix", "figure", "label_sky", "require_matplotlib", "save"]

#: The command that installs what the pictures need.
INSTALL = "pip install 'vodaxa[plot]'"

_SUFFIXES = (".png", ".pdf", ".svg")


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


def figure(size: tuple[float, float], dpi: int) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=size, dpi=dpi, layout="constrained")


def label_sky(ax: WCSAxes, ra: str, dec: str, grid: bool = False) -> None:
    """Name the coordinates of WCSAxes (and draw their grid)."""
    if grid:
        ax.coords.grid(True, color="0.8", linewidth=0.6)
    ax.coords[0].set_axislabel(ra)
    ax.coords[1].set_axislabel(dec)


def check_suffix(path: PathLike | None) -> None:
    if path is not None and Path(path).suffix.lower() not in _SUFFIXES:
        raise InputError(f"{path}: a picture is written as {', '.join(_SUFFIXES)} (from the suffix)")


def save(fig: Figure, path: PathLike, dpi: int) -> Path:
    """Write ``fig`` to ``path`` whole or not at all (a temporary file renamed), making missing folders."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        fig.savefig(partial, format=target.suffix.lower().lstrip("."), dpi=dpi)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target
