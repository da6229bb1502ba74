"""Reductions without CIAO, SAS or HEASoft: event filtering (energy, grade, status, GTI), sigma-clipped
light-curve flare GTIs, binned count images and rate maps, with numpy and astropy, for any mission's
event lists with the standard columns (TIME, X, Y, and ENERGY, GRADE, STATUS where present).

Outputs are FITS files with the sky WCS of the event list's X/Y columns (and a physical WCS "P"),
and provenance keywords (CREATOR, DATE, HISTORY: the input, every filter and its parameters).
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
from typing import Any

import numpy as np

from ..errors import ProcessingError
from .runner import ProcessReport, Task, Workspace, run_step
from .unpack import unpack

__all__ = [
    "EVENT_PATTERNS",
    "MAX_PIXELS",
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


def _creator() -> str:
    from .. import __version__

    return f"vodaxa {__version__} (native)"


# ---------------------------------------------------------------------------------- reading
def read_events(path: str | Path) -> tuple[Any, Any, np.ndarray, float]:
    """(EVENTS data, EVENTS header, GTIs as an (n, 2) array, seconds per TIME unit) of an event list."""
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
    """The intervals common to two GTI lists ((n, 2) arrays of [start, stop))."""
    out = []
    for s1, e1 in a:
        for s2, e2 in b:
            lo, hi = max(s1, s2), min(e1, e2)
            if hi > lo:
                out.append((lo, hi))
    return np.array(sorted(out), dtype=float).reshape(-1, 2)


def flare_gtis(
    times: np.ndarray, gtis: np.ndarray, bin_size: float = 200.0, sigma: float = 3.0, min_length: int = 3
) -> tuple[np.ndarray, dict[str, Any]]:
    """Flare-free GTIs by sigma clipping a light curve (the idea of CIAO's ``deflare method=sigma``).

    Full ``bin_size`` bins are laid from the start of each GTI (a partial last bin is dropped); bins whose
    rate is more than ``sigma`` standard deviations from the mean of the kept bins are dropped, until
    nothing changes; runs of at least ``min_length`` consecutive kept bins become GTIs.  Returns the GTIs
    and the light curve (bin starts, counts, kept flags, final mean and standard deviation).
    """
    if bin_size <= 0 or sigma <= 0 or min_length < 1:
        raise ProcessingError(f"bin_size={bin_size}, sigma={sigma}, min_length={min_length}: all must be positive")
    starts = np.concatenate([s + bin_size * np.arange(int((e - s) // bin_size)) for s, e in gtis] or [np.empty(0)])
    if starts.size == 0:
        return np.empty((0, 2)), {"starts": starts, "counts": np.empty(0), "kept": np.empty(0, bool)}
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
    curve = {"starts": starts, "counts": counts, "kept": kept, "mean": mean, "std": std}
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
    infile: str | Path, outfile: str | Path, *, energy: tuple[float, float] | None = None,
    grades: Sequence[int] | None = None, status_zero: bool = True, gtis: np.ndarray | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Keep events with energy in ``energy`` (keV), GRADE in ``grades``, STATUS == 0, and TIME inside
    ``gtis`` (intersected with the file's own); write EVENTS + GTI with EXPOSURE updated."""
    infile = Path(infile)
    return _filter(infile, read_events(infile), Path(outfile), energy, grades, status_zero, gtis)


def _filter(
    infile: Path, events: tuple[Any, Any, np.ndarray, float], outfile: Path, energy: tuple[float, float] | None,
    grades: Sequence[int] | None, status_zero: bool, gtis: np.ndarray | None,
) -> dict[str, Any]:  # fmt: skip
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
    infile: str | Path, outfile: str | Path, *, bin_size: float = 4, energy: tuple[float, float] | None = None
) -> dict[str, Any]:
    """A counts image of the events binned ``bin_size`` sky pixels a side (over the TLMIN..TLMAX range
    of X and Y where given, else the events' extent; coarser if the image would exceed MAX_PIXELS a
    side), with the sky WCS and a physical WCS "P"."""
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


def rate_map(image_file: str | Path, outfile: str | Path, exposure: float | None = None) -> dict[str, Any]:
    """Counts divided by the exposure in seconds (the image's EXPOSURE keyword unless given): count/s."""
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
    """``(mission, obs_id, path)`` of every event list downloaded under the workspace, or unpacked from a
    tarball by :func:`vodaxa.process.unpack.unpack` (level-1 ``evt1`` lists excluded)."""
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
    """For every downloaded event list: flare GTIs, cleaned events (``energy`` keV, ``grades``, STATUS=0,
    GTIs), a counts image and a rate map, under ``processed/<mission>/<obs_id>/native/``."""
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
