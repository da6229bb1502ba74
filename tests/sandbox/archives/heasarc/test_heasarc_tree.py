"""The sandbox's HEASARC FTP tree: layout rules, file contents, determinism and concurrency."""

from __future__ import annotations

import gzip
import io
import re
import threading
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import fits

from vodaxa import lzw
from vodaxa.sandbox.archives.heasarc import tree as heasarc_tree
from vodaxa.sandbox.archives.heasarc.tables import TABLES, generate
from vodaxa.sandbox.synth import synthfiles

SAMPLE = 3  # rows built per table from generate(table, 40, seed=1)
FITS_SUFFIXES = (
    ".fits",
    ".fits.gz",
    ".evt.gz",
    ".FIT.gz",
    ".fits.Z",
    ".FTZ",
    ".img.gz",
    ".hk.gz",
    ".pha.gz",
    ".lc.gz",
    ".pi.gz",
    ".mkf.gz",
    ".att.gz",
    ".orb.gz",
    ".unf.gz",
    ".cat.gz",
)

#: A hand-built row per mission and the directory HEASARC keeps it in (daxa.md section 1.4).
HAND_ROWS: list[tuple[str, dict[str, Any], str]] = [
    ("numaster", {"obsid": "60001047002"}, "nustar/data/obs/00/6/60001047002/"),
    ("chanmaster", {"obsid": 1843}, "chandra/data/byobsid/3/1843/"),
    ("chanmaster", {"obsid": np.int64(20)}, "chandra/data/byobsid/0/20/"),
    ("xmmmaster", {"obsid": "0112810101"}, "xmm/data/rev0/0112810101/"),
    ("swiftmastr", {"obsid": "00035000001", "start_time": 53500.5}, "swift/data/obs/2005_05/00035000001/"),
    ("swiftmastr", {"obsid": "00031234002", "start_time": 57387.99}, "swift/data/obs/2015_12/00031234002/"),
    ("suzamaster", {"obsid": "701094010"}, "suzaku/data/obs/7/701094010/"),
    ("ascamaster", {"sequence_number": "10003000"}, "asca/data/rev2/10003000/"),
    ("intscwpub", {"scw_id": "004400110010", "scw_ver": "001"}, "integral/data/scw/0044/004400110010.001/"),
    ("intscwpub", {"scw_id": "123400560010", "scw_ver": "002"}, "integral/data/scw/1234/123400560010.002/"),
    ("rosmaster", {"seq_id": "RP700001N00"}, "rosat/data/pspc/processed_data/700000/rp700001n00/"),
    ("rosmaster", {"seq_id": "RH600123A01"}, "rosat/data/hri/processed_data/600000/rh600123a01/"),
    ("rassmaster", {"seq_id": "RS930000N00"}, "rosat/data/pspc/processed_data/900000/rs930000n00/"),
    ("xrismmastr", {"obsid": "300003010"}, "xrism/data/obs/3/300003010/"),
]


def _plain(data: Mapping[str, np.ndarray], index: int) -> dict[str, Any]:
    """Row ``index`` with plain Python values and None for NULL, as the sandbox server passes rows."""
    row = {}
    for name, values in data.items():
        value = values[index]
        value = value.item() if isinstance(value, np.generic) else value
        row[name] = None if isinstance(value, float) and np.isnan(value) else value
    return row


def _raw(path: Path) -> bytes:
    """A file's content with gzip or compress undone."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    if data[:2] == lzw.MAGIC:
        return lzw.decompress(data)
    return data


def _open_checked(data: bytes) -> fits.HDUList:
    """Open FITS bytes, verifying every HDU's checksums and loading all data; any warning fails."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hdul = fits.open(io.BytesIO(data), checksum=True)
        hdul.verify("exception")
        for hdu in hdul:
            _ = hdu.data
    return hdul


@pytest.fixture(scope="module")
def sample_rows() -> dict[str, list[dict[str, Any]]]:
    """The first rows of each synthetic master table."""
    out = {}
    for table in TABLES:
        data = generate(table, 40, seed=1)
        out[table] = [_plain(data, i) for i in range(SAMPLE)]
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, sample_rows) -> dict[str, Any]:
    """The sample rows built twice (plain rows, then numpy-scalar rows), with the time of each build."""
    roots = [tmp_path_factory.mktemp("tree-a"), tmp_path_factory.mktemp("tree-b")]
    listings: dict[tuple[str, int], list[str]] = {}
    seconds: list[float] = []
    for table, rows in sample_rows.items():
        data = generate(table, 40, seed=1)
        for i, row in enumerate(rows):
            start = time.perf_counter()
            listings[table, i] = heasarc_tree.build_observation(table, row, roots[0])
            seconds.append(time.perf_counter() - start)
            numpy_row = {name: values[i] for name, values in data.items()}
            assert heasarc_tree.build_observation(table, numpy_row, roots[1]) == listings[table, i]
    return {"roots": roots, "listings": listings, "seconds": seconds}


# ------------------------------------------------------------------------------------------- paths


@pytest.mark.parametrize("table, row, expected", HAND_ROWS, ids=[e.split("/")[-2] for _, _, e in HAND_ROWS])
def test_observation_path_follows_heasarc_layout(table: str, row: dict[str, Any], expected: str) -> None:
    assert heasarc_tree.observation_path(table, row) == expected


def test_integral_shared_revolution_paths() -> None:
    row = {"scw_id": "004400110010", "scw_ver": "001"}
    assert heasarc_tree.shared_paths("intscwpub", row) == [
        "integral/data/scw/0044/rev.001/",
        "integral/data/aux/adp/0044.001/",
    ]
    assert heasarc_tree.shared_paths("numaster", {"obsid": "60001047002"}) == []


def test_unknown_table_raises_key_error(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="nosuchtable"):
        heasarc_tree.observation_path("nosuchtable", {"obsid": "1"})
    with pytest.raises(KeyError):
        heasarc_tree.build_observation("nosuchtable", {"obsid": "1"}, tmp_path)


def test_every_table_has_a_layout() -> None:
    assert set(heasarc_tree.MISSIONS) == set(TABLES)


def test_sample_rows_land_in_their_directories(built, sample_rows) -> None:
    root = built["roots"][0]
    for (table, i), files in built["listings"].items():
        base = heasarc_tree.observation_path(table, sample_rows[table][i])
        shared = heasarc_tree.shared_paths(table, sample_rows[table][i])
        assert files == sorted(files) and files
        assert all(f.startswith((base, *shared)) for f in files)
        assert any(f.startswith(base) for f in files)
        assert all((root / f).is_file() for f in files)
        assert not list(root.rglob("*.tmp")), "temporary build directories were left behind"


# ------------------------------------------------------------------------------------------- contents


def test_builds_are_deterministic_byte_for_byte(built) -> None:
    a, b = built["roots"]
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_every_fits_file_is_valid_with_checksums(built, sample_rows) -> None:
    root = built["roots"][0]
    checked = 0
    for (table, i), files in built["listings"].items():
        row = sample_rows[table][i]
        mission = heasarc_tree.MISSIONS[table]
        for rel in files:
            data = _raw(root / rel)
            if rel.endswith(FITS_SUFFIXES):
                assert data.startswith(b"SIMPLE  =                    T"), rel
            if not data.startswith(b"SIMPLE  ="):
                continue
            with _open_checked(data) as hdul:
                checked += 1
                for hdu in hdul:
                    assert "DATASUM" in hdu.header and "CHECKSUM" in hdu.header
                header = hdul[0].header
                assert header["TELESCOP"] == mission.telescop
                assert header["INSTRUME"]
                if "/rev.001/" not in rel and "/aux/adp/" not in rel:
                    assert header["OBS_ID"] == synthfiles.obsid_text(row, mission.key)
                    start = row[mission.start]
                    assert header["DATE-OBS"][:10] == str(np.datetime64("1858-11-17") + int(start))
    assert checked > 200


def test_checksum_check_catches_corruption(built) -> None:
    root = built["roots"][0]
    evt = next(root.rglob("*_cl.evt.gz"))
    data = bytearray(gzip.decompress(evt.read_bytes()))
    at = data.index(b"OBJECT  = '") + 11
    data[at] = ord("Z") if data[at] != ord("Z") else ord("Y")
    with pytest.raises(Warning, match=r"(?i)checksum"):
        _open_checked(bytes(data))


def test_event_lists_have_the_standard_columns_and_times(built) -> None:
    root = built["roots"][0]
    event_files = [p for p in root.rglob("*") if p.name.endswith((".evt.gz", "IME.FIT.gz", "_bas.fits.Z"))]
    assert len(event_files) > 30
    for path in event_files:
        with fits.open(io.BytesIO(_raw(path))) as hdul:
            events, gti = hdul["EVENTS"], hdul["GTI"]
            formats = {c.name: c.format for c in events.columns}
            assert formats == {
                "TIME": "D",
                "ENERGY": "E",
                "PI": "J",
                "GRADE": "I",
                "STATUS": "32X",
                "X": "E",
                "Y": "E",
            }
            times = events.data["TIME"]
            assert 60 <= times.size <= 2300
            assert np.all(np.diff(times) >= 0)
            assert events.header["TSTART"] <= times.min() and times.max() <= events.header["TSTOP"]
            starts, stops = gti.data["START"], gti.data["STOP"]
            inside = (times[:, None] >= starts) & (times[:, None] <= stops)
            assert inside.any(axis=1).all(), path.name


def test_some_observations_flare_and_others_do_not(tmp_path: Path) -> None:
    peaks = []
    for n in range(12):
        row = {"obsid": f"600010470{n:02d}", "time": 57000.0, "end_time": 57000.8, "ra": 10.0, "dec": -5.0}
        files = heasarc_tree.build_observation("numaster", row, tmp_path)
        evt = next(f for f in files if f.endswith("A_uf.evt.gz"))
        with fits.open(io.BytesIO(_raw(tmp_path / evt))) as hdul:
            counts, _ = np.histogram(hdul["EVENTS"].data["TIME"], bins=100)
        peaks.append(counts.max() / np.median(counts[counts > 0]))
    assert max(peaks) > 8, "no observation has a flare"
    assert min(peaks) < 4, "every observation flares"


# ------------------------------------------------------------------------------------------- missions


def _build(tmp_path: Path, table: str, row: dict[str, Any]) -> tuple[str, set[str]]:
    """Build one row and return its directory and the file paths relative to it."""
    base = heasarc_tree.observation_path(table, row)
    files = heasarc_tree.build_observation(table, row, tmp_path)
    return base, {f[len(base) :] for f in files if f.startswith(base)}


#: Directories (below the observation directory) that DAXA downloads, per hand-built row.
EXPECTED_DIRS = {
    "numaster": {"auxil", "event_uf", "event_cl", "hk"},
    "chanmaster": {"primary", "secondary", "secondary/aspect", "secondary/ephem"},
    "xmmmaster": {"ODF", "PPS"},
    "swiftmastr": {
        "auxil",
        "xrt/event",
        "xrt/hk",
        "xrt/image",
        "xrt/products",
        "uvot/event",
        "uvot/hk",
        "uvot/image",
        "uvot/products",
        "bat/event",
        "bat/rate",
        "bat/survey",
    },
    "suzamaster": {"auxil", "xis/event_uf", "xis/event_cl", "xis/hk", "xis/products"},
    "ascamaster": {"aux", "calib", "telem", "unscreened", "screened", "images", "spectra", "lcurves"},
    "xrismmastr": {
        "auxil",
        *(f"{i}/{d}" for i in ("resolve", "xtend") for d in ("event_uf", "event_cl", "hk", "products")),
    },
}


@pytest.mark.parametrize("table", sorted(EXPECTED_DIRS))
def test_mission_directories(tmp_path: Path, table: str) -> None:
    row = next(r for t, r, _ in HAND_ROWS if t == table)
    _, files = _build(tmp_path, table, row)
    dirs = {f.rsplit("/", 1)[0] for f in files if "/" in f}
    assert EXPECTED_DIRS[table] <= dirs


def test_nustar_files(tmp_path: Path) -> None:
    _, files = _build(tmp_path, "numaster", {"obsid": "60001047002"})
    o = "60001047002"
    assert {
        f"nu{o}.cat.gz",
        f"event_uf/nu{o}A_uf.evt.gz",
        f"event_uf/nu{o}B_uf.evt.gz",
        f"event_cl/nu{o}A01_cl.evt.gz",
        f"event_cl/nu{o}B01_cl.evt.gz",
        f"event_cl/nu{o}A01_sk.img.gz",
        f"event_cl/nu{o}B01_sk.img.gz",
        f"auxil/nu{o}_att.fits.gz",
    } <= files
    _, only_a = _build(tmp_path, "numaster", {"obsid": "60001047004", "ontime_a": 100.0, "ontime_b": 0.0})
    assert "event_cl/nu60001047004A01_cl.evt.gz" in only_a
    assert not any(f.startswith("event_cl/nu60001047004B") for f in only_a)
    assert "event_uf/nu60001047004B_uf.evt.gz" in only_a


def test_xmm_odf(tmp_path: Path) -> None:
    base, files = _build(tmp_path, "xmmmaster", {"obsid": "0112810101", "xmm_revolution": 70})
    odf = {f for f in files if f.startswith("ODF/")}
    assert "ODF/MANIFEST.0070" in odf
    assert "ODF/0070_0112810101_M1S00101IME.FIT.gz" in odf
    for inst in ("M1", "M2", "PN", "OM", "R1", "R2", "SC"):
        assert any(f.startswith(f"ODF/0070_0112810101_{inst}") for f in odf), inst
    manifest = (tmp_path / base / "ODF/MANIFEST.0070").read_text().split()
    assert sorted(manifest) == sorted(f[4:].removesuffix(".gz") for f in odf if "MANIFEST" not in f)


def test_swift_files_and_zero_exposure_instruments(tmp_path: Path) -> None:
    row = {"obsid": "00035000001", "start_time": 53500.5, "stop_time": 53500.6}
    _, files = _build(tmp_path, "swiftmastr", row)
    assert {
        "xrt/event/sw00035000001xpcw3po_cl.evt.gz",
        "xrt/event/sw00035000001xpcw3po_uf.evt.gz",
        "auxil/sw00035000001sat.fits.gz",
        "bat/event/sw00035000001bevshpo_uf.evt.gz",
    } <= files
    _, no_uvot = _build(tmp_path, "swiftmastr", {**row, "obsid": "00035000002", "uvot_exposure": 0.0})
    assert not any(f.startswith("uvot/") for f in no_uvot)
    assert any(f.startswith("xrt/") for f in no_uvot)


def test_rosat_files(tmp_path: Path) -> None:
    _, pspc = _build(tmp_path, "rosmaster", {"seq_id": "RP700001N00", "instrument": "PSPCB", "proc_rev": 2})
    assert pspc == {f"rp700001n00_{k}.fits.Z" for k in ("anc", "bas", "bk1", "bk2", "bk3", "im1", "im2", "im3", "mex")}
    _, hri = _build(tmp_path, "rosmaster", {"seq_id": "RH600123A01", "instrument": "HRI", "proc_rev": 2})
    assert hri == {f"rh600123a01_{k}.fits.Z" for k in ("anc", "bas", "bk1", "im1")}
    _, old = _build(tmp_path, "rosmaster", {"seq_id": "RP700068N00", "proc_rev": 0})
    assert old == {"rp700068n00.fits.Z"}  # proc_rev 0 directories lack the RDF files (DAXA issue #207)


def test_integral_science_window_and_revolution(tmp_path: Path) -> None:
    row = {"scw_id": "004400110010", "scw_ver": "001", "good_jemx2": 0.0}
    listing = heasarc_tree.build_observation("intscwpub", row, tmp_path)
    base = "integral/data/scw/0044/004400110010.001/"
    scw = {f[len(base) :] for f in listing if f.startswith(base)}
    assert {
        "swg.fits",
        "004400110010_scw.txt",
        "sc_hk.fits.gz",
        "isgri_events.fits.gz",
        "jmx1_events.fits.gz",
        "spi_oper.fits.gz",
    } <= scw
    assert not any("jmx2" in f for f in scw)
    rev = [f for f in listing if f.startswith("integral/data/scw/0044/rev.001/")]
    assert rev and all(f.count("/") == 6 for f in rev)  # only sub-directories at the top of rev.001
    adp = [f for f in listing if f.startswith("integral/data/aux/adp/0044.001/")]
    assert adp and all("fits" in f for f in adp)


def test_integral_revolution_data_are_shared(tmp_path: Path) -> None:
    rows = [{"scw_id": f"00440{k}110010", "scw_ver": "001"} for k in range(4)]
    results: list[list[str]] = []
    threads = [
        threading.Thread(target=lambda r=r: results.append(heasarc_tree.build_observation("intscwpub", r, tmp_path)))
        for r in rows
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    shared = [sorted(f for f in files if "/rev.001/" in f or "/aux/adp/" in f) for files in results]
    assert len(results) == 4 and all(s == shared[0] for s in shared)
    fresh = tmp_path / "fresh"
    heasarc_tree.build_observation("intscwpub", rows[0], fresh)
    for rel in shared[0]:
        assert (tmp_path / rel).read_bytes() == (fresh / rel).read_bytes()


# ------------------------------------------------------------------------------------------- Chandra


def _oif(tmp_path: Path, row: dict[str, Any]) -> tuple[Path, fits.Header, dict[str, list[str]]]:
    """Build a Chandra row; return its directory, the oif.fits table header and content -> locations."""
    base = tmp_path / heasarc_tree.observation_path("chanmaster", row)
    heasarc_tree.build_observation("chanmaster", row, tmp_path)
    assert (base / "oif.fits").read_bytes().startswith(b"SIMPLE  =")  # not compressed
    with _open_checked((base / "oif.fits").read_bytes()) as hdul:
        header, table = hdul[1].header, hdul[1].data
        members: dict[str, list[str]] = {}
        for content, location in zip(table["MEMBER_CONTENT"], table["MEMBER_LOCATION"]):
            members.setdefault(content.strip(), []).append(location.strip())
        assert {"MEMBER_CONTENT", "MEMBER_LOCATION", "MEMBER_VERSION", "MEMBER_POSITION"} <= set(table.names)
    return base, header.copy(), members


CHANDRA_ROW = {
    "obsid": 1843,
    "detector": "ACIS-S",
    "grating": "NONE",
    "time": 51800.25,
    "exposure": 45000.0,
    "ra": 83.63308,
    "dec": 22.0145,
    "name": "Crab",
    "data_mode": "TE_VFAINT",
}


def test_chandra_oif_single_obi(tmp_path: Path) -> None:
    base, header, members = _oif(tmp_path, CHANDRA_ROW)
    for key in (
        "SEQ_NUM",
        "OBS_ID",
        "INSTRUME",
        "DETNAM",
        "GRATING",
        "OBS_MODE",
        "DATAMODE",
        "RA_NOM",
        "DEC_NOM",
        "ROLL_NOM",
        "SIM_X",
        "SIM_Y",
        "SIM_Z",
        "TSTART",
        "TSTOP",
    ):
        assert key in header, key
    values = (header["OBS_ID"], header["INSTRUME"], header["GRATING"], header["DATAMODE"])
    assert values == ("1843", "ACIS", "NONE", "VFAINT")
    assert header["DETNAM"].startswith("ACIS-")
    expected = {"EVT2", "EVT1", "ASPSOL", "BPIX", "FOV", "MTL", "FLT", "MSK", "STAT", "BIAS", "PBK"}
    assert expected <= set(members)
    assert len(members["EVT1"]) == 1 and len(members["EVT2"]) == 1
    assert re.fullmatch(r"primary/acisf01843N00\d_evt2\.fits\.gz", members["EVT2"][0])
    assert re.fullmatch(r"primary/pcadf01843_000N00\d_asol1\.fits\.gz", members["ASPSOL"][0])
    assert re.fullmatch(r"secondary/acisf01843_000N00\d_evt1\.fits\.gz", members["EVT1"][0])
    for locations in members.values():
        for location in locations:
            assert (base / location).is_file(), location
    files = {p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file()}
    assert "00README" in files
    assert any(re.fullmatch(r"axaff01843N00\d_VV001_vv2\.pdf", f) for f in files)
    assert any(re.fullmatch(r"axaff01843N00\d_VV001_vvref2\.pdf", f) for f in files)
    assert any(f.startswith("primary/") and f.endswith(".jpg") for f in files)
    assert (base / next(f for f in files if f.endswith("vv2.pdf"))).read_bytes().startswith(b"%PDF-")
    assert (base / next(f for f in files if f.endswith(".jpg"))).read_bytes().startswith(b"\xff\xd8\xff")


def test_chandra_multi_obi(tmp_path: Path) -> None:
    _, _, members = _oif(tmp_path, {**CHANDRA_ROW, "obsid": 1700})  # 1700 % 17 == 0
    evt1 = members["EVT1"]
    assert len(evt1) == 2
    assert sorted("E" + f.split("_")[-2].split("N")[0] for f in evt1) == ["E000", "E001"]  # DAXA's parse
    assert len(members["ASPSOLOBI"]) == 2 and "ASPSOL" not in members
    assert not any("_e1_" in f or "_e2_" in f for locs in members.values() for f in locs)


def test_chandra_alternating_exposure(tmp_path: Path) -> None:
    _, _, members = _oif(tmp_path, {**CHANDRA_ROW, "obsid": 1701})  # 1701 % 17 == 1
    evt1 = members["EVT1"]
    assert len(evt1) == 2
    assert any("_e1_" in f for f in evt1) and any("_e2_" in f for f in evt1)


def test_chandra_hrc(tmp_path: Path) -> None:
    _, header, members = _oif(tmp_path, {**CHANDRA_ROW, "detector": "HRC-I"})
    assert header["INSTRUME"] == "HRC" and header["DETNAM"] == "HRC-I"
    assert all(
        Path(f).name.startswith(("hrcf", "pcadf", "orbitf", "angelf", "lunef", "solarf"))
        for locs in members.values()
        for f in locs
    )
    assert "BIAS" not in members and "PBK" not in members and "DTF" in members


# ------------------------------------------------------------------------------------------- building


def test_build_is_idempotent(tmp_path: Path) -> None:
    first = heasarc_tree.build_observation("chanmaster", CHANDRA_ROW, tmp_path)
    stamps = {f: (tmp_path / f).stat().st_mtime_ns for f in first}
    assert heasarc_tree.build_observation("chanmaster", CHANDRA_ROW, tmp_path) == first
    assert {f: (tmp_path / f).stat().st_mtime_ns for f in first} == stamps


def test_concurrent_builds_agree(tmp_path: Path) -> None:
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def work() -> None:
        """Build the same observation as every other thread."""
        try:
            results.append(heasarc_tree.build_observation("xmmmaster", {"obsid": "0112810101"}, tmp_path))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 6 and all(r == results[0] for r in results)
    parent = tmp_path / "xmm/data/rev0"
    assert sorted(p.name for p in parent.iterdir()) == ["0112810101"]


def test_build_time_per_observation(built) -> None:
    seconds = built["seconds"]
    assert len(seconds) == SAMPLE * len(TABLES)
    assert max(seconds) < 1.0, f"slowest build took {max(seconds):.3f} s"
