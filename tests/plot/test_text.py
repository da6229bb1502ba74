"""Hostile findings 1, 8 and 17: every text is drawn as written, axes say which coordinates they show, and a
legend of hundreds of missions stays readable."""

from __future__ import annotations

import numpy as np
import pandas as pd
from astropy.io import fits

from vodaxa.plot import overview, quicklook, sky_plot

from .conftest import counts, every_text, image, legend_texts, png_size

ODD = r"$\foo$"


def _literal(figure) -> list[str]:
    """The texts holding a dollar sign, after checking each is drawn literally (no mathtext, no TeX)."""
    odd = [t for t in every_text(figure) if "$" in t.get_text()]
    for text in odd:
        assert text.get_parse_math() is False and text.get_usetex() is False, text.get_text()
    return [t.get_text() for t in odd]


def test_dollars_in_headers_file_names_and_titles_are_drawn_as_written(tmp_path):
    path = image(tmp_path / f"a{ODD}-image.fits", counts(), OBJECT="a_b$c$", INSTRUME=ODD, TELESCOP="$x",
                 OBS_ID="$1$", BUNIT="$^2$")  # fmt: skip
    figure = quicklook(path, tmp_path / "one.png")
    assert png_size(tmp_path / "one.png") == (640, 560)
    drawn = _literal(figure)
    assert f"a_b$c$, ObsID $1$, $x {ODD}\na{ODD}-image.fits" in drawn and "$^2$" in drawn
    many = overview([path, path], tmp_path / "many.png", title=r"$\sqrt{x$")
    assert png_size(tmp_path / "many.png") == (600, 350)
    assert r"$\sqrt{x$" in _literal(many)
    hdu = fits.PrimaryHDU(np.ones((64, 64)))
    hdu.header["INSTRUME"] = ODD
    hdu.writeto(tmp_path / "a.fits")
    quicklook(tmp_path / "a.fits", tmp_path / "a.png")
    assert png_size(tmp_path / "a.png") == (640, 560)


def test_dollars_in_mission_names_and_titles_of_a_sky_plot(tmp_path):
    frame = pd.DataFrame({"obs_collection": [ODD, "a_b$c$", "plain"], "s_ra": [10.0, 10.1, 10.2],
                          "s_dec": [5.0, 5.1, 5.2]})  # fmt: skip
    frame.attrs["radius"] = {ODD: 0.2}
    figure = sky_plot(frame, positions=[[10.1, 5.1]], title="$", path=tmp_path / "sky.png")
    assert png_size(tmp_path / "sky.png") == (900, 600)
    drawn = _literal(figure)
    assert f"{ODD} (1)" in drawn and "a_b$c$ (1)" in drawn and "$" in drawn


def _wcs_image(tmp_path, ctypes, name):
    crval = {"CRVAL1": -29.0, "CRVAL2": 266.4} if ctypes[0].startswith("DEC") else {}
    path = image(tmp_path / name, counts(), wcs=ctypes, **crval)
    ax = quicklook(path).axes[0]
    return ax.coords[0].get_axislabel(), ax.coords[1].get_axislabel()


def test_sky_axes_are_named_from_the_world_coordinates(tmp_path):
    assert _wcs_image(tmp_path, ("RA---TAN", "DEC--TAN"), "eq.fits") == ("RA", "Dec")
    assert _wcs_image(tmp_path, ("DEC--TAN", "RA---TAN"), "swapped.fits") == ("Dec", "RA")
    assert _wcs_image(tmp_path, ("GLON-TAN", "GLAT-TAN"), "gal.fits") == ("Galactic longitude", "Galactic latitude")
    assert _wcs_image(tmp_path, ("ELON-TAN", "ELAT-TAN"), "ecl.fits") == ("Ecliptic longitude", "Ecliptic latitude")


def test_hundreds_of_missions_keep_a_short_legend(tmp_path):
    names = [f"m{n:03d}" for n in range(300)]
    frame = pd.DataFrame({"mission": names, "ra": np.linspace(10, 11, 300), "dec": np.full(300, 5.0)})
    frame.attrs["radius"] = {name: 0.01 * (1 + n) for n, name in enumerate(names)}
    frame.attrs["positions"] = [[10.5, 5.0]]
    figure = sky_plot(frame, path=tmp_path / "many.png")
    labels = legend_texts(figure)
    assert len(labels) <= 30, len(labels)
    assert any(label.startswith("+281 more missions (281") for label in labels), labels
    assert any("more" in label and "searched within" in label for label in labels), labels
    colours = {tuple(c.get_facecolor()[0][:3]) for c in figure.axes[0].collections if len(c.get_offsets())}
    assert len(colours) >= 19


def test_the_widest_instrument_says_so_in_plain_words():
    frame = pd.DataFrame({"mission": ["chandra"], "ra": [10.0], "dec": [5.0]})
    frame.attrs.update(positions=[[10.0, 5.0]], radius={"chandra": {"ACIS": 0.556, "HRC": 0.99}})
    labels = legend_texts(sky_plot(frame))
    assert "chandra: searched within 59.4\u2032 (the widest instrument's)" in labels, labels
    assert not any("within up to" in label for label in labels)
