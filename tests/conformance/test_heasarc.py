"""astroquery's Heasarc (TAP era: pyvo on /xamin/vo/tap, DataLink, the TarServlet) against the sandbox."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("astroquery", reason="the conformance tests need astroquery (tox -e conformance installs it)")

from astropy import units as u
from astropy.coordinates import SkyCoord, name_resolve
from astroquery.exceptions import NoResultsWarning
from astroquery.heasarc import HeasarcClass

from vodaxa.sandbox.archives.heasarc.meta import DEFAULT_COLUMNS, DEFAULT_RADIUS_ARCMIN
from vodaxa.sandbox.archives.heasarc.shape import public_mask
from vodaxa.sandbox.archives.heasarc.tables import TABLES, TARGETS, generate
from vodaxa.sandbox.protocols.adql import point_in_polygon

from .conftest import ROWS, SEED

MASTERS = {t for t in TABLES if "mast" in t}
C3_105 = next(SkyCoord(ra, dec, unit="deg") for name, ra, dec in TARGETS if name == "3C 105")


@pytest.fixture
def heasarc(sandbox) -> HeasarcClass:
    """A fresh client repointed at the sandbox through its documented settings (VO_URL, TAR_URL)."""
    client = HeasarcClass()
    client.VO_URL = f"{sandbox.urls['heasarc']}/xamin/vo"
    client.TAR_URL = f"{sandbox.urls['heasarc']}/xamin/TarServlet"
    return client


@pytest.fixture(scope="module")
def numaster(sandbox) -> dict[str, np.ndarray]:
    """The sandbox's numaster, recomputed independently of the server."""
    return generate("numaster", ROWS, seed=SEED, now_mjd=sandbox.now_mjd)


def _within(data: dict[str, np.ndarray], centre: SkyCoord, radius: u.Quantity) -> set[str]:
    rows = SkyCoord(data["ra"], data["dec"], unit="deg")
    return set(np.asarray(data["__row"])[rows.separation(centre) <= radius])


def test_list_catalogs(heasarc):
    catalogs = heasarc.list_catalogs()
    assert set(TABLES) | {"metainfo"} == set(catalogs["name"])
    described = dict(zip(catalogs["name"], catalogs["description"]))
    assert described["numaster"] == TABLES["numaster"].description


def test_list_catalogs_master(heasarc):
    assert set(heasarc.list_catalogs(master=True)["name"]) == MASTERS


def test_list_catalogs_keywords(heasarc):
    assert list(heasarc.list_catalogs(keywords="nustar")["name"]) == ["numaster"]


def test_list_columns_default_and_full(heasarc):
    default = heasarc.list_columns("numaster")
    assert set(default["name"]) == set(DEFAULT_COLUMNS["numaster"])
    full = heasarc.list_columns("numaster", full=True)
    assert list(full["name"]) == [c.name for c in TABLES["numaster"].columns]
    assert dict(zip(full["name"], full["unit"]))["ra"] == "deg"


@pytest.mark.parametrize("table", ["numaster", "rosmaster", "intscwpub"])
def test_get_default_radius(heasarc, table):
    assert heasarc.get_default_radius(table) == DEFAULT_RADIUS_ARCMIN[table] * u.arcmin


def test_query_region_default_columns_and_radius(heasarc, numaster):
    """Default columns (from metainfo, in its order) plus __row, within the table's default radius."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoResultsWarning)
        table = heasarc.query_region(C3_105, catalog="numaster")
    assert table.colnames == [*DEFAULT_COLUMNS["numaster"], "__row"]
    assert set(table["__row"]) == _within(numaster, C3_105, DEFAULT_RADIUS_ARCMIN["numaster"] * u.arcmin)


def test_query_region_radius_columns_and_filters(heasarc, numaster):
    filters = {"status": "archived"}
    table = heasarc.query_region(
        C3_105, catalog="numaster", radius=0.5 * u.deg, columns="obsid, name, ra, dec", column_filters=filters
    )
    archived = set(np.asarray(numaster["__row"])[numaster["status"] == "archived"])
    expected = _within(numaster, C3_105, 0.5 * u.deg) & archived
    assert len(table) == len(expected) > 0
    assert table.colnames == ["obsid", "name", "ra", "dec"]  # __row asked for by astroquery, dropped again
    assert set(table["name"]) == {"3C 105"}


def test_query_region_add_offset(heasarc, numaster):
    """add_offset adds DISTANCE(...) AS search_offset; the columns come as astroquery's remote test expects.

    The sandbox's DISTANCE is ADQL's, in degrees (checked below); astroquery labels the column arcmin.
    Which unit Xamin's DISTANCE answers in is not documented where we could read it.
    """
    radius = 0.5 * u.deg
    table = heasarc.query_region(C3_105, catalog="numaster", columns="ra,dec,obsid", radius=radius, add_offset=True)
    assert table.colnames == ["ra", "dec", "obsid", "search_offset"] and len(table) > 0
    truth = SkyCoord(table["ra"], table["dec"], unit="deg").separation(C3_105).deg
    assert np.allclose(table["search_offset"].value, truth, atol=1e-6)


def test_query_region_box(heasarc, numaster):
    table = heasarc.query_region(C3_105, catalog="numaster", spatial="box", width=0.6 * u.deg, columns="*")
    inside = (np.abs(numaster["dec"] - C3_105.dec.deg) <= 0.3) & (
        np.abs(((numaster["ra"] - C3_105.ra.deg + 180) % 360) - 180) <= 0.3
    )
    assert set(table["__row"]) == set(np.asarray(numaster["__row"])[inside])


def test_query_region_polygon_and_all_sky(heasarc, numaster):
    ra, dec = C3_105.ra.deg, C3_105.dec.deg
    corners = [(ra - 0.3, dec - 0.3), (ra + 0.3, dec - 0.3), (ra + 0.3, dec + 0.3), (ra - 0.3, dec + 0.3)]
    table = heasarc.query_region(catalog="numaster", spatial="polygon", polygon=corners, columns="*")
    vertices = " ".join(f"{v}" for corner in corners for v in corner)
    inside = [bool(point_in_polygon(r, d, vertices)) for r, d in zip(numaster["ra"], numaster["dec"])]
    assert set(table["__row"]) == set(np.asarray(numaster["__row"])[inside]) and len(table) > 0
    assert len(heasarc.query_region(catalog="numaster", spatial="all-sky", columns="obsid")) == ROWS


def test_query_object_through_sesame(heasarc, sandbox, numaster):
    """query_object resolves the name with astropy's Sesame client (pointed at the sandbox's CDS shape)."""
    with name_resolve.sesame_url.set([sandbox.endpoints["cds"]["sesame"]]), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # query_object is deprecated in favour of query_region; no results warns
        table = heasarc.query_object("3C 105", mission="numaster")
    assert set(table["__row"]) == _within(numaster, C3_105, DEFAULT_RADIUS_ARCMIN["numaster"] * u.arcmin)


def test_query_tap_and_count_rows(heasarc, numaster):
    result = heasarc.query_tap("SELECT obsid, exposure_a FROM numaster WHERE exposure_a > 50000")
    assert len(result) == int((numaster["exposure_a"] > 50000).sum())
    assert heasarc.count_rows("numaster") == ROWS


def test_metainfo_as_astroquery_reads_it(heasarc):
    """The split_part/CAST query of HeasarcClass._meta, answered by the sandbox's ADQL engine."""
    meta = heasarc._meta
    radius = meta[(meta["table"] == "numaster") & (meta["par"] == "")]
    assert list(radius["value"]) == [DEFAULT_RADIUS_ARCMIN["numaster"]]
    assert heasarc._get_default_columns("chanmaster") == list(DEFAULT_COLUMNS["chanmaster"])


def _public_and_private(sandbox, data, count: int = 3) -> tuple[list[str], list[str]]:
    public = public_mask(data, sandbox.now_mjd)
    rows = np.asarray(data["__row"])
    return list(rows[public][:count]), list(rows[~public][:1])


def test_locate_data(heasarc, sandbox, numaster):
    """locate_data keeps the #this rows with content_type 'directory' and the error rows.

    It runs against HEASARC's DataLink shape before its 2026 change (conftest's LEGACY_DATALINK).
    """
    public, private = _public_and_private(sandbox, numaster)
    table = heasarc.query_tap(
        f"SELECT __row, obsid FROM numaster WHERE __row IN ({', '.join(repr(r) for r in public + private)})"
    ).to_table()
    links = heasarc.locate_data(table, catalog_name="numaster")
    assert links.colnames == ["ID", "access_url", "sciserver", "aws", "content_length", "error_message"]
    by_id = {str(row["ID"]): row for row in links}
    assert set(by_id) == set(public) | set(private)
    for key in public:
        row = by_id[key]
        assert "/FTP/nustar/" in row["access_url"] and row["error_message"] == ""
        assert row["sciserver"].startswith("/FTP/nustar/") and row["aws"] == f"s3://nasa-heasarc/{row['sciserver'][5:]}"
    assert "proprietary" in by_id[private[0]]["error_message"] or "no data" in by_id[private[0]]["error_message"]


@pytest.mark.xfail(
    strict=True,
    reason="the real service's behaviour since 2026 (astroquery#3652): HEASARC's DataLink labels observation "
    "directories text/html with products.jsp#<mission>.obs semantics, so locate_data keeps no data rows",
)
def test_locate_data_current_shape(tmp_path_factory, sandbox, numaster):
    from vodaxa.sandbox import Sandbox, SandboxConfig

    config = SandboxConfig(rows=ROWS, seed=SEED, cache=tmp_path_factory.mktemp("current"), archives=("heasarc",))
    with Sandbox(config) as current:
        client = HeasarcClass()
        client.VO_URL = f"{current.urls['heasarc']}/xamin/vo"
        public, _ = _public_and_private(current, numaster)
        table = client.query_tap(f"SELECT __row FROM numaster WHERE __row IN ({', '.join(map(repr, public))})")
        links = client.locate_data(table.to_table(), catalog_name="numaster")
        assert len(links) == len(public) and all("/FTP/" in url for url in links["access_url"])


def test_download_data_heasarc_tar_servlet(heasarc, sandbox, numaster, tmp_path: Path):
    """download_data(host='heasarc') POSTs the directories to /xamin/TarServlet and unpacks the tar."""
    public, _ = _public_and_private(sandbox, numaster, count=2)
    table = heasarc.query_tap(f"SELECT __row FROM numaster WHERE __row IN ({', '.join(map(repr, public))})")
    links = heasarc.locate_data(table.to_table(), catalog_name="numaster")
    heasarc.download_data(links, host="heasarc", location=str(tmp_path))
    obsids = sorted(url.rstrip("/").split("/")[-1] for url in links["access_url"])
    assert sorted(p.name for p in tmp_path.iterdir()) == obsids  # one folder per observation; the tar is gone
    for obsid in obsids:
        files = [p for p in (tmp_path / obsid).rglob("*") if p.is_file()]
        assert files and any(p.name.endswith(".evt.gz") for p in files)
