"""Hostile findings 2, 11 and 16 (images): declared sizes checked before reading, images binned as they are read,
extreme pixel values drawn, odd shapes and parameters refused or drawn, never a bare matplotlib error."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from astropy.io import fits

from vodaxa.errors import InputError
from vodaxa.plot import images, overview, quicklook, sky_plot

from .conftest import counts, image, png_size


def _declared(path, shape, bitpix=8):
    """A FITS image declaring ``shape`` (numpy order), its data all zeros (a sparse file: nothing is written)."""
    header = fits.Header([("SIMPLE", True), ("BITPIX", bitpix), ("NAXIS", len(shape))])
    for n, length in enumerate(reversed(shape), start=1):
        header[f"NAXIS{n}"] = length
    text = header.tostring().encode()
    size = len(text) + int(np.prod(shape)) * abs(bitpix) // 8
    with open(path, "wb") as f:
        f.write(text)
        f.truncate(size + (-size) % 2880)
    return path


def test_an_image_too_large_is_refused_before_its_data_is_read(tmp_path):
    big = _declared(tmp_path / "big.fits", (20000, 20000))
    small = fits.CompImageHDU(np.zeros((100, 100), dtype=np.uint8))
    fits.HDUList([fits.PrimaryHDU(), small]).writeto(tmp_path / "packed.fits")
    with fits.open(tmp_path / "packed.fits", mode="update", disable_image_compression=True) as hdul:
        hdul[1].header["ZNAXIS1"] = hdul[1].header["ZNAXIS2"] = 20000  # 1 kB declaring 400 million pixels
    tracemalloc.start()
    try:
        for path in (big, tmp_path / "packed.fits"):
            with pytest.raises(InputError) as err:
                quicklook(path)
            message = str(err.value)
            assert "20000 x 20000" in message and f"{images.MAX_IMAGE_PIXELS:,}" in message and "Cutout2D" in message
            with pytest.raises(InputError, match="image 2 of 2"):
                overview([counts(), path])
        assert tracemalloc.get_traced_memory()[1] < 50e6  # nothing of the data was read
    finally:
        tracemalloc.stop()
    with pytest.raises(InputError, match="20000 x 20000"):
        quicklook(np.broadcast_to(np.float32(0), (20000, 20000)))


def test_large_images_are_binned_as_they_are_read(tmp_path):
    data = np.zeros((6000, 6000), dtype=np.uint8)
    data[::7, ::5] = 3
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data)]).writeto(tmp_path / "packed.fits")
    _declared(tmp_path / "plain.fits", (6000, 6000), bitpix=16)
    del data
    for path in (tmp_path / "packed.fits", tmp_path / "plain.fits"):
        tracemalloc.start()
        try:
            figure = quicklook(path, tmp_path / "look.png")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 120e6, (path, peak)  # a full float copy alone would be 288 MB
        assert figure.axes[1].get_ylabel() == "value (sums of 12 x 12 pixels)"
        assert png_size(tmp_path / "look.png") == (640, 560)
    paths = [image(tmp_path / f"{n}.fits", np.full((2000, 2000), n, dtype=np.int16), wcs=None) for n in range(6)]
    tracemalloc.start()
    try:
        overview(paths, tmp_path / "six.png")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100e6, peak  # each thumbnail reduced as read: not six float copies of 32 MB


def test_memory_running_out_is_said_so(tmp_path, monkeypatch):
    path = image(tmp_path / "x.fits", counts())

    def short(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(fits, "open", short)
    with pytest.raises(InputError) as err:
        quicklook(path)
    assert "memory" in str(err.value) and "not a readable FITS file" not in str(err.value)


@pytest.mark.parametrize(
    "data",
    [np.array([[1e308, -1e308], [0, 1]]), np.full((1030, 1030), 1e308), np.array([[np.inf, -np.inf], [1, 2]]),
     np.array([[1e-320, 0], [0, 5e-324]]), np.array([[-1e308, 1e307], [np.inf, 0]])],
)  # fmt: skip
def test_extreme_pixel_values_are_drawn(tmp_path, data):
    figure = quicklook(data, tmp_path / "x.png")
    assert png_size(tmp_path / "x.png") == (640, 560)
    overview([data], tmp_path / "o.png")
    assert png_size(tmp_path / "o.png") == (300, 350)
    assert figure.axes[1].get_ylabel()


def test_overflowing_sums_are_drawn_as_means(tmp_path):
    figure = quicklook(np.full((1030, 1030), 1e308))
    assert "means of 3 x 3 pixels" in figure.axes[1].get_ylabel()


def test_infinities_are_missing_pixels():
    figure = quicklook(np.full((8, 8), np.inf))
    assert any("no data" in t.get_text() for t in figure.axes[0].texts)


def test_tiny_images_and_rows_are_images(tmp_path):
    quicklook(np.array([[3.0]]), tmp_path / "one.png")
    quicklook(np.arange(50.0).reshape(1, 50), tmp_path / "row.png")
    quicklook(np.arange(50.0).reshape(1, 1, 50, 1), tmp_path / "padded.png")
    assert png_size(tmp_path / "one.png") == png_size(tmp_path / "row.png") == (640, 560)
    one = image(tmp_path / "one.fits", np.ones((1, 1)))
    quicklook(one, tmp_path / "one-fits.png")
    with pytest.raises(InputError, match="1-dimensional"):
        quicklook(np.arange(5.0))


def test_messages_name_unnamed_hdus_plainly():
    with pytest.raises(InputError) as err:
        quicklook(fits.ImageHDU(np.ones((3, 4, 4))))
    assert "  " not in str(err.value) and "3-dimensional" in str(err.value)
    with pytest.raises(InputError) as err:
        quicklook(fits.ImageHDU())
    assert "  " not in str(err.value) and "no data" in str(err.value)


@pytest.mark.parametrize(
    ("call", "needle"),
    [
        (lambda: quicklook(np.ones((4, 4)), size=(0, 0)), "size=(0, 0)"),
        (lambda: quicklook(np.ones((4, 4)), size=(-1, 3)), "size=(-1, 3)"),
        (lambda: quicklook(np.ones((4, 4)), size=(np.nan, 3)), "size=(nan, 3)"),
        (lambda: quicklook(np.ones((4, 4)), size="big"), "size='big'"),
        (lambda: quicklook(np.ones((4, 4)), dpi=0), "dpi=0"),
        (lambda: quicklook(np.ones((4, 4)), dpi="x"), "dpi='x'"),
        (lambda: quicklook(np.ones((4, 4)), dpi=True), "dpi=True"),
        (lambda: quicklook(np.ones((4, 4)), dpi=3000), "pixels"),
        (lambda: sky_plot(__import__("pandas").DataFrame({"ra": [1.0], "dec": [2.0]}), dpi=3000), "pixels"),
        (lambda: overview([np.ones((4, 4))], dpi=-5), "dpi=-5"),
        (lambda: overview([np.ones((4, 4))], columns=True), "columns=True"),
        (lambda: overview([np.ones((4, 4))], columns=2.5), "columns=2.5"),
        (lambda: overview(None), "None"),
        (lambda: overview(5), "int"),
    ],
)
def test_bad_parameters_are_input_errors(call, needle):
    with pytest.raises(InputError) as err:
        call()
    assert needle in str(err.value), str(err.value)


def test_numpy_integers_are_numbers(tmp_path):
    figure = overview([np.ones((4, 4))] * 3, columns=np.int64(2), dpi=np.int64(50))
    assert len(figure.axes) == 3
    quicklook(np.ones((4, 4)), size=(np.float32(3), 2), dpi=72.0)


def test_a_source_among_mostly_empty_pixels_is_brighter_than_one_count():
    """X-ray counts: 99.5 % of all pixels would be 0 or 1, so the scale is set by the pixels that have counts."""
    import numpy as np

    from vodaxa.plot import quicklook

    rng = np.random.default_rng(1)
    counts = (rng.random((200, 200)) < 0.01).astype(float)  # sparse single background counts
    counts[95:105, 95:105] = rng.integers(20, 70, (10, 10))  # a source
    shown = quicklook(counts).axes[0].images[0]
    assert shown.norm.vmax > 20  # the source spans the grey levels; one count is near the bottom
