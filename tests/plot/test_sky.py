"""Hostile findings 9, 10 and 16 (sky plots): positions off the sky, unreadable attributes and odd tables are
refused, or left out with a warning saying so, never drawn wrong."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from vodaxa.errors import AdjustedInputWarning, InputError
from vodaxa.plot import sky_plot

from .conftest import legend_texts


def _frame(**attrs: object) -> pd.DataFrame:
    frame = pd.DataFrame({"mission": ["chandra"] * 4, "ra": [-999.0, 400.0, 1e300, -10.0], "dec": [10.0] * 4})
    frame.attrs.update(attrs)
    return frame


def test_right_ascensions_off_the_sky_have_no_position():
    figure = sky_plot(_frame())
    assert legend_texts(figure) == ["chandra (4, 3 without position)"]
    offsets = np.asarray(figure.axes[0].collections[0].get_offsets())  # RA/Dec: drawn through the world transform
    assert offsets.tolist() == [[350.0, 10.0]]  # only RA -10, wrapped


@pytest.mark.parametrize("recorded", [[[10, 200]], [10, 20, 30, 40], [[1e300, 20]], "61.8,3.7", [[10, "x"]], 5])
def test_recorded_positions_that_are_not_on_the_sky_are_left_out_with_a_warning(recorded):
    with pytest.warns(AdjustedInputWarning, match=r"attrs\['positions'\]"):
        figure = sky_plot(_frame(positions=recorded))
    assert "position" not in figure.axes[0].get_title()
    assert not any(label.startswith("searched position") for label in legend_texts(figure))


def test_recorded_positions_are_wrapped_onto_the_sky():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figure = sky_plot(_frame(positions=[[-10.0, 10.0]], radius={"chandra": 0.5}))
    assert figure.axes[0].wcs.wcs.crval.tolist() == pytest.approx([350.0, 10.0])


@pytest.mark.parametrize("positions", [[[1e300, 20]], [[400, 20]], [[np.inf, 0]], [[10, 20, 30]], "", [" "],
                                       ["Crab", ""]])  # fmt: skip
def test_given_positions_off_the_sky_are_refused(positions, monkeypatch):
    def no_lookup(*args, **kwargs):
        raise AssertionError("Sesame was asked")

    monkeypatch.setattr("vodaxa.query.names.resolve_names", no_lookup)
    with pytest.raises(InputError, match="positions"):
        sky_plot(_frame(), positions=positions)


@pytest.mark.parametrize(
    "radius",
    [{"chandra": "abc"}, {"chandra": {"ACIS": "x"}}, {"chandra": 1 + 2j}, {"chandra": {"ACIS": {"I": 0.1}}},
     {"chandra": -1.0}, {"chandra": [0.1, "y"]}, "abc", [0.5]],
)  # fmt: skip
def test_recorded_radii_that_cannot_be_read_are_left_out_with_a_warning(radius):
    with pytest.warns(AdjustedInputWarning, match=r"attrs\['radius'\]"):
        figure = sky_plot(_frame(positions=[[10.0, 10.0]], radius=radius))
    assert "searched position (1)" in legend_texts(figure)
    assert not any("searched within" in label for label in legend_texts(figure))


def test_one_recorded_radius_is_every_missions():
    labels = legend_texts(sky_plot(_frame(positions=[[10.0, 10.0]], radius=0.5)))
    assert "chandra: searched within 30\u2032" in labels or "searched within 30\u2032" in labels, labels


def test_a_readable_radius_beside_an_unreadable_one_is_drawn():
    frame = pd.DataFrame({"mission": ["a", "b"], "ra": [10.0, 10.1], "dec": [10.0, 10.0]})
    frame.attrs.update(positions=[[10.0, 10.0]], radius={"a": 0.2, "b": "wide"})
    with pytest.warns(AdjustedInputWarning, match=r"attrs\['radius'\]\['b'\]"):
        labels = legend_texts(sky_plot(frame))
    assert "a: searched within 12\u2032" in labels


def test_duplicate_columns_are_input_errors():
    frame = pd.DataFrame([[10.0, 11.0, 5.0]], columns=["ra", "ra", "dec"])
    with pytest.raises(InputError, match="2 columns named 'ra'"):
        sky_plot(frame)


def test_numeric_mission_names_with_gaps_draw_quietly():
    frame = pd.DataFrame({"mission": [1.0, np.nan, 2.0], "ra": [10.0, 10.1, 10.2], "dec": [5.0, 5.0, 5.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        labels = legend_texts(sky_plot(frame))
    assert labels == ["1.0 (1)", "unknown (1)", "2.0 (1)"]
