"""Helpers of the pictures' hostile-input tests (issue 17): images on disk, a small workspace, PNG checks."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

matplotlib = pytest.importorskip("matplotlib")  # the 'plot' extra, in the 'test' extra

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("VODAXA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("VODAXA_QUERY_CACHE", "0")
    monkeypatch.delenv("VODAXA_ENDPOINTS", raising=False)


def image(path: Path, data: np.ndarray, *, wcs: tuple[str, str] | None = ("RA---TAN", "DEC--TAN"),
          **keywords: object) -> Path:  # fmt: skip
    """``data`` written as a FITS image at ``path`` (with a WCS of the two CTYPEs unless None)."""
    hdu = fits.PrimaryHDU(data)
    if wcs is not None:
        h = hdu.header
        h["CTYPE1"], h["CTYPE2"], h["CUNIT1"], h["CUNIT2"] = *wcs, "deg", "deg"
        h["CRPIX1"], h["CRPIX2"], h["CRVAL1"], h["CRVAL2"] = data.shape[-1] / 2, data.shape[-2] / 2, 266.4, -29.0
        h["CDELT1"], h["CDELT2"] = -0.001, 0.001
    hdu.header.update({"BUNIT": "count", **keywords})
    path.parent.mkdir(parents=True, exist_ok=True)
    hdu.writeto(path, overwrite=True)
    return path


def counts(shape: tuple[int, int] = (64, 64), seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    data = rng.poisson(0.3, size=shape).astype(np.int32)
    data[shape[0] // 2 - 2 : shape[0] // 2 + 2, shape[1] // 2 - 2 : shape[1] // 2 + 2] += 30
    return data


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) of a whole PNG file, from its header."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data.endswith(b"IEND\xaeB`\x82"), path
    return struct.unpack(">II", data[16:24])


def legend_texts(figure) -> list[str]:
    return [t.get_text() for legend in figure.legends for t in legend.get_texts()]


def every_text(figure) -> list:
    """Every Text artist of the figure (titles, labels, legends, notes), after drawing it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    FigureCanvasAgg(figure).draw()
    return [t for t in figure.findobj(Text) if t.get_text()]


def workspace(root: Path) -> dict[str, Path]:
    """A workspace with a NuSTAR image and a Chandra image (and a logs folder)."""
    processed = root / "processed"
    a = image(processed / "nustar_pointed" / "60001" / "native" / "a-image.fits", counts(), OBS_ID="60001")
    b = image(processed / "chandra" / "42" / "native" / "b-image.fits", counts(seed=4), OBS_ID="42")
    c = image(processed / "chandra" / "43" / "native" / "c-image.fits", counts(seed=5), OBS_ID="43")
    (processed / "logs").mkdir(parents=True, exist_ok=True)
    return {"a": a, "b": b, "c": c}
