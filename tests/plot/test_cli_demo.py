"""Hostile findings 1, 12 and 15 (the demo and ``vodaxa search --plot``): the demo reports the pictures it could not
draw and still prints its summary, it has one destination whatever the shell left of a tilde, and a picture's
path that cannot be written is a typed error naming it, found before any search where it can be."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pandas as pd
import pytest

import vodaxa.plot
from vodaxa.cli import main
from vodaxa.cli.demo import _pictures, _say_pictures
from vodaxa.errors import InputError
from vodaxa.plot import quicklook, sky_plot

from .conftest import png_size, workspace


def test_the_demo_reports_pictures_it_could_not_draw(tmp_path, monkeypatch, capsys):
    dest = tmp_path / "demo"
    workspace(dest)
    drawn = vodaxa.plot.quicklook

    def fragile(source, *args, **kwargs):
        if str(source).endswith("b-image.fits"):
            raise ValueError("Unknown symbol: \\foo")
        return drawn(source, *args, **kwargs)

    monkeypatch.setattr(vodaxa.plot, "quicklook", fragile)
    found = pd.DataFrame({"mission": [r"$\foo$", "chandra"], "ra": [10.0, 10.1], "dec": [5.0, 5.0]})
    pictures = _pictures(dest, ["chandra", "nustar_pointed"], found)
    assert png_size(dest / "sky.png") == (900, 600)
    assert [p.name for p in pictures["quicklooks"]] == ["c-image.png", "a-image.png"]
    assert pictures["overview"] == dest / "processed" / "overview.png"
    _say_pictures(pictures)
    out = capsys.readouterr().out
    assert "could not draw" in out and "b-image.fits" in out and "Unknown symbol" in out


def test_the_demo_goes_on_when_the_sky_plot_fails(tmp_path, monkeypatch, capsys):
    dest = tmp_path / "demo"
    workspace(dest)

    def broken(*args, **kwargs):
        raise RuntimeError("no sky today")

    monkeypatch.setattr(vodaxa.plot, "sky_plot", broken)
    pictures = _pictures(dest, ["chandra", "nustar_pointed"], pd.DataFrame({"mission": ["chandra"]}))
    assert pictures["sky"] is None and len(pictures["quicklooks"]) == 3
    _say_pictures(pictures)
    out = capsys.readouterr().out
    assert "no sky today" in out and "overview" in out


def test_the_demo_has_one_destination_for_a_quoted_tilde(tmp_path, monkeypatch, capsys):
    home, cwd = tmp_path / "home", tmp_path / "x"
    home.mkdir()
    cwd.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(cwd)
    assert main(["demo", "--dest", "~/h17demo", "--missions", "nustar_pointed", "--max-obs", "1",
                 "--no-progress"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    dest = home / "h17demo"
    assert (dest / "manifest.json").is_file() and (dest / "observations.csv").is_file()
    assert not (cwd / "~").exists() and "Summary:" in out
    assert f"the sky plot of the search is {dest / 'sky.png'}" in out


def test_plot_into_a_folder_is_refused_before_searching(vodaxa_sandbox, tmp_path, capsys):
    folder = tmp_path / "somedir.png"
    folder.mkdir()
    out = tmp_path / "obs.csv"
    assert main(["search", "chandra", "--ra", "10", "--dec", "10", "-o", str(out), "--plot", str(folder)]) == 2
    err = capsys.readouterr().err
    assert f"--plot {folder}" in err and "folder" in err and not out.exists()
    beside_a_file = tmp_path / "obs.txt"
    beside_a_file.write_text("x")
    assert main(["search", "chandra", "--ra", "10", "--dec", "10", "--plot", str(beside_a_file / "s.png")]) == 2
    assert "obs.txt" in capsys.readouterr().err


def test_a_picture_that_cannot_be_written_names_the_path(tmp_path, monkeypatch):
    frame = pd.DataFrame({"mission": ["a"], "ra": [1.0], "dec": [2.0]})
    target = tmp_path / "pictures" / "sky.png"

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "pictures" / ".hidden.part"))

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(InputError) as err:
        sky_plot(frame, path=target)
    message = str(err.value)
    assert str(target) in message and "Permission denied" in message and ".part" not in message
    monkeypatch.undo()
    (tmp_path / "d.png").mkdir()
    with pytest.raises(InputError, match="is a folder"):
        quicklook(np.ones((4, 4)), tmp_path / "d.png")


def test_a_long_file_name_is_written(tmp_path):
    target = tmp_path / ("a" * 246 + ".png")
    assert len(os.fsencode(target.name)) == 250
    quicklook(np.ones((4, 4)), target)
    assert png_size(target) == (640, 560)
