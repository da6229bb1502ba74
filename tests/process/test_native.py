"""Native reductions against hand-computed answers, then on sandbox event lists of two missions."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from vodaxa.errors import ProcessingError
from vodaxa.process import Workspace, native

from .conftest import ACIS


def _event_list(path, times, energy_ev, grades, status_bits, x, y, gtis, *, tlmin=0.5, tlmax=16.5):
    """A small event list with Chandra-like columns and sky WCS on X/Y."""
    status = np.zeros((len(times), 4), dtype=np.uint8)
    status[:, 3] = status_bits
    cols = [
        fits.Column("TIME", "D", "s", array=times),
        fits.Column("ENERGY", "E", "eV", array=energy_ev),
        fits.Column("GRADE", "I", array=grades),
        fits.Column("STATUS", "32X", array=np.unpackbits(status, axis=1).astype(bool)),
        fits.Column("X", "E", "pixel", array=x),
        fits.Column("Y", "E", "pixel", array=y),
    ]
    events = fits.BinTableHDU.from_columns(cols, name="EVENTS")
    h = events.header
    for n, (ctype, crval, cdelt) in ((5, ("RA---TAN", 150.0, -0.001)), (6, ("DEC--TAN", 2.0, 0.001))):
        h[f"TCTYP{n}"], h[f"TCRPX{n}"], h[f"TCRVL{n}"], h[f"TCDLT{n}"] = ctype, 8.5, crval, cdelt
        h[f"TLMIN{n}"], h[f"TLMAX{n}"] = tlmin, tlmax
    h["TSTART"], h["TSTOP"], h["INSTRUME"], h["OBS_ID"] = gtis[0][0], gtis[-1][1], "ACIS", "42"
    gti = fits.BinTableHDU.from_columns(
        [fits.Column("START", "D", array=[g[0] for g in gtis]), fits.Column("STOP", "D", array=[g[1] for g in gtis])],
        name="GTI",
    )
    fits.HDUList([fits.PrimaryHDU(), events, gti]).writeto(path)
    return path


def test_flare_gtis_by_hand():
    # 30 bins of 100 s from t=0: 5 events per bin, except bin 8 with 60 (a flare); the GTI ends 50 s into bin 30
    times = np.concatenate([b * 100 + np.linspace(1, 99, 60 if b == 8 else 5) for b in range(30)])
    gtis, curve = native.flare_gtis(times, np.array([[0.0, 3050.0]]), bin_size=100, sigma=3, min_length=3)
    assert curve["counts"].tolist() == [5] * 8 + [60] + [5] * 21  # the partial last bin is dropped
    # one outlier among 30 bins sits sqrt(29) = 5.4 standard deviations out: clipped; the rest agree exactly
    assert curve["kept"].tolist() == [True] * 8 + [False] + [True] * 21
    assert gtis.tolist() == [[0.0, 800.0], [900.0, 3000.0]]
    short, _ = native.flare_gtis(times, np.array([[0.0, 3050.0]]), bin_size=100, sigma=3, min_length=9)
    assert short.tolist() == [[900.0, 3000.0]]  # the 8 bins before the flare are too few for min_length=9


def test_flare_gtis_respect_gaps_and_clip_iteratively():
    # two GTIs; a mild flare that only stands out once the big one is clipped
    per_bin = [10] * 10 + [200] + [10] * 5 + [40] + [10] * 5
    times = np.concatenate([b * 10 + np.linspace(0.5, 9.5, c) for b, c in enumerate(per_bin)])
    gtis = np.array([[0.0, 110.0], [110.0, 220.0]])
    good, curve = native.flare_gtis(times, gtis, bin_size=10, sigma=3, min_length=3)
    kept = curve["kept"].tolist()
    assert kept[10] is False and kept[16] is False and sum(kept) == 20
    assert good.tolist() == [[0.0, 100.0], [110.0, 160.0], [170.0, 220.0]]


def test_flare_gtis_without_a_full_bin_give_the_whole_light_curve():
    # GTIs shorter than one bin: no bins, no GTIs, and a light curve with every key (mean and std unknown)
    good, curve = native.flare_gtis(np.array([1.0, 2.0]), np.array([[0.0, 50.0]]), bin_size=100)
    assert good.shape == (0, 2)
    assert sorted(curve) == ["counts", "kept", "mean", "starts", "std"]
    assert curve["starts"].size == 0 and np.isnan(curve["mean"]) and np.isnan(curve["std"])


def test_filter_events_by_hand(tmp_path):
    times = np.array([5.0, 15.0, 25.0, 35.0, 45.0, 55.0, 65.0, 75.0])
    energy = np.array([300.0, 600.0, 1000.0, 2000.0, 8000.0, 900.0, 1500.0, 5000.0])
    grades = np.array([0, 1, 2, 3, 4, 6, 0, 7])
    bits = np.array([0, 0, 0, 1, 0, 0, 0, 0], dtype=np.uint8)  # event 3 flagged
    xy = np.full(8, 8.0)
    src = _event_list(tmp_path / "evt.fits", times, energy, grades, bits, xy, xy, [(0.0, 80.0)])
    stats = native.filter_events(src, tmp_path / "clean.fits", energy=(0.5, 7.0), grades=[0, 2, 3, 4, 6],
                                 gtis=np.array([[10.0, 60.0], [70.0, 100.0]]))  # fmt: skip
    # energy keeps 1,2,3,5,6,7; grades drop 1 (1) and 7 (7); status drops 3; GTIs drop 6 (65 s) -> 2 and 5
    with fits.open(tmp_path / "clean.fits") as hdul:
        assert hdul["EVENTS"].data["TIME"].tolist() == [25.0, 55.0]
        assert hdul["GTI"].data["START"].tolist() == [10.0, 70.0] and hdul["GTI"].data["STOP"].tolist() == [60.0, 80.0]
        header = hdul["EVENTS"].header
        assert header["EXPOSURE"] == 60.0 and header["CREATOR"].startswith("vodaxa")
        history = " ".join(header["HISTORY"])
        assert "energy 0.5-7 keV" in history and "grades 0,2,3,4,6" in history and "STATUS == 0" in history
    assert stats["events_in"] == 8 and stats["events_out"] == 2 and stats["exposure"] == 60.0


def test_count_image_and_rate_map_by_hand(tmp_path):
    x = np.array([1.0, 1.2, 4.9, 8.6, 8.4, 16.0, 9.0])
    y = np.array([1.0, 2.0, 1.0, 8.6, 8.5, 16.0, 12.0])
    n = len(x)
    src = _event_list(tmp_path / "evt.fits", np.linspace(1, 99, n), np.full(n, 1000.0), np.zeros(n, int),
                      np.zeros(n, np.uint8), x, y, [(0.0, 50.0), (60.0, 110.0)])  # fmt: skip
    info = native.count_image(src, tmp_path / "img.fits", bin_size=4)
    with fits.open(tmp_path / "img.fits") as hdul:
        image, header = hdul[0].data, hdul[0].header
    # bins of 4 pixels from TLMIN 0.5: [0.5, 4.5), [4.5, 8.5), [8.5, 12.5), [12.5, 16.5)
    expected = np.zeros((4, 4), int)  # [y bin, x bin]
    expected[0, 0] = 2  # (1, 1) and (1.2, 2)
    expected[0, 1] = 1  # (4.9, 1)
    expected[2, 1] = 1  # (8.4, 8.5): y 8.5 opens bin 2
    expected[2, 2] = 2  # (8.6, 8.6) and (9, 12)
    expected[3, 3] = 1  # (16, 16)
    assert image.tolist() == expected.tolist() and info["counts"] == n
    assert header["BUNIT"] == "count" and header["EXPOSURE"] == 100.0 and header["CREATOR"].startswith("vodaxa")
    wcs = WCS(header)
    # the event list's reference pixel (8.5, 8.5) is at (150, 2) deg; in the image it is pixel (2.5, 2.5)
    ra, dec = wcs.all_pix2world([[2.5 - 1, 2.5 - 1]], 0)[0]
    assert ra == pytest.approx(150.0) and dec == pytest.approx(2.0)
    assert header["CDELT1"] == pytest.approx(-0.004) and header["CDELT2"] == pytest.approx(0.004)
    assert header["CRVAL1P"] == 0.5 and header["CDELT1P"] == 4

    native.rate_map(tmp_path / "img.fits", tmp_path / "rate.fits")
    with fits.open(tmp_path / "rate.fits") as hdul:
        assert hdul[0].header["BUNIT"] == "count/s"
        assert np.allclose(hdul[0].data, expected / 100.0)
    with pytest.raises(ProcessingError, match="no positive exposure"):
        native.rate_map(tmp_path / "img.fits", tmp_path / "r0.fits", exposure=0)


def test_not_an_event_list_is_a_clear_error(tmp_path):
    fits.PrimaryHDU(np.zeros((2, 2))).writeto(tmp_path / "image.fits")
    with pytest.raises(ProcessingError, match="no EVENTS extension"):
        native.read_events(tmp_path / "image.fits")
    (tmp_path / "junk.fits").write_bytes(b"not fits")
    with pytest.raises(ProcessingError, match="not a readable FITS"):
        native.read_events(tmp_path / "junk.fits")


def test_reduce_every_downloaded_event_list(data):
    ws = Workspace(data)
    lists = native.find_event_lists(ws)
    missions = {m for m, _, _ in lists}
    assert missions == {"chandra", "nustar_pointed"}
    report = native.reduce(ws)
    assert not len(report.failed), report.summary()
    assert len(report.ok) == len(lists)
    for mission, obs, path in lists:
        stem = native._stem(path)
        out = data / "processed" / mission / obs / "native"
        with fits.open(out / f"{stem}-clean.fits") as clean, fits.open(out / f"{stem}-image.fits") as image:
            events = clean["EVENTS"].data
            assert not events["STATUS"].any() if "STATUS" in events.columns.names else True
            energy = events["ENERGY"]
            assert ((energy >= 500) & (energy < 7000)).all()
            assert image[0].data.sum() == len(events)  # every cleaned event lands in the image
            assert image[0].header["CTYPE1"] == "RA---TAN" and "input" in " ".join(image[0].header["HISTORY"])
    again = native.reduce(ws)
    assert not again.ok and len(again.skipped) == len(lists)
    changed = native.reduce(ws, energy=(2.0, 7.0))  # other arguments: run again
    assert len(changed.ok) == len(lists)
    chandra_evt = next(p for m, o, p in lists if o == ACIS[0] and "evt2" in p.name)
    assert chandra_evt.exists()


def test_images_of_fine_pixels_get_coarser_bins(tmp_path, monkeypatch):
    monkeypatch.setattr(native, "MAX_PIXELS", 4)
    n = 3
    xy = np.array([1.0, 8.6, 16.0])
    src = _event_list(tmp_path / "evt.fits", np.array([1.0, 2.0, 3.0]), np.full(n, 1000.0), np.zeros(n, int),
                      np.zeros(n, np.uint8), xy, xy, [(0.0, 10.0)])  # fmt: skip
    info = native.count_image(src, tmp_path / "img.fits", bin_size=1)  # 16 pixels a side asked, 4 allowed
    assert info["bin_size"] == 4 and info["shape"] == [4, 4]
    with fits.open(tmp_path / "img.fits") as hdul:
        assert np.diag(hdul[0].data).tolist() == [1, 0, 1, 1]
        assert "widened from 1 to stay within 4 pixels" in " ".join(hdul[0].header["HISTORY"])


def test_an_event_list_in_both_forms_is_reduced_once(data):
    """Issue 15 item 3: ``x.evt.gz`` and ``x.evt`` side by side (decompress with keep_compressed) are one event
    list: one task, no two tasks racing on one output's temporary file."""
    import gzip

    ws = Workspace(data)
    before = native.find_event_lists(ws)
    packed = [p for _, _, p in before if p.name.endswith(".gz")]
    assert packed, "the sample data has gzipped event lists"
    for path in packed:
        path.with_name(path.name[:-3]).write_bytes(gzip.decompress(path.read_bytes()))
    lists = native.find_event_lists(ws)
    assert len(lists) == len(before)
    assert all(not p.name.endswith(".gz") for _, _, p in lists if p.with_name(p.name + ".gz") in packed)
    for _ in range(2):  # the race was intermittent
        report = native.reduce(ws, rerun=True)
        assert not len(report.failed), report.summary()
        assert len(report.ok) + len(report.skipped) == len(lists)
