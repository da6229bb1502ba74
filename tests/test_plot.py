"""Pictures (issue 17): sky plots of search results, quick-looks and overviews of images, ``vodaxa search --plot``,
the demo's pictures and ``Workspace.quicklooks``.  Each is rendered to a file and the file is checked (PNG
signature, size in pixels, not blank, the missions' colours present), never looked at."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.table import Table

import vodaxa
from vodaxa.cli import main
from vodaxa.errors import InputError, MissingDependencyError, PartialResultWarning
from vodaxa.plot import INSTALL, overview, quicklook, sky_plot
from vodaxa.process import Workspace

matplotlib = pytest.importorskip("matplotlib")  # the 'plot' extra, in the 'test' extra
from matplotlib.image import imread  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TAB10 = [matplotlib.colormaps["tab10"](i)[:3] for i in range(10)]


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("VODAXA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("VODAXA_QUERY_CACHE", "0")
    monkeypatch.delenv("VODAXA_ENDPOINTS", raising=False)


def png(path: Path, width: int, height: int, *, min_bytes: int = 5_000) -> np.ndarray:
    """The pixels of ``path`` after checking it is a whole, non-blank PNG of ``width`` x ``height`` pixels."""
    assert path.is_file(), path
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) >= min_bytes, (path, len(data))
    pixels = imread(path)
    assert pixels.shape[:2] == (height, width), pixels.shape
    assert pixels.std() > 0.01
    colours = np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)
    assert len(colours) > 8, len(colours)  # more than a few flat colours: something was drawn
    return pixels


def share(pixels: np.ndarray, colour: tuple[float, float, float], tolerance: float = 0.02) -> float:
    """The fraction of pixels of about ``colour`` (RGB in 0-1)."""
    rgb = pixels[..., :3]
    return float((np.abs(rgb - np.asarray(colour)).max(axis=-1) < tolerance).mean())


def legend_texts(figure) -> list[str]:
    return [t.get_text() for legend in figure.legends for t in legend.get_texts()]


def texts(figure) -> list[str]:
    return [t.get_text() for ax in figure.axes for t in ax.texts]


# ---------------------------------------------------------------------------------- sky plots
def test_a_search_of_several_missions(vodaxa_sandbox, tmp_path):
    found = vodaxa.search("3C 105", missions=["nustar_pointed", "chandra", "xmm_pointed"])
    assert found.attrs["positions"] == [[pytest.approx(61.8232, abs=1e-3), pytest.approx(3.7099, abs=1e-3)]]
    figure = sky_plot(found, path=tmp_path / "sky.png")
    pixels = png(tmp_path / "sky.png", 900, 600, min_bytes=20_000)
    counts = found["mission"].value_counts()
    labels = legend_texts(figure)
    for index, mission in enumerate(["nustar_pointed", "chandra", "xmm_pointed"]):
        assert f"{mission} ({counts[mission]})" in labels
        assert share(pixels, TAB10[index]) > 1e-4, mission  # its markers (and circle) are drawn in its colour
    assert "searched position (1)" in labels
    assert any(label.startswith("chandra: searched within 59.4") and label.endswith("(the widest instrument's)")
               for label in labels)  # ACIS/HRC: the widest  # fmt: skip
    assert any(label.startswith("nustar_pointed: searched within 7.8") for label in labels)
    assert type(figure.axes[0]).__name__ == "WCSAxes"  # a small field: the tangent-plane view
    assert figure.axes[0].wcs.wcs.ctype[0] == "RA---TAN"
    assert not any(name == "matplotlib.pyplot" for name in sys.modules)  # no pyplot, no global state


def test_positions_either_side_of_ra_zero(vodaxa_sandbox, tmp_path):
    found = vodaxa.search([[0.1, 10.0], [359.9, 10.0]], missions=["chandra", "nustar_pointed", "swift"], radius=5)
    assert len(found)
    figure = sky_plot(found, path=tmp_path / "ra0.png")
    png(tmp_path / "ra0.png", 900, 600)
    ax = figure.axes[0]
    assert type(ax).__name__ == "WCSAxes"  # one field across RA 0/360, not two ends of an all-sky map
    ra0 = ax.wcs.wcs.crval[0]
    assert min(ra0, 360 - ra0) < 0.5 and abs(ax.wcs.wcs.crval[1] - 10) < 0.5
    assert "searched within 5\u00b0 (3 missions)" in legend_texts(figure)  # one set of circles, shared


def test_a_position_near_the_pole(vodaxa_sandbox, tmp_path):
    found = vodaxa.search([[10.0, 89.5]], missions=["chandra", "swift"], radius=3)
    figure = sky_plot(found, path=tmp_path / "pole.png")
    png(tmp_path / "pole.png", 900, 600)
    ax = figure.axes[0]
    assert type(ax).__name__ == "WCSAxes" and ax.wcs.wcs.crval[1] > 89
    assert any(label.startswith("chandra (") for label in legend_texts(figure))


def test_a_whole_table_goes_on_an_all_sky_map(vodaxa_sandbox, tmp_path):
    found = vodaxa.search(None, missions=["chandra"])
    assert found.attrs["positions"] is None
    figure = sky_plot(found, path=tmp_path / "all.png")
    pixels = png(tmp_path / "all.png", 900, 600)
    assert figure.axes[0].wcs.wcs.ctype[0] == "RA---AIT"
    assert share(pixels, TAB10[0]) > 1e-3
    assert legend_texts(figure) == [f"chandra ({len(found)})"]


def test_an_empty_result_draws_the_search_and_says_so(vodaxa_sandbox, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PartialResultWarning)
        found = vodaxa.search([[120.0, -40.0]], missions=["chandra"], radius=0.001)
    assert found.empty
    figure = sky_plot(found, path=tmp_path / "empty.png")
    png(tmp_path / "empty.png", 900, 600)
    assert "no observations" in texts(figure)
    assert any(label.startswith("chandra: searched within 3.6") for label in legend_texts(figure))
    assert figure.axes[0].get_title() == "no observations near 1 position"


def test_many_positions_are_read_back_from_the_targets_column(vodaxa_sandbox, tmp_path):
    from vodaxa.cli.io import read_observations, write_table
    from vodaxa.query.search import RECORDED_POSITIONS

    rng = np.random.default_rng(7)
    grid = np.column_stack([61.8 + rng.uniform(-1, 1, 150), 3.7 + rng.uniform(-1, 1, 150)])
    found = vodaxa.search(grid, missions=["chandra", "xmm_pointed"], radius=0.3)
    assert len(grid) > RECORDED_POSITIONS and found.attrs["positions"] is None  # attrs stay cheap to copy
    labels = {label for cell in found["targets"] for label in cell.split(";")}
    figure = sky_plot(found, path=tmp_path / "many.png")
    png(tmp_path / "many.png", 900, 600)
    assert f"searched positions ({len(labels)})" in legend_texts(figure)  # those near which something was found
    assert "searched within 18\u2032 (2 missions)" in legend_texts(figure)
    assert found.head(3).attrs["positions"] is None and len(vodaxa.search(grid[:100], missions=["chandra"],
                                                                         radius=0.3).attrs["positions"]) == 100
    write_table(found, "csv", tmp_path / "many.csv")  # a file keeps no attrs: the targets column still says
    again = sky_plot(read_observations(tmp_path / "many.csv"))
    assert f"searched positions ({len(labels)})" in legend_texts(again)


def test_nothing_at_all_still_draws_a_sky(tmp_path):
    figure = sky_plot(pd.DataFrame(columns=["mission", "obs_id", "ra", "dec"]), path=tmp_path / "none.png")
    png(tmp_path / "none.png", 900, 600)
    assert figure.axes[0].wcs.wcs.ctype[0] == "RA---AIT" and "no observations" in texts(figure)


def test_missing_coordinates_and_a_single_observation(tmp_path):
    frame = pd.DataFrame({"mission": ["chandra", "chandra", "xmm_pointed"], "obs_id": ["1", "2", "3"],
                          "ra": [150.0, np.nan, 150.01], "dec": [2.2, 2.2, 95.0]})  # fmt: skip
    figure = sky_plot(frame, path=tmp_path / "nan.png")
    png(tmp_path / "nan.png", 900, 600)
    assert legend_texts(figure) == ["chandra (2, 1 without position)", "xmm_pointed (1, 1 without position)"]
    one = sky_plot(frame.head(1), path=tmp_path / "one.png", size=(5, 4), dpi=80)
    png(tmp_path / "one.png", 400, 320, min_bytes=2_000)
    assert one.axes[0].wcs.wcs.crval.tolist() == pytest.approx([150.0, 2.2])
    nothing = sky_plot(frame.iloc[1:2], path=tmp_path / "nothing.png")  # one row, no usable position
    assert "no observation has coordinates" in texts(nothing)


def test_astropy_tables_and_pyvo_results(vodaxa_sandbox, tmp_path):
    import pyvo

    from vodaxa.tables import to_table

    found = vodaxa.search("3C 105", missions=["chandra", "xmm_pointed"])
    figure = sky_plot(to_table(found), path=tmp_path / "table.png")  # attrs travel in meta: positions and radii
    png(tmp_path / "table.png", 900, 600)
    assert "searched position (1)" in legend_texts(figure)
    assert figure.axes[0].wcs.wcs.crval.tolist() == pytest.approx(found.attrs["positions"][0], abs=1e-6)

    tap = pyvo.dal.TAPService(vodaxa_sandbox.endpoints["eso"]["tap_obs"])
    rows = tap.run_sync("SELECT TOP 40 obs_collection, obs_id, s_ra, s_dec FROM ivoa.ObsCore")
    assert isinstance(rows, pyvo.dal.DALResults) and len(rows)
    figure = sky_plot(rows, positions=[[float(rows["s_ra"][0]), float(rows["s_dec"][0])]], radius=1.0,
                      path=tmp_path / "obscore.png")  # fmt: skip
    pixels = png(tmp_path / "obscore.png", 900, 600)
    collections = {str(c) for c in rows["obs_collection"]}
    assert {label.split(" (")[0] for label in legend_texts(figure)} >= collections  # ObsCore's columns understood
    assert share(pixels, TAB10[0]) > 1e-4

    plain = Table({"ra": [10.0, 10.2], "dec": [-5.0, -5.1]})  # no mission column: one group
    assert legend_texts(sky_plot(plain)) == ["observations (2)"]


def test_a_mission_filtered_on_positions(vodaxa_sandbox, tmp_path):
    mission = vodaxa.mission("chandra")
    mission.filter_on_positions([[61.8232, 3.7099]], 1.0)
    figure = sky_plot(mission, path=tmp_path / "mission.png")
    png(tmp_path / "mission.png", 900, 600)
    labels = legend_texts(figure)
    assert f"chandra ({len(mission.filtered_obs_info)})" in labels
    assert "chandra: searched within 1\u00b0" in labels and "searched position (1)" in labels


def test_positions_and_radius_given_and_bad_input(tmp_path):
    frame = pd.DataFrame({"mission": ["a", "b"], "obs_id": ["1", "2"], "ra": [359.95, 0.05], "dec": [-30.0, -30.0]})
    figure = sky_plot(frame, positions=[[0.0, -30.0]], radius={"a": 0.2, "b": 0.1}, projection="mollweide")
    assert figure.axes[0].wcs.wcs.ctype[0] == "RA---MOL"
    assert {"a: searched within 12\u2032", "b: searched within 6\u2032"} <= set(legend_texts(figure))
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    local = sky_plot(frame, positions=SkyCoord([0.0] * u.deg, [-30.0] * u.deg), radius=6 * u.arcmin)
    assert "searched within 6\u2032 (2 missions)" in legend_texts(local)
    cases = [
        (lambda: sky_plot([1, 2, 3]), "a vodaxa.search result, an observation table as a DataFrame"),
        (lambda: sky_plot(frame, projection="hammer"), "projection"),
        (lambda: sky_plot(frame, positions=[[0.0, 95.0]]), "on the sky"),
        (lambda: sky_plot(frame, positions=[[0.0, -30.0]], radius=-1), "positive"),
        (lambda: sky_plot(frame, positions=[[0.0, -30.0]], radius=[0.1, 0.2]), "one per position"),
        (lambda: sky_plot(frame, path=tmp_path / "sky.jpg"), ".png"),
    ]
    for call, needle in cases:
        with pytest.raises(InputError) as err:
            call()
        assert needle in str(err.value)
    assert not (tmp_path / "sky.jpg").exists()


# ---------------------------------------------------------------------------------- images
def _image(path: Path, data: np.ndarray, *, wcs: bool = True, **keywords: object) -> Path:
    hdu = fits.PrimaryHDU(data)
    if wcs:
        h = hdu.header
        h["CTYPE1"], h["CTYPE2"], h["CUNIT1"], h["CUNIT2"] = "RA---TAN", "DEC--TAN", "deg", "deg"
        h["CRPIX1"], h["CRPIX2"], h["CRVAL1"], h["CRVAL2"] = data.shape[1] / 2, data.shape[0] / 2, 266.4, -29.0
        h["CDELT1"], h["CDELT2"] = -0.001, 0.001
    hdu.header.update({"BUNIT": "count", **keywords})
    path.parent.mkdir(parents=True, exist_ok=True)
    hdu.writeto(path, overwrite=True)
    return path


def _counts(shape: tuple[int, int] = (128, 128), seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    data = rng.poisson(0.2, size=shape).astype(np.int32)
    data[shape[0] // 2 - 3 : shape[0] // 2 + 3, shape[1] // 2 - 3 : shape[1] // 2 + 3] += 40  # a source
    return data


def test_quicklook_of_a_counts_image(tmp_path):
    image = _image(tmp_path / "x-image.fits", _counts(), OBJECT="Sgr A*", OBS_ID="19338", TELESCOP="CHANDRA",
                   INSTRUME="ACIS")  # fmt: skip
    figure = quicklook(image, tmp_path / "x-image.png")
    png(tmp_path / "x-image.png", 640, 560, min_bytes=20_000)
    ax = figure.axes[0]
    assert type(ax).__name__ == "WCSAxes"
    assert ax.get_title() == "Sgr A*, ObsID 19338, CHANDRA ACIS\nx-image.fits"
    assert figure.axes[1].get_ylabel() == "count"  # the colour bar, in BUNIT
    for stretch in ("log", "sqrt", "linear"):
        quicklook(image, tmp_path / f"{stretch}.png", stretch=stretch)
        png(tmp_path / f"{stretch}.png", 640, 560)


def test_quicklook_of_arrays_hdus_and_large_images(tmp_path):
    plain = quicklook(_counts((60, 90)), tmp_path / "array.png", title="an array", size=(4, 3), dpi=50)
    png(tmp_path / "array.png", 200, 150, min_bytes=1_000)
    assert plain.axes[0].get_xlabel() == "x (pixel)" and plain.axes[0].get_title() == "an array"
    hdul = fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns([fits.Column("A", "E", array=[1.0])]),
                         fits.ImageHDU(_counts()[None, :, :], name="SCI")])  # fmt: skip
    assert quicklook(hdul).axes[0].get_title() == "SCI"  # the first image, its length-one axis dropped
    big = _image(tmp_path / "big.fits", _counts((1500, 1100)))
    figure = quicklook(big, tmp_path / "big.png")
    png(tmp_path / "big.png", 640, 560)
    assert figure.axes[1].get_ylabel() == "count (sums of 3 x 3 pixels)"


@pytest.mark.parametrize(
    ("data", "note"),
    [(np.zeros((50, 50)), "no counts"), (np.full((50, 50), 7.0), "one value everywhere (7)"),
     (np.full((50, 50), np.nan), "no data (every pixel is NaN)")],
)  # fmt: skip
def test_blank_images_say_so(tmp_path, data, note):
    figure = quicklook(_image(tmp_path / "blank.fits", data), tmp_path / "blank.png")
    png(tmp_path / "blank.png", 640, 560)
    assert note in texts(figure)


def test_what_is_not_an_image_is_refused(tmp_path):
    table = tmp_path / "events.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns([fits.Column("TIME", "D", array=[1.0])],
                                                                   name="EVENTS")]).writeto(table)  # fmt: skip
    text = tmp_path / "notes.txt"
    text.write_text("not FITS\n")
    cube = _image(tmp_path / "cube.fits", np.ones((3, 8, 8)), wcs=False)
    cases = [
        (table, "holds no image (its HDUs: PRIMARY (PrimaryHDU), EVENTS (BinTableHDU))"),
        (text, "not a readable FITS file"),
        (tmp_path / "missing.fits", "no such file"),
        (cube, "is 3-dimensional"),
        (np.arange(10), "is 1-dimensional"),
        (np.array([["a", "b"], ["c", "d"]]), "not numbers"),
        (42, "int is not an image"),
    ]
    for image, needle in cases:
        with pytest.raises(InputError) as err:
            quicklook(image, tmp_path / "never.png")  # type: ignore[arg-type]
        assert needle in str(err.value) and "give a FITS image" in str(err.value), str(err.value)
    with pytest.raises(InputError, match="stretch='cube'"):
        quicklook(np.ones((4, 4)), stretch="cube")  # type: ignore[arg-type]
    assert not (tmp_path / "never.png").exists()


def test_overview_grid(tmp_path):
    images = [_image(tmp_path / f"{n}-image.fits", _counts(seed=n), OBS_ID=str(n), INSTRUME="FPMA") for n in range(5)]
    figure = overview([*images, np.zeros((40, 40))], tmp_path / "overview.png")
    png(tmp_path / "overview.png", 900, 650, min_bytes=20_000)
    assert len(figure.axes) == 6 and figure.axes[0].get_title() == "ObsID 0, FPMA\n0-image.fits"
    assert "no counts" in texts(figure) and figure.get_suptitle() == "6 images"
    single = overview(images[0], tmp_path / "one.png", columns=4)  # one image: a grid of one
    png(tmp_path / "one.png", 300, 350)
    assert len(single.axes) == 1
    with pytest.raises(InputError, match="no images were given"):
        overview([])
    with pytest.raises(InputError, match=r"image 2 of 2: .*no such file"):
        overview([images[0], tmp_path / "gone.fits"])
    with pytest.raises(InputError, match="columns=0"):
        overview(images, columns=0)


# ---------------------------------------------------------------------------------- the workspace, CLI and demo
def test_workspace_quicklooks(tmp_path):
    root = tmp_path / "data"
    native = root / "processed" / "nustar_pointed" / "60001" / "native"
    first = _image(native / "a-image.fits", _counts(), OBS_ID="60001", INSTRUME="FPMA")
    second = _image(root / "processed" / "chandra" / "42" / "native" / "b-image.fits", np.zeros((64, 64)))
    _image(native / "a-ratemap.fits", _counts() / 100.0)
    (root / "processed" / "logs").mkdir(parents=True)
    ws = Workspace(root)
    pictures = ws.quicklooks()
    assert pictures == [second.with_suffix(".png").resolve(), first.with_suffix(".png").resolve(),
                        (root / "processed" / "overview.png").resolve()]  # fmt: skip
    for picture in pictures[:2]:
        png(picture, 640, 560)
    png(pictures[2], 600, 350)
    stamps = [p.stat().st_mtime_ns for p in pictures]
    assert ws.quicklooks() == pictures  # up to date: the quick-looks kept, the overview drawn again
    assert [p.stat().st_mtime_ns for p in pictures[:2]] == stamps[:2] and pictures[2].stat().st_mtime_ns != stamps[2]
    assert ws.quicklooks(["nustar_pointed"], overview=False) == [pictures[1]]
    rates = ws.quicklooks(pattern="*-ratemap.fits", overview=False, rerun=True)
    assert [p.name for p in rates] == ["a-ratemap.png"]
    (native / "c-image.fits").write_text("truncated")
    with pytest.warns(PartialResultWarning, match="c-image.fits: not a readable FITS file"):
        assert len(ws.quicklooks()) == 3
    assert Workspace(tmp_path).quicklooks() == []  # nothing processed yet


def test_cli_search_plot(vodaxa_sandbox, tmp_path, capsys):
    picture = tmp_path / "pictures" / "coma.png"
    argv = ["search", "chandra", "xmm_pointed", "--ra", "0.05", "--dec", "-89.9", "--radius", "2"]
    assert main([*argv, "--plot", str(picture)]) == 0
    err = capsys.readouterr().err
    assert f"written to {picture}" in err and "sky plot of" in err
    png(picture, 900, 600)
    assert main([*argv, "--plot", str(tmp_path / "coma.gif")]) == 2
    assert "--plot" in capsys.readouterr().err and not (tmp_path / "coma.gif").exists()


def test_the_demo_draws_and_names_its_pictures(tmp_path, capsys):
    dest = tmp_path / "demo"
    assert main(["demo", "--dest", str(dest), "--no-progress"]) == 0
    out = capsys.readouterr().out
    summary = out[out.index("Summary:"):]
    images = sorted((dest / "processed").rglob("native/*-image.fits"))
    assert len(images) >= 3
    for image in images:
        picture = image.with_suffix(".png")
        assert f"  {picture}\n" in summary
        png(picture, 640, 560)
    assert f"quick-looks of the {len(images)} images:" in summary
    assert f"the overview of the images {dest / 'processed' / 'overview.png'}" in summary
    assert f"the sky plot of the search is {dest / 'sky.png'}" in summary
    columns = min(6, int(np.ceil(np.sqrt(len(images)))))
    rows = int(np.ceil(len(images) / columns))
    png(dest / "processed" / "overview.png", 300 * columns, 300 * rows + 50, min_bytes=20_000)
    png(dest / "sky.png", 900, 600)


# ---------------------------------------------------------------------------------- without matplotlib
@pytest.fixture
def no_matplotlib(monkeypatch):
    """matplotlib made unimportable (None in sys.modules: ``import matplotlib`` raises ImportError)."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)


def test_without_matplotlib_each_entry_point_says_what_to_install(no_matplotlib, tmp_path):
    frame = pd.DataFrame({"mission": ["a"], "obs_id": ["1"], "ra": [1.0], "dec": [2.0]})
    for call in (lambda: sky_plot(frame), lambda: quicklook(np.ones((4, 4))), lambda: overview([np.ones((4, 4))]),
                 lambda: Workspace(tmp_path).quicklooks()):  # fmt: skip
        with pytest.raises(MissingDependencyError) as err:
            call()
        assert INSTALL in str(err.value) and "matplotlib" in str(err.value)
        assert isinstance(err.value, ImportError) and isinstance(err.value, vodaxa.VodaxaError)


def test_without_matplotlib_the_cli_refuses_before_searching(no_matplotlib, vodaxa_sandbox, tmp_path, capsys):
    out = tmp_path / "obs.csv"
    picture = tmp_path / "s.png"
    assert main(["search", "chandra", "--ra", "10", "--dec", "10", "-o", str(out), "--plot", str(picture)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and INSTALL in err and not out.exists() and not picture.exists()


def test_without_matplotlib_the_demo_runs_and_says_why_there_are_no_pictures(no_matplotlib, tmp_path, capsys):
    dest = tmp_path / "demo"
    assert main(["demo", "--dest", str(dest), "--no-progress", "--missions", "nustar_pointed"]) == 0
    out = capsys.readouterr().out
    assert "Pictures were skipped: drawing the demo's pictures needs matplotlib, which is not installed; install " \
           f"it with: {INSTALL}" in out  # fmt: skip
    assert list((dest / "processed").rglob("*-image.fits")) and not list(dest.rglob("*.png"))
