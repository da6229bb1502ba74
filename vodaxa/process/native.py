"""Reductions without CIAO, SAS or HEASoft: event filtering (energy, grade, status, GTI), sigma-clipped
light-curve flare GTIs, binned count images and rate maps, with numpy and astropy, for any mission's
event lists with the standard columns (TIME, X, Y, and ENERGY, GRADE, STATUS where present).

Outputs are FITS files with the sky WCS of the event list's X/Y columns (and a physical WCS "P"),
and provenance keywords (CREATOR, DATE, HISTORY: the input, every filter and its parameters).
`reduce` runs every step for every event list of a `~vodaxa.process.Workspace`; the other functions
are the steps, for one file at a time.
"""

from __future__ import annotations

import concurrent.futures
import math
import os
import re
import threading
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np

from ..errors import ProcessingError
from .runner import ProcessReport, Task, Workspace, run_step
from .unpack import unpack

if TYPE_CHECKING:
    from astropy.io.fits import FITS_rec, Header

    from ..typing import PathLike

__all__ = [
    "EVENT_PATTERNS",
    "MAX_PIXELS",
    "FilterSummary",
    "ImageSummary",
    "LightCurve",
    "count_image",
    "filter_events",
    "find_event_lists",
    "flare_gtis",
    "intersect_gtis",
    "rate_map",
    "read_events",
    "reduce",
]

#: Largest image side in pixels; wider fields get coarser bins (said in the image's HISTORY).
MAX_PIXELS = 2048

#: File names taken for event lists (level-2 or cleaned), searched in each downloaded observation.
EVENT_PATTERNS = ("*evt2.fits*", "*_cl.evt*", "*EventList*.fits*", "*_evt.fits*", "*.evt.gz", "*.evt", "*EVLI*.F*")


class LightCurve(TypedDict):
    """The light curve :func:`flare_gtis` clipped, to plot or check what it kept.

    Attributes
    ----------
    starts : numpy.ndarray
        The start of each full bin, in the TIME unit of the times given.
    counts : numpy.ndarray
        Events in each bin.
    kept : numpy.ndarray
        Whether each bin survived the clipping (bool).
    mean : float
        The mean rate of the kept bins, in counts per TIME unit (NaN when no full bin fits in the GTIs).
    std : float
        The standard deviation of the kept bins' rates (NaN when no full bin fits in the GTIs).
    """

    starts: np.ndarray
    counts: np.ndarray
    kept: np.ndarray
    mean: float
    std: float


class FilterSummary(TypedDict):
    """What :func:`filter_events` kept.

    Attributes
    ----------
    events_in : int
        Events in the input list.
    events_out : int
        Events written.
    exposure : float
        Seconds inside the final GTIs (the EXPOSURE keyword written).
    gtis : list of list of float
        The final GTIs, ``[start, stop]`` in the event list's TIME unit.
    """

    events_in: int
    events_out: int
    exposure: float
    gtis: list[list[float]]


class ImageSummary(TypedDict):
    """What :func:`count_image` binned.

    Attributes
    ----------
    counts : int
        Events in the image.
    shape : list of int
        The image's ``[rows, columns]`` (Y, X).
    exposure : float
        Seconds inside the event list's GTIs (the EXPOSURE keyword written).
    bin_size : float
        Sky pixels per image pixel, a side: as asked, or wider when the image would exceed `MAX_PIXELS`.
    """

    counts: int
    shape: list[int]
    exposure: float
    bin_size: float


def _creator() -> str:
    from .. import __version__

    return f"vodaxa {__version__} (native)"


# ---------------------------------------------------------------------------------- reading
def read_events(path: PathLike) -> tuple[FITS_rec, Header, np.ndarray, float]:
    """Read an event list: its events, their header, its GTIs and its TIME unit.

    Parameters
    ----------
    path : str or os.PathLike
        A FITS event list (compressed or not) with an EVENTS extension holding at least TIME, X and Y.

    Returns
    -------
    data : astropy.io.fits.FITS_rec
        The EVENTS table.
    header : astropy.io.fits.Header
        A copy of the EVENTS header.
    gtis : numpy.ndarray
        The good time intervals as an ``(n, 2)`` array of ``[start, stop]`` in the TIME unit: those of the first
        GTI (or STDGTI) extension, else ``[[TSTART, TSTOP]]`` from the header.
    seconds : float
        Seconds per TIME unit: 86400 when TIME is in days, else 1.

    Raises
    ------
    vodaxa.errors.ProcessingError
        If the file is not a readable FITS file, has no EVENTS extension, lacks TIME, X or Y, or has neither a
        GTI extension nor TSTART and TSTOP.
    """
    from astropy.io import fits

    try:
        with fits.open(path, memmap=False) as hdul:
            if "EVENTS" not in hdul:
                raise ProcessingError(f"{path}: no EVENTS extension; is it an event list?")
            events = hdul["EVENTS"]
            data, header = events.data, events.header.copy()
            gti_hdu = next((h for h in hdul[2:] if h.name.startswith(("GTI", "STDGTI"))), None)
            if gti_hdu is not None and len(gti_hdu.data):
                gtis = np.column_stack([gti_hdu.data["START"], gti_hdu.data["STOP"]]).astype(float)
            else:
                gtis = np.array([[float(header["TSTART"]), float(header["TSTOP"])]])
    except OSError as err:
        raise ProcessingError(f"{path}: not a readable FITS event list ({err})") from None
    except KeyError as err:
        raise ProcessingError(f"{path}: no GTI extension and no {err} keyword to bound the observation") from None
    missing = {"TIME", "X", "Y"} - {c.upper() for c in data.columns.names}
    if missing:
        raise ProcessingError(f"{path}: the EVENTS table lacks the standard column(s) {', '.join(sorted(missing))}")
    unit = str(header.get(f"TUNIT{data.columns.names.index('TIME') + 1}", "s")).strip().lower()
    return data, header, gtis, 86400.0 if unit in ("d", "day", "days") else 1.0


def _energy_ev(data: Any, header: Any) -> np.ndarray | None:
    """Event energies in eV (from ENERGY), or None when the list has no ENERGY column."""
    names = [n.upper() for n in data.columns.names]
    if "ENERGY" not in names:
        return None
    index = names.index("ENERGY") + 1
    unit = str(header.get(f"TUNIT{index}", "eV")).strip().lower()
    values = np.asarray(data.field(index - 1), dtype=float)
    return values * 1000.0 if unit == "kev" else values


def _status_ok(data: Any) -> np.ndarray:
    """STATUS == 0 (all bits clear), whether STATUS is an integer or a bit array."""
    if "STATUS" not in [n.upper() for n in data.columns.names]:
        return np.ones(len(data), dtype=bool)
    status = np.asarray(data["STATUS"])
    return np.logical_not(status.reshape(len(data), -1).astype(bool).any(axis=1))


# ---------------------------------------------------------------------------------- GTIs
def intersect_gtis(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersect two lists of good time intervals.

    Parameters
    ----------
    a, b : numpy.ndarray
        GTI lists, ``(n, 2)`` arrays of half-open intervals ``[start, stop)``, in the same time unit.

    Returns
    -------
    numpy.ndarray
        The intervals common to both, sorted, as an ``(m, 2)`` array (``(0, 2)`` when they do not overlap).

    Examples
    --------
    >>> import numpy as np
    >>> from vodaxa.process.native import intersect_gtis
    >>> intersect_gtis(np.array([[0.0, 100.0], [200.0, 300.0]]), np.array([[50.0, 250.0]])).tolist()
    [[50.0, 100.0], [200.0, 250.0]]
    """
    out = []
    for s1, e1 in a:
        for s2, e2 in b:
            lo, hi = max(s1, s2), min(e1, e2)
            if hi > lo:
                out.append((lo, hi))
    return np.array(sorted(out), dtype=float).reshape(-1, 2)


def flare_gtis(
    times: np.ndarray, gtis: np.ndarray, bin_size: float = 200.0, sigma: float = 3.0, min_length: int = 3
) -> tuple[np.ndarray, LightCurve]:
    """Find flare-free GTIs by sigma clipping a light curve (the idea of CIAO's ``deflare method=sigma``).

    Full ``bin_size`` bins are laid from the start of each GTI (a partial last bin is dropped); bins whose
    rate is more than ``sigma`` standard deviations from the mean of the kept bins are dropped, until
    nothing changes; runs of at least ``min_length`` consecutive kept bins become GTIs.

    Parameters
    ----------
    times : numpy.ndarray
        The events' arrival times.
    gtis : numpy.ndarray
        The good time intervals to bin, an ``(n, 2)`` array of ``[start, stop]`` in the unit of ``times``.
    bin_size : float, optional
        The light curve's bin width, in the unit of ``times`` (200 by default, DAXA's seconds).
    sigma : float, optional
        How many standard deviations from the mean a bin may be and be kept (3 by default).
    min_length : int, optional
        The fewest consecutive kept bins that make a GTI (3 by default).

    Returns
    -------
    gtis : numpy.ndarray
        The flare-free GTIs, an ``(m, 2)`` array (``(0, 2)`` when no run is long enough).
    curve : LightCurve
        The light curve: bin starts, counts, kept flags, and the final mean and standard deviation.

    Raises
    ------
    vodaxa.errors.ProcessingError
        If ``bin_size`` or ``sigma`` is not positive, or ``min_length`` is below 1.

    Examples
    --------
    Thirty 100 s bins of 5 events, but for a flare of 60 in the ninth:

    >>> import numpy as np
    >>> from vodaxa.process.native import flare_gtis
    >>> times = np.concatenate([b * 100 + np.linspace(1, 99, 60 if b == 8 else 5) for b in range(30)])
    >>> good, curve = flare_gtis(times, np.array([[0.0, 3000.0]]), bin_size=100)
    >>> good.tolist()
    [[0.0, 800.0], [900.0, 3000.0]]
    >>> int(curve["kept"].sum()), round(curve["mean"], 6)
    (29, 0.05)
    """
    if bin_size <= 0 or sigma <= 0 or min_length < 1:
        raise ProcessingError(f"bin_size={bin_size}, sigma={sigma}, min_length={min_length}: all must be positive")
    starts = np.concatenate([s + bin_size * np.arange(int((e - s) // bin_size)) for s, e in gtis] or [np.empty(0)])
    if starts.size == 0:
        nothing: LightCurve = {"starts": starts, "counts": np.empty(0), "kept": np.empty(0, bool),
                               "mean": float("nan"), "std": float("nan")}  # fmt: skip
        return np.empty((0, 2)), nothing
    order = np.sort(times)
    counts = np.searchsorted(order, starts + bin_size, side="left") - np.searchsorted(order, starts, side="left")
    rates = counts / bin_size
    kept = np.ones(starts.size, dtype=bool)
    mean = std = float("nan")
    for _ in range(100):  # clip until the kept set stops changing (it converges in a few rounds)
        mean, std = float(rates[kept].mean()), float(rates[kept].std())
        now = np.abs(rates - mean) <= sigma * std if std > 0 else np.isclose(rates, mean)
        if np.array_equal(now, kept) or not now.any():
            break
        kept = now
    out: list[tuple[float, float]] = []
    run: list[int] = []
    for i in range(starts.size):
        adjacent = run and math.isclose(starts[run[-1]] + bin_size, starts[i])
        if kept[i] and (not run or adjacent):
            run.append(i)
            continue
        if len(run) >= min_length:
            out.append((starts[run[0]], starts[run[-1]] + bin_size))
        run = [i] if kept[i] else []
    if len(run) >= min_length:
        out.append((starts[run[0]], starts[run[-1]] + bin_size))
    curve: LightCurve = {"starts": starts, "counts": counts, "kept": kept, "mean": mean, "std": std}
    return np.array(out, dtype=float).reshape(-1, 2), curve


# ---------------------------------------------------------------------------------- writing
def _provenance(header: Any, source: Path, lines: Sequence[str]) -> None:
    header["CREATOR"] = (_creator(), "software that made this file")
    header["DATE"] = (datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"), "file creation date (UTC)")
    header["HISTORY"] = f"vodaxa native: input {source.name}"
    for line in lines:
        header["HISTORY"] = f"vodaxa native: {line}"


def _gti_hdu(gtis: np.ndarray, time_scale: float) -> Any:
    from astropy.io import fits

    cols = [fits.Column("START", "D", "d" if time_scale != 1 else "s", array=gtis[:, 0]),
            fits.Column("STOP", "D", "d" if time_scale != 1 else "s", array=gtis[:, 1])]  # fmt: skip
    hdu = fits.BinTableHDU.from_columns(cols, name="GTI")
    hdu.header["HDUCLASS"], hdu.header["HDUCLAS1"] = "OGIP", "GTI"
    return hdu


def _write(hdus: list[Any], path: Path) -> Path:
    from astropy.io import fits

    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident() % 100000}.part")  # never shared
    fits.HDUList(hdus).writeto(scratch, overwrite=True, checksum=True)
    scratch.replace(path)
    return path


def filter_events(
    infile: PathLike, outfile: PathLike, *, energy: tuple[float, float] | None = None,
    grades: Sequence[int] | None = None, status_zero: bool = True, gtis: np.ndarray | None = None,
) -> FilterSummary:  # fmt: skip
    """Write the events of an event list that pass the filters: energy, grade, status and time.

    Kept are the events with energy in ``energy`` (keV), GRADE in ``grades``, STATUS == 0, and TIME inside
    ``gtis`` (intersected with the file's own); the output holds EVENTS and GTI, with EXPOSURE (and ONTIME,
    LIVETIME where present) updated to the final GTIs, and provenance keywords.

    Parameters
    ----------
    infile : str or os.PathLike
        The event list (see :func:`read_events`).
    outfile : str or os.PathLike
        The FITS file to write (replaced whole; its folder is made).
    energy : tuple of float, optional
        ``(lo, hi)`` in keV: keep ``lo <= ENERGY < hi`` (no energy filter by default).
    grades : sequence of int, optional
        The GRADE values to keep (all by default; ignored when the list has no GRADE column).
    status_zero : bool, optional
        Keep only events whose STATUS bits are all clear (True by default; nothing is dropped without STATUS).
    gtis : numpy.ndarray, optional
        Further good time intervals, ``(n, 2)`` in the TIME unit, intersected with the file's own (such as the
        flare-free GTIs of :func:`flare_gtis`).

    Returns
    -------
    FilterSummary
        Events in and out, the exposure in seconds and the final GTIs.

    Raises
    ------
    vodaxa.errors.ProcessingError
        If the event list cannot be read (:func:`read_events`), or ``energy`` is given for a list without an
        ENERGY column.

    Examples
    --------
    The 3 to 10 keV events of a NuSTAR event list, downloaded from the sandbox:

    >>> import vodaxa
    >>> from vodaxa.process import native
    >>> manifest = vodaxa.resolve(vodaxa.search(["3C 105"], missions=["nustar_pointed"]).head(1))
    >>> events = manifest.select(category="events").files["url"].iloc[0]
    >>> report = vodaxa.download([events], "data/", progress=False)
    >>> summary = native.filter_events(report.ok[0], "hard.fits", energy=(3.0, 10.0))
    >>> summary["events_out"] < summary["events_in"]
    True
    """
    infile = Path(infile)
    return _filter(infile, read_events(infile), Path(outfile), energy, grades, status_zero, gtis)


def _filter(
    infile: Path, events: tuple[Any, Any, np.ndarray, float], outfile: Path, energy: tuple[float, float] | None,
    grades: Sequence[int] | None, status_zero: bool, gtis: np.ndarray | None,
) -> FilterSummary:  # fmt: skip
    """:func:`filter_events` on an event list already read (:func:`read_events`)."""
    from astropy.io import fits

    data, header, own, scale = events
    keep = np.ones(len(data), dtype=bool)
    history = []
    if energy is not None:
        ev = _energy_ev(data, header)
        if ev is None:
            raise ProcessingError(f"{infile}: no ENERGY column, so no energy filter can be applied")
        keep &= (ev >= energy[0] * 1000) & (ev < energy[1] * 1000)
        history.append(f"energy {energy[0]:g}-{energy[1]:g} keV")
    if grades is not None and "GRADE" in [n.upper() for n in data.columns.names]:
        keep &= np.isin(np.asarray(data["GRADE"]), list(grades))
        history.append(f"grades {','.join(map(str, grades))}")
    if status_zero:
        keep &= _status_ok(data)
        history.append("STATUS == 0")
    final = intersect_gtis(own, gtis) if gtis is not None else own
    times = np.asarray(data["TIME"], dtype=float)
    in_gti = np.zeros(len(data), dtype=bool)
    for start, stop in final:
        in_gti |= (times >= start) & (times < stop)
    keep &= in_gti
    history.append(f"{len(final)} GTIs, {float(np.sum(final[:, 1] - final[:, 0])) * scale:.1f} s")
    kept = fits.BinTableHDU(data=data[keep], header=header, name="EVENTS")
    exposure = float(np.sum(final[:, 1] - final[:, 0])) * scale
    for key in ("EXPOSURE", "ONTIME", "LIVETIME"):
        if key in kept.header or key == "EXPOSURE":
            kept.header[key] = round(exposure, 3)
    _provenance(kept.header, infile, history)
    primary = fits.PrimaryHDU()
    _provenance(primary.header, infile, history)
    _write([primary, kept, _gti_hdu(final, scale)], outfile)
    return {"events_in": len(data), "events_out": int(keep.sum()), "exposure": exposure, "gtis": final.tolist()}


def _axis(header: Any, names: list[str], column: str) -> dict[str, Any]:
    index = names.index(column) + 1
    return {key: header.get(f"{key}{index}") for key in ("TCTYP", "TCRPX", "TCRVL", "TCDLT", "TCUNI", "TLMIN", "TLMAX")}


def count_image(
    infile: PathLike, outfile: PathLike, *, bin_size: float = 4, energy: tuple[float, float] | None = None
) -> ImageSummary:
    """Write a counts image of an event list, with its sky WCS.

    The events are binned ``bin_size`` sky pixels a side over the TLMIN..TLMAX range of X and Y where given,
    else the events' extent; coarser if the image would exceed `MAX_PIXELS` a side (said in HISTORY).  The
    image carries the sky WCS of the X and Y columns and a physical WCS "P", EXPOSURE (the GTIs' total),
    the event list's TELESCOP, INSTRUME, OBS_ID, OBJECT, DATE-OBS, TSTART, TSTOP and MJDREF, and provenance.

    Parameters
    ----------
    infile : str or os.PathLike
        The event list (see :func:`read_events`).
    outfile : str or os.PathLike
        The FITS image to write (replaced whole; its folder is made).
    bin_size : float, optional
        Sky pixels per image pixel, a side (4 by default).
    energy : tuple of float, optional
        ``(lo, hi)`` in keV: image only ``lo <= ENERGY < hi`` (all events by default).

    Returns
    -------
    ImageSummary
        Counts, the image's shape, the exposure in seconds and the bin size used.

    Raises
    ------
    vodaxa.errors.ProcessingError
        If the event list cannot be read (:func:`read_events`), or ``energy`` is given for a list without an
        ENERGY column.

    See Also
    --------
    rate_map : The image divided by its exposure.

    Examples
    --------
    An image of a NuSTAR event list downloaded from the sandbox, and its rate map:

    >>> import vodaxa
    >>> from vodaxa.process import native
    >>> manifest = vodaxa.resolve(vodaxa.search(["3C 105"], missions=["nustar_pointed"]).head(1))
    >>> events = manifest.select(category="events").files["url"].iloc[0]
    >>> report = vodaxa.download([events], "data/", progress=False)
    >>> image = native.count_image(report.ok[0], "image.fits", bin_size=8)
    >>> image["bin_size"], image["counts"] > 0
    (8, True)
    >>> rate = native.rate_map("image.fits", "rate.fits")
    >>> from astropy.io import fits
    >>> fits.getheader("rate.fits")["BUNIT"]
    'count/s'
    """
    from astropy.io import fits

    infile = Path(infile)
    data, header, gtis, scale = read_events(infile)
    names = [n.upper() for n in data.columns.names]
    x, y = np.asarray(data["X"], dtype=float), np.asarray(data["Y"], dtype=float)
    if energy is not None:
        ev = _energy_ev(data, header)
        if ev is None:
            raise ProcessingError(f"{infile}: no ENERGY column, so no energy band can be imaged")
        band = (ev >= energy[0] * 1000) & (ev < energy[1] * 1000)
        x, y = x[band], y[band]
    axes = {c: _axis(header, names, c) for c in ("X", "Y")}
    spans = []
    for values, axis in ((x, axes["X"]), (y, axes["Y"])):
        lo = axis["TLMIN"] if axis["TLMIN"] is not None else (math.floor(values.min()) if values.size else 0.0)
        hi = axis["TLMAX"] if axis["TLMAX"] is not None else (math.ceil(values.max()) if values.size else 1.0)
        spans.append((float(lo), float(hi)))
    asked = bin_size
    widest = max(hi - lo for lo, hi in spans)
    if widest / bin_size > MAX_PIXELS:  # fine sky pixels (eROSITA's are 0.05"): coarser bins, never GBs
        bin_size = float(math.ceil(widest / MAX_PIXELS))
    edges = [lo + bin_size * np.arange(max(1, math.ceil((hi - lo) / bin_size)) + 1) for lo, hi in spans]
    image, _, _ = np.histogram2d(y, x, bins=[edges[1], edges[0]])
    hdu = fits.PrimaryHDU(image.astype(np.int32))
    h = hdu.header
    for n, (axis, edge) in enumerate(((axes["X"], edges[0]), (axes["Y"], edges[1])), start=1):
        if axis["TCTYP"]:  # sky: physical x = edge0 + bin*(i - 0.5) for 1-based pixel i
            h[f"CTYPE{n}"] = axis["TCTYP"]
            h[f"CRPIX{n}"] = (float(axis["TCRPX"]) - edge[0]) / bin_size + 0.5
            h[f"CRVAL{n}"] = float(axis["TCRVL"])
            h[f"CDELT{n}"] = float(axis["TCDLT"]) * bin_size
            h[f"CUNIT{n}"] = axis["TCUNI"] or "deg"
        h[f"CTYPE{n}P"], h[f"CRPIX{n}P"], h[f"CRVAL{n}P"], h[f"CDELT{n}P"] = (
            "x" if n == 1 else "y", 0.5, float(edge[0]), float(bin_size))  # fmt: skip
    if axes["X"]["TCTYP"]:
        h["RADESYS"], h["EQUINOX"] = str(header.get("RADECSYS", header.get("RADESYS", "ICRS"))), 2000.0
    exposure = float(np.sum(gtis[:, 1] - gtis[:, 0])) * scale
    h["BUNIT"], h["EXPOSURE"] = "count", round(exposure, 3)
    for key in ("TELESCOP", "INSTRUME", "OBS_ID", "OBJECT", "DATE-OBS", "TSTART", "TSTOP", "MJDREF"):
        if key in header:
            h[key] = header[key]
    coarser = [f"(bins widened from {asked:g} to stay within {MAX_PIXELS} pixels a side)"] if bin_size != asked else []
    _provenance(h, infile, [f"counts image, {bin_size:g} sky pixels per bin", *coarser]
                + ([f"energy {energy[0]:g}-{energy[1]:g} keV"] if energy else []))  # fmt: skip
    _write([hdu], Path(outfile))
    return {"counts": int(image.sum()), "shape": list(image.shape), "exposure": exposure, "bin_size": bin_size}


def rate_map(image_file: PathLike, outfile: PathLike, exposure: float | None = None) -> dict[str, float]:
    """Write a rate map: a counts image divided by the exposure in seconds, in count/s.

    Parameters
    ----------
    image_file : str or os.PathLike
        A counts image (as :func:`count_image` writes), its primary HDU read.
    outfile : str or os.PathLike
        The FITS file to write (replaced whole; its folder is made), with the image's header, BUNIT ``count/s``
        and a HISTORY line.
    exposure : float, optional
        The seconds to divide by (the image's EXPOSURE keyword by default).

    Returns
    -------
    dict of str to float
        ``{"exposure": seconds}``, the seconds divided by.

    Raises
    ------
    vodaxa.errors.ProcessingError
        If the exposure is not positive (or the image has no EXPOSURE and none is given).

    See Also
    --------
    count_image : Its example makes a rate map.
    """
    from astropy.io import fits

    with fits.open(image_file) as hdul:
        image, header = hdul[0].data.astype(float), hdul[0].header.copy()
    seconds = float(exposure if exposure is not None else header.get("EXPOSURE", 0.0))
    if seconds <= 0:
        raise ProcessingError(f"{image_file}: no positive exposure to divide by (EXPOSURE={seconds})")
    for key in ("CHECKSUM", "DATASUM"):
        header.pop(key, None)
    header["BUNIT"] = "count/s"
    header["HISTORY"] = f"vodaxa native: rate map = counts / {seconds:.3f} s"
    _write([fits.PrimaryHDU(image / seconds, header=header)], Path(outfile))
    return {"exposure": seconds}


# ---------------------------------------------------------------------------------- the step
def find_event_lists(workspace: Workspace, missions: Sequence[str] | None = None) -> list[tuple[str, str, Path]]:
    """Find the event lists downloaded into a workspace, or unpacked there from a tarball.

    Files matching `EVENT_PATTERNS` are looked for in each observation's folder and in what
    :func:`vodaxa.process.unpack.unpack` unpacked for it; level-1 ``evt1`` lists and ``.part`` files are
    excluded, and a list on disk both compressed and not is taken once, unpacked.

    Parameters
    ----------
    workspace : vodaxa.process.Workspace
        The folder `vodaxa.download` filled.
    missions : sequence of str, optional
        Look only in these missions' folders (all by default).

    Returns
    -------
    list of tuple of (str, str, pathlib.Path)
        ``(mission, obs_id, path)`` of every event list found, by mission and observation.
    """
    folders = []
    for base in (workspace.root, workspace.root / "processed"):
        if not base.is_dir():
            continue
        for mission_dir in sorted(p for p in base.iterdir() if p.is_dir() and p.name not in ("processed", "logs")):
            if missions is not None and mission_dir.name not in missions:
                continue
            for obs_dir in sorted(p for p in mission_dir.iterdir() if p.is_dir()):
                folders.append(
                    (mission_dir.name, obs_dir.name, obs_dir if base == workspace.root else obs_dir / "unpacked")
                )
    found: list[tuple[str, str, Path]] = []
    for mission, obs, folder in folders:
        seen: dict[Path, Path] = {}  # one event list, whichever forms are on disk (x.evt and x.evt.gz) -> its path
        for pattern in EVENT_PATTERNS:
            for path in sorted(folder.rglob(pattern)) if folder.is_dir() else []:
                if "evt1" in path.name or path.name.endswith(".part") or not path.is_file():
                    continue
                plain = path.with_name(re.sub(r"\.(gz|Z)$", "", path.name))
                if plain not in seen or (seen[plain] != plain and path == plain):
                    seen[plain] = path  # the unpacked form wins: the same data, read faster
        found.extend((mission, obs, path) for path in seen.values())
    return found


def _stem(path: Path) -> str:
    name = re.sub(r"(\.gz|\.fits|\.evt|\.fit|\.ftz)+$", "", path.name, flags=re.I)
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", name)


def _reduce_one(
    infile: str, outdir: str, energy: list[float] | None, grades: list[int] | None, bin_size: float,
    time_bin_size: float, allowed_sigma: float, min_length: int, image_energy: list[float] | None,
) -> dict[str, Any]:  # fmt: skip
    """Flare GTIs, cleaned events, a counts image and a rate map for one event list (a task function)."""
    from astropy.io import fits

    source, out = Path(infile), Path(outdir)
    stem = _stem(source)
    events = read_events(source)  # read once: the flare GTIs and the filtering both use it
    data, header, gtis, scale = events
    times = np.asarray(data["TIME"], dtype=float)
    ev = _energy_ev(data, header)
    if ev is not None and energy is not None:  # the light curve in the band, when the events have energies
        curve_times = times[(ev >= energy[0] * 1000) & (ev < energy[1] * 1000)]
    else:
        curve_times = times
    good, curve = flare_gtis(curve_times, gtis, time_bin_size / scale, allowed_sigma, min_length)
    gti_file = out / f"{stem}-flaregti.fits"
    primary = fits.PrimaryHDU()
    _provenance(primary.header, source, [f"flare GTIs: {time_bin_size:g} s bins, {allowed_sigma:g} sigma, "
                                         f"runs of >= {min_length} bins; {len(good)} GTIs"])  # fmt: skip
    _write([primary, _gti_hdu(good, scale)], gti_file)
    clean = out / f"{stem}-clean.fits"
    band = (energy[0], energy[1]) if energy and ev is not None else None
    stats = _filter(source, events, clean, band, grades, True, good)
    image = out / f"{stem}-image.fits"
    image_band = (image_energy[0], image_energy[1]) if image_energy else None
    counts = count_image(clean, image, bin_size=bin_size, energy=image_band)
    rate_map(image, out / f"{stem}-ratemap.fits")
    return {**stats, "image_counts": counts["counts"], "flare_bins": int((~curve["kept"]).sum())}


def reduce(
    workspace: Workspace, missions: Sequence[str] | None = None, energy: Sequence[float] | None = (0.5, 7.0),
    grades: Sequence[int] | None = None, bin_size: float = 4, time_bin_size: float = 200.0,
    allowed_sigma: float = 3.0, min_length: int = 3, image_energy: Sequence[float] | None = None, *,
    executor: concurrent.futures.Executor | None = None, rerun: bool = False,
) -> ProcessReport:  # fmt: skip
    """Reduce every downloaded event list: flare GTIs, cleaned events, a counts image and a rate map.

    Tarballs are unpacked first (:func:`vodaxa.process.unpack.unpack`), then each event list
    (:func:`find_event_lists`) is one task: flare-free GTIs from its light curve (:func:`flare_gtis`), cleaned
    events (``energy`` keV, ``grades``, STATUS = 0, those GTIs: :func:`filter_events`), a counts image
    (:func:`count_image`) and a rate map (:func:`rate_map`), written under
    ``processed/<mission>/<obs_id>/native/`` as ``<name>-flaregti.fits``, ``-clean.fits``, ``-image.fits`` and
    ``-ratemap.fits``.  The step is recorded as ``native_reduce`` in the workspace's ledger: a task already done
    with the same arguments is skipped, and one failing event list never stops the others.

    Parameters
    ----------
    workspace : vodaxa.process.Workspace
        The folder `vodaxa.download` filled.
    missions : sequence of str, optional
        Reduce only these missions' observations (all by default).
    energy : sequence of float, optional
        ``(lo, hi)`` in keV for the cleaned events and the light curve ((0.5, 7.0) by default); None keeps every
        energy.  Lists without an ENERGY column are not filtered by energy.
    grades : sequence of int, optional
        The GRADE values to keep (all by default).
    bin_size : float, optional
        Sky pixels per image pixel, a side (4 by default).
    time_bin_size : float, optional
        The light curve's bin width in seconds (200 by default).
    allowed_sigma : float, optional
        How far from the mean rate, in standard deviations, a light-curve bin may be and be kept (3 by default).
    min_length : int, optional
        The fewest consecutive kept bins that make a GTI (3 by default).
    image_energy : sequence of float, optional
        ``(lo, hi)`` in keV for the images (the cleaned events' whole band by default).
    executor : concurrent.futures.Executor, optional
        Where the tasks run (a local pool by default; ``client.get_executor()`` for a dask cluster).
    rerun : bool, optional
        Run every task again, even those already done (False by default).

    Returns
    -------
    vodaxa.process.ProcessReport
        The unpacking's and the reduction's tasks: done, already done (skipped) and failed, with reasons and logs.

    Raises
    ------
    vodaxa.errors.ProcessingError
        If ``energy`` is not ``(lo, hi)`` with ``0 <= lo < hi``, or the workspace holds no event list.

    See Also
    --------
    vodaxa.process.chandra.full_process_chandra : The CIAO chain, for Chandra.

    Examples
    --------
    One NuSTAR observation of 3C 105 from the sandbox: four event lists (two cleaned, two unfiltered):

    >>> import vodaxa
    >>> from vodaxa.process import Workspace, native
    >>> observations = vodaxa.search(["3C 105"], missions=["nustar_pointed"])
    >>> report = vodaxa.download(vodaxa.resolve(observations.head(1)), "data/", progress=False)
    >>> ws = Workspace("data/")
    >>> native.reduce(ws)
    <ProcessReport ok=4 skipped=0 failed=0>
    >>> sorted(p.name for p in ws.root.glob("processed/*/*/native/*A01_cl-*"))
    ['nu...A01_cl-clean.fits', 'nu...A01_cl-flaregti.fits', 'nu...A01_cl-image.fits', 'nu...A01_cl-ratemap.fits']
    >>> native.reduce(ws)  # done already, with the same arguments
    <ProcessReport ok=0 skipped=4 failed=0>
    """
    if energy is not None and not 0 <= energy[0] < energy[1]:
        raise ProcessingError(f"energy={energy}: give (lo, hi) in keV with lo < hi")
    unpacked = unpack(workspace, missions, executor=executor)  # tarballs first (the XSA, eROSITA fields)
    lists = find_event_lists(workspace, missions)
    if not lists:
        raise ProcessingError(f"no event lists under {workspace.root}: download observations first")
    args = {"energy": list(energy) if energy else None,  # the parameters; which missions is a choice of files
            "grades": list(grades) if grades is not None else None, "bin_size": bin_size,
            "time_bin_size": time_bin_size, "allowed_sigma": allowed_sigma, "min_length": min_length,
            "image_energy": list(image_energy) if image_energy else None}  # fmt: skip
    tasks = []
    for mission, obs, path in lists:
        out = workspace.processed(mission, obs, "native")
        stem = _stem(path)
        outputs = tuple(str(out / f"{stem}-{kind}.fits") for kind in ("flaregti", "clean", "image", "ratemap"))
        kwargs = {"infile": str(path), "outdir": str(out), **args}
        tasks.append(Task("native_reduce", f"{mission}-{obs}-{stem}", str(workspace.root), outputs,
                          function="vodaxa.process.native:_reduce_one", kwargs=kwargs))  # fmt: skip
    return unpacked + run_step(workspace, "native_reduce", args, tasks, executor=executor, rerun=rerun)
