"""A plain pyvo client (not vodaxa) against the sandbox: every answer equals a brute-force computation."""

from __future__ import annotations

import warnings
from io import BytesIO

import numpy as np
import pytest
import pyvo
import requests
from astropy.io.votable import parse
from astropy.table import Table
from pyvo.dal.exceptions import DALOverflowWarning, DALQueryError

from vodaxa.sandbox.archives.heasarc import tree as heasarc_tree

from ..conftest import NOW_MJD, separation

C3_105 = (61.8232, 3.7099)


@pytest.fixture(scope="module")
def tap(sandbox) -> pyvo.dal.TAPService:
    return pyvo.dal.TAPService(sandbox.endpoints["heasarc"]["tap"])


def _ids(result, column: str = "obsid") -> set[str]:
    return {str(v) for v in result.to_table()[column]}


def _set(data, mask, column: str = "obsid") -> set[str]:
    return {str(v) for v in np.asarray(data[column])[mask]}


def test_sync_where_clause(tap, tables):
    nu = tables["numaster"]
    result = tap.run_sync(
        "SELECT obsid FROM numaster WHERE exposure_a < 10000 AND status IN ('archived', 'processed') "
        "AND observation_mode = 'SCIENCE' AND NOT spacecraft_mode = 'SLEW'"
    )
    mask = (
        (nu["exposure_a"] < 10000)
        & np.isin(nu["status"], ["archived", "processed"])
        & (nu["observation_mode"] == "SCIENCE")
        & (nu["spacecraft_mode"] != "SLEW")
    )
    assert mask.sum() > 10
    assert _ids(result) == _set(nu, mask)


def test_cone(tap, tables):
    nu = tables["numaster"]
    result = tap.run_sync(
        "SELECT obsid, DISTANCE(POINT('ICRS', ra, dec), POINT('ICRS', 61.8232, 3.7099)) AS dist "
        "FROM numaster "
        "WHERE CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 61.8232, 3.7099, 0.5)) = 1 ORDER BY dist"
    )
    sep = separation(nu["ra"], nu["dec"], *C3_105)
    assert _ids(result) == _set(nu, sep <= 0.5)
    assert len(result) > 3
    dist = np.asarray(result.to_table()["dist"])
    assert np.all(np.diff(dist) >= 0)
    expected = dict(zip(nu["obsid"], sep))
    for obsid, d in zip(result.to_table()["obsid"], dist):
        assert d == pytest.approx(expected[str(obsid)], abs=1e-9)


def test_box_wraps_right_ascension(tap, tables):
    nu = tables["numaster"]
    result = tap.run_sync(
        "SELECT obsid FROM numaster WHERE CONTAINS(POINT('ICRS', ra, dec), BOX('ICRS', 0.0, 10.0, 1.0, 2.0)) = 1"
    )
    ra = np.asarray(nu["ra"])
    in_ra = (ra >= 359.5) | (ra <= 0.5)
    mask = in_ra & (np.abs(nu["dec"] - 10.0) <= 1.0)
    assert mask.sum() >= 2 and (ra[mask] > 359).any() and (ra[mask] < 1).any()
    assert _ids(result) == _set(nu, mask)


def _unit(ra, dec):
    ra, dec = np.radians(ra), np.radians(dec)
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=-1)


def test_polygon_convex(tap, tables):
    nu = tables["numaster"]
    verts = [(82.5, 21.0), (84.8, 21.0), (84.8, 23.0), (82.5, 23.0)]  # counter-clockwise around the Crab
    flat = ", ".join(f"{a}, {b}" for a, b in verts)
    result = tap.run_sync(
        f"SELECT obsid FROM numaster WHERE CONTAINS(POINT('ICRS', ra, dec), POLYGON('ICRS', {flat})) = 1"
    )
    points = _unit(np.asarray(nu["ra"]), np.asarray(nu["dec"]))
    inside = np.ones(len(points), dtype=bool)
    for (a1, d1), (a2, d2) in zip(verts, verts[1:] + verts[:1]):
        normal = np.cross(_unit(a1, d1), _unit(a2, d2))
        inside &= points @ normal > 0
    assert inside.sum() > 3
    assert _ids(result) == _set(nu, inside)


@pytest.mark.parametrize("column", ['"time"', "time"])
def test_time_window_overlap(tap, tables, column):
    nu = tables["numaster"]
    lo, hi = 58000.0, 58500.0
    result = tap.run_sync(f"SELECT obsid FROM numaster WHERE {column} <= {hi} AND end_time >= {lo}")
    mask = (nu["time"] <= hi) & (nu["end_time"] >= lo)
    assert mask.sum() > 5
    assert _ids(result) == _set(nu, mask)


def test_ids_and_between(tap, tables):
    ch = tables["chanmaster"]
    chosen = [int(x) for x in ch["obsid"][:7]]
    result = tap.run_sync(
        f"SELECT obsid FROM chanmaster WHERE obsid IN ({', '.join(map(str, chosen))}) AND exposure BETWEEN 0 AND 1e9"
    )
    assert _ids(result) == {str(x) for x in chosen}


def test_async_equals_sync_and_job_is_deleted(sandbox, tap, tables):
    query = (
        "SELECT __row, obsid FROM swiftmastr WHERE CONTAINS(POINT('ICRS', ra, dec), "
        "CIRCLE('ICRS', 83.63308, 22.0145, 0.4)) = 1"
    )
    job = tap.submit_job(query)
    job.run()
    job.wait(timeout=30)
    assert job.phase == "COMPLETED"
    async_ids = _ids(job.fetch_result())
    url = job.url
    job.delete()
    assert requests.get(url, timeout=10).status_code == 404
    sw = tables["swiftmastr"]
    mask = separation(sw["ra"], sw["dec"], 83.63308, 22.0145) <= 0.4
    assert async_ids == _ids(tap.run_sync(query)) == _set(sw, mask)
    assert len(tap.run_async(query)) == mask.sum()


def test_upload_join(tap, tables):
    rng = np.random.default_rng(3)
    nu = tables["numaster"]
    pick = rng.choice(len(nu["ra"]), 60, replace=False)
    ra = np.concatenate([np.asarray(nu["ra"])[pick] + rng.normal(0, 0.05, 60), rng.uniform(0, 360, 40)]) % 360
    dec = np.clip(
        np.concatenate([np.asarray(nu["dec"])[pick] + rng.normal(0, 0.05, 60), rng.uniform(-80, 80, 40)]),
        -90,
        90,
    )
    upload = Table({"pid": np.arange(100), "ra": ra, "dec": dec})
    result = tap.run_sync(
        "SELECT u.pid, m.obsid FROM numaster AS m JOIN TAP_UPLOAD.targets AS u "
        "ON 1 = CONTAINS(POINT('ICRS', m.ra, m.dec), CIRCLE('ICRS', u.ra, u.dec, 0.3))",
        uploads={"targets": upload},
    )
    got = {(int(p), str(o)) for p, o in zip(result.to_table()["pid"], result.to_table()["obsid"])}
    sep = separation(np.asarray(nu["ra"])[None, :], np.asarray(nu["dec"])[None, :], ra[:, None], dec[:, None])
    expected = {(int(i), str(nu["obsid"][j])) for i, j in zip(*np.nonzero(sep <= 0.3))}
    assert len(expected) >= 60
    assert got == expected


def test_maxrec_overflow(tap):
    result = tap.run_sync("SELECT obsid FROM numaster", maxrec=17)
    assert len(result) == 17 and result.status[0] == "OVERFLOW"
    with warnings.catch_warnings():
        warnings.simplefilter("error", DALOverflowWarning)
        assert len(tap.run_sync("SELECT TOP 5 obsid FROM numaster", maxrec=17)) == 5


def _expected_public(data, index: int) -> bool:
    status = str(data["status"][index]).lower() if "status" in data else ""
    if status in {"scheduled", "accepted", "unobserved", "observed"}:
        return False
    if "data_in_heasarc" in data and data["data_in_heasarc"][index] == "N":
        return False
    if "public_date" in data:
        public = data["public_date"][index]
        return bool(public == public and public <= NOW_MJD)
    return True


def test_datalink_batched(sandbox, tap, tables):
    nu = tables["numaster"]
    result = tap.run_sync("SELECT TOP 40 __row, obsid FROM numaster ORDER BY __row")
    calls_before = sandbox.heasarc.links["numaster"].calls
    seen = {}
    for links in result.iter_datalinks():
        table = links.to_table()
        ident = str(table["ID"][0])
        seen[ident] = table
    assert sandbox.heasarc.links["numaster"].calls - calls_before == 1  # one POST for 40 IDs
    assert len(seen) == 40
    by_row = {str(r): i for i, r in enumerate(nu["__row"])}
    n_public = 0
    for ident, table in seen.items():
        index = by_row[ident]
        if _expected_public(nu, index):
            n_public += 1
            this = table[table["semantics"] == "#this"]
            assert list(this["content_type"]) == ["directory"]
            row = {k: (v[index].item() if hasattr(v[index], "item") else v[index]) for k, v in nu.items()}
            assert this["access_url"][0].endswith("/FTP/" + heasarc_tree.observation_path("numaster", row))
            assert int(this["content_length"][0]) > 0
        else:
            assert len(table) == 1 and str(table["error_message"][0]).startswith("NotFoundFault")
    assert 0 < n_public < 40


def test_datalink_cap_sets_overflow_and_per_row_getdatalink(sandbox, tap):
    url = sandbox.endpoints["heasarc"]["datalink"] + "/chanmaster"
    cap = sandbox.heasarc.links["chanmaster"].max_ids
    response = requests.post(url, data={"ID": [str(i) for i in range(1, cap + 6)], "sizefiles": "false"}, timeout=60)
    assert response.headers["Content-Type"].startswith("application/x-votable+xml;content=datalink")
    with pytest.warns(DALOverflowWarning):
        links = pyvo.dal.DALResults(parse(BytesIO(response.content)))
    assert links.status[0] == "OVERFLOW"
    assert len(set(links.to_table()["ID"])) == cap
    one = tap.run_sync("SELECT TOP 1 __row, obsid FROM chanmaster WHERE status = 'archived' AND public_date < 60000")[0]
    assert "#this" in list(one.getdatalink().to_table()["semantics"])


def test_unknown_id_gets_error_row(sandbox):
    url = sandbox.endpoints["heasarc"]["datalink"] + "/numaster"
    links = pyvo.dal.adhoc.DatalinkResults.from_result_url(url + "?ID=ivo://nasa.heasarc/numaster?999999")
    table = links.to_table()
    assert len(table) == 1
    assert "not a row of numaster" in str(table["error_message"][0])


def test_vosi(tap):
    tables = tap.tables
    names = [t.name for t in tables]
    assert {
        "numaster",
        "chanmaster",
        "xmmmaster",
        "swiftmastr",
        "suzamaster",
        "ascamaster",
        "intscwpub",
        "rosmaster",
        "rassmaster",
        "xrismmastr",
    } <= set(names)
    columns = {c.name: c for c in tables["numaster"].columns}
    assert columns["ra"].unit == "deg" and columns["time"].datatype.content == "double"
    assert tap.maxrec == 100_000 and tap.hardlimit == 10_000_000
    assert "ADQL" in [lang.name for lang in tap.capabilities[-1].languages]
    assert "<avl:available>true</avl:available>" in requests.get(tap.baseurl + "/availability", timeout=10).text


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("SELECT nope FROM numaster", 'column "nope" not found'),
        ("SELECT * FROM nosuchtable", "unknown table 'nosuchtable'"),
        ("SELECT obsid FROM numaster UNION SELECT obsid FROM xmmmaster", "only SELECT queries"),
        ("SELECT obsid FROM numaster n JOIN xmmmaster x USING (obsid)", "USING is not supported"),
        (
            "SELECT obsid FROM numaster WHERE obsid IN (SELECT obsid FROM numaster WHERE obsid ~ 'x')",
            "Could not parse",
        ),
        ("SELECT obsid FROM numaster WHERE", "Could not parse"),
        ("SELECT GAIA_HEALPIX_INDEX(4, obsid) FROM numaster", "unsupported ADQL function"),
        ("SELECT POINT('ICRS', ra, dec) FROM numaster", "can only be used inside"),
        (
            "SELECT obsid FROM numaster WHERE CONTAINS(POINT('', ra, dec), POLYGON('', ra, 1, 2, 3, 4, 5)) = 1",
            "numeric literals",
        ),
    ],
)
def test_errors_are_tap_error_documents(tap, query, fragment):
    with pytest.raises(DALQueryError) as info:
        tap.run_sync(query)
    assert fragment.lower() in str(info.value).lower()


def test_bad_upload_is_an_error(sandbox):
    url = sandbox.endpoints["heasarc"]["tap"] + "/sync"
    files = {"t": ("t.xml", b"<VOTABLE><RESOURCE><TABLE><broken", "application/x-votable+xml")}
    response = requests.post(
        url,
        data={"LANG": "ADQL", "QUERY": "SELECT * FROM TAP_UPLOAD.t", "UPLOAD": "t,param:t"},
        files=files,
        timeout=30,
    )
    assert response.status_code == 400
    assert "not a readable VOTable" in response.text
    response = requests.post(url, data={"LANG": "ADQL", "QUERY": "SELECT * FROM TAP_UPLOAD.t"}, timeout=30)
    assert response.status_code == 400 and "was not uploaded" in response.text


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"QUERY": "SELECT TOP 1 obsid FROM numaster"}, "LANG is missing"),
        ({"LANG": "PQL", "QUERY": "x"}, "not supported"),
        ({"LANG": "ADQL"}, "QUERY is missing"),
        ({"LANG": "ADQL", "QUERY": "SELECT TOP 1 obsid FROM numaster", "MAXREC": "lots"}, "not an integer"),
        (
            {"LANG": "ADQL", "QUERY": "SELECT TOP 1 obsid FROM numaster", "RESPONSEFORMAT": "fits"},
            "RESPONSEFORMAT",
        ),
    ],
)
def test_bad_parameters(sandbox, params, fragment):
    response = requests.post(sandbox.endpoints["heasarc"]["tap"] + "/sync", data=params, timeout=30)
    assert response.status_code == 400
    assert 'value="ERROR"' in response.text and fragment in response.text
