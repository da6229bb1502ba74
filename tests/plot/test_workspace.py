"""Hostile findings 1, 3, 7, 13 and 14 (Workspace.quicklooks and writing): one bad image never stops the rest, the
overview shows the images of the call, nothing is written outside the workspace, arguments are checked up front,
and a picture is written whole by any number of threads."""

from __future__ import annotations

import os
import threading
import warnings

import numpy as np
import pytest

import vodaxa.plot
from vodaxa.errors import InputError, PartialResultWarning
from vodaxa.plot import quicklook
from vodaxa.process import Workspace

from .conftest import counts, image, png_size, workspace


def _grid(count: int) -> tuple[int, int]:
    columns = min(6, int(np.ceil(np.sqrt(count))))
    return 300 * columns, 300 * int(np.ceil(count / columns)) + 50


@pytest.mark.parametrize("error", [ValueError("Unknown symbol: \\foo"), OSError("disk"), MemoryError(), RuntimeError])
def test_one_image_that_cannot_be_drawn_is_skipped_with_a_warning(tmp_path, monkeypatch, error):
    files = workspace(tmp_path)
    drawn = vodaxa.plot.quicklook

    def fragile(source, *args, **kwargs):
        if str(source).endswith("b-image.fits"):
            raise error
        return drawn(source, *args, **kwargs)

    monkeypatch.setattr(vodaxa.plot, "quicklook", fragile)
    with pytest.warns(PartialResultWarning, match="no quick-look of .*b-image.fits"):
        pictures = Workspace(tmp_path).quicklooks()
    assert [p.name for p in pictures] == ["c-image.png", "a-image.png", "overview.png"]
    assert png_size(pictures[-1]) == _grid(2) and not files["b"].with_suffix(".png").exists()


def test_the_overview_shows_the_images_of_the_call(tmp_path):
    files = workspace(tmp_path)
    ws = Workspace(tmp_path)
    target = tmp_path / "processed" / "overview.png"
    assert ws.quicklooks()[-1] == target and png_size(target) == _grid(3)
    ws.quicklooks(["chandra"], rerun=True)
    assert png_size(target) == _grid(2)
    assert ws.quicklooks()[-1] == target and png_size(target) == _grid(3)  # all three again
    ws.quicklooks(pattern="a-*.fits")
    assert png_size(target) == _grid(1)
    files["c"].unlink()
    assert len(ws.quicklooks()) == 3 and png_size(target) == _grid(2)  # the deleted image is gone from it


def test_a_changed_stretch_is_drawn_again(tmp_path):
    workspace(tmp_path)
    ws = Workspace(tmp_path)
    first = ws.quicklooks(overview=False)
    stamps = [p.stat().st_mtime_ns for p in first]
    assert ws.quicklooks(overview=False) == first and [p.stat().st_mtime_ns for p in first] == stamps
    assert ws.quicklooks(overview=False, stretch="log") == first
    logs = [p.stat().st_mtime_ns for p in first]
    assert all(new != old for new, old in zip(logs, stamps))
    assert ws.quicklooks(overview=False, stretch="log") == first and [p.stat().st_mtime_ns for p in first] == logs


def test_images_in_folders_outside_the_workspace_are_skipped(tmp_path):
    root = tmp_path / "ws"
    workspace(root)
    elsewhere = tmp_path / "elsewhere"
    image(elsewhere / "0001" / "x-image.fits", counts())
    (root / "processed" / "xmm_pointed").symlink_to(elsewhere, target_is_directory=True)
    with pytest.warns(PartialResultWarning, match="outside the workspace"):
        pictures = Workspace(root).quicklooks()
    assert len(pictures) == 4 and not list(elsewhere.rglob("*.png"))


@pytest.mark.parametrize("pattern", ["../../../outside/*-image.fits", "/tmp/*-image.fits", "native/../../*.fits",
                                     "", "**/../*.fits"])  # fmt: skip
def test_patterns_leaving_the_workspace_are_refused(tmp_path, pattern):
    workspace(tmp_path / "ws")
    outside = image(tmp_path / "outside" / "x-image.fits", counts())
    with pytest.raises(InputError, match="pattern"):
        Workspace(tmp_path / "ws").quicklooks(pattern=pattern)
    assert not outside.with_suffix(".png").exists()


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [({"stretch": "bogus", "rerun": True}, "stretch='bogus'"),
     ({"missions": "nustar_pointed chandra"}, "chandra, nustar_pointed"),
     ({"missions": ["nope"]}, "'nope'"),
     ({"missions": 5}, "missions=5"),
     ({"missions": [5]}, "missions"),
     ({"pattern": 7}, "pattern=7")],
)  # fmt: skip
def test_arguments_are_checked_before_any_picture(tmp_path, kwargs, needle):
    workspace(tmp_path)
    with pytest.raises(InputError) as err:
        Workspace(tmp_path).quicklooks(**kwargs)
    assert needle in str(err.value), str(err.value)
    assert not list(tmp_path.rglob("*.png"))


def test_missions_by_one_name_alias_or_none_here(tmp_path):
    workspace(tmp_path)
    ws = Workspace(tmp_path)
    assert [p.name for p in ws.quicklooks("chandra", overview=False)] == ["b-image.png", "c-image.png"]
    assert [p.name for p in ws.quicklooks(["nustar"], overview=False)] == ["a-image.png"]  # a short name
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ws.quicklooks(["xmm_pointed"]) == []  # a mission that made no images here


def test_a_planted_link_at_a_temporary_name_is_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    target = tmp_path / "x.png"
    for name in (f".x.png.{os.getpid()}.part", ".x.png.part"):
        (tmp_path / name).symlink_to(victim)
    quicklook(np.ones((8, 8)), target)
    assert victim.read_text() == "keep me" and png_size(target) == (640, 560)


def test_threads_writing_the_same_picture(tmp_path, monkeypatch):
    target = tmp_path / "same.png"
    errors: list[BaseException] = []
    together = threading.Barrier(6, timeout=60)
    replace = os.replace

    def in_step(*args, **kwargs):  # every thread has written its temporary file: all rename it at once
        together.wait()
        return replace(*args, **kwargs)

    monkeypatch.setattr(os, "replace", in_step)

    def draw(seed: int) -> None:
        try:
            quicklook(counts(seed=seed), target)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=draw, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and png_size(target) == (640, 560)
    assert [p.name for p in tmp_path.iterdir()] == ["same.png"]  # no temporary file left
