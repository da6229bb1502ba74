"""Plain-pyvo checks of the local DaCHS server: each answer equals brute force over make_data.rows().

These pin down what the server really does (TAP sync/async/upload, SCS, DataLink, ObsCore) independently of
vodaxa, so a failing vodaxa integration test can be told apart from a broken harness.
"""

from __future__ import annotations

import io
import math
import random
import time
import urllib.parse
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import pyvo
import requests
from astropy.io import fits
from astropy.table import Table
from pyvo.dal import DALQueryError
from pyvo.dal.adhoc import DatalinkResults, DatalinkService
from pyvo.dal.exceptions import DALOverflowWarning

pytestmark = pytest.mark.integration

Row = dict[str, Any]
HttpGet = Callable[[str], tuple[int, bytes]]
TABLE = "vodaxa.numaster"
COLLECTION = "VODAXA-NUSTAR"
DATALINK_IVOID = "ivo://ivoa.net/std/DataLink#links-1.0"
SELECT_ALL = (
    'SELECT obsid, pubdid, name, ra, dec, "time", end_time, exposure_a, exposure_b, ontime_a, ontime_b, '
    "observation_mode, spacecraft_mode, status, public_date, subject_category, obs_type, issue_flag "
    f"FROM {TABLE}"
)
# Brute-force cone membership must not hinge on float noise: no row may lie this close to a cone's edge.
BOUNDARY_MARGIN_DEG = 1e-6


def now_mjd() -> float:
    """Current MJD (UTC), as the DataLink service computes it for the proprietary check."""
    return time.time() / 86400.0 + 40587.0


def cell(value: Any) -> Any:
    """A result cell as a plain Python value: None for masked/NULL, str/int/float otherwise."""
    if value is np.ma.masked or (isinstance(value, np.ma.MaskedArray) and value.mask.all()):
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    return value


def column(result: Any, name: str) -> list[Any]:
    """One column of a pyvo result (or astropy Table) as a list of plain Python values."""
    return [cell(v) for v in result[name]]


def sorted_obsids(result: Any) -> list[str]:
    """Sorted obsids of a pyvo result, as strings."""
    return sorted(str(v) for v in column(result, "obsid"))


def expect(rows: Iterable[Row], predicate: Callable[[Row], bool]) -> list[str]:
    """Sorted obsids of the rows satisfying ``predicate`` (the brute-force side of a comparison)."""
    return sorted(r["obsid"] for r in rows if predicate(r))


def in_cone(data: ModuleType, rows: list[Row], ra: float, dec: float, radius: float) -> list[str]:
    """Brute-force cone membership by great-circle distance, refusing rows too close to the edge."""
    seps = {r["obsid"]: data.separation(ra, dec, r["ra"], r["dec"]) for r in rows}
    close = [o for o, s in seps.items() if abs(s - radius) < BOUNDARY_MARGIN_DEG]
    assert not close, f"test data too close to the edge of cone ({ra}, {dec}, {radius}): {close}"
    return sorted(o for o, s in seps.items() if s <= radius)


def adql_list(values: Iterable[str]) -> str:
    """ADQL literal list for IN (...), quoting each string."""
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


@pytest.fixture(scope="module")
def tap(dachs_url: str) -> pyvo.dal.TAPService:
    """pyvo TAP service of the DaCHS server."""
    return pyvo.dal.TAPService(dachs_url + "/tap")


@pytest.fixture(scope="module")
def scs_url(dachs_url: str) -> str:
    """SCS 1.03 endpoint of vodaxa.numaster."""
    return dachs_url + "/vodaxa/q/cone/scs.xml"


@pytest.fixture(scope="module")
def dlmeta_url(dachs_url: str) -> str:
    """DataLink links endpoint (IDs repeatable, GET or POST)."""
    return dachs_url + "/vodaxa/q/dl/dlmeta"


def test_tap_schema_lists_all_columns(tap: pyvo.dal.TAPService, dachs_data: ModuleType) -> None:
    """VOSI tables shows vodaxa.numaster with every column; TIME is reserved, so it is listed quoted."""
    names = [c.name for c in tap.tables[TABLE].columns]
    assert '"time"' in names
    assert sorted(n.strip('"') for n in names) == sorted(dachs_data.COLUMNS)


def test_full_table_equals_generated_rows(
    tap: pyvo.dal.TAPService, numaster_rows: list[Row], dachs_data: ModuleType
) -> None:
    """Every value round-trips exactly (doubles bit for bit, NULLs, obsid leading zeros as text)."""
    result = tap.run_sync(SELECT_ALL + " ORDER BY obsid")
    assert len(result) == len(numaster_rows) == 300
    got = {c: column(result, c) for c in dachs_data.COLUMNS}
    served = [{c: got[c][i] for c in dachs_data.COLUMNS} for i in range(len(result))]
    assert served == sorted(numaster_rows, key=lambda r: r["obsid"])
    assert any(o.startswith("00") for o in got["obsid"])


@pytest.mark.parametrize(
    ("where", "predicate"),
    [
        (
            "status = 'archived' AND observation_mode = 'SCIENCE' AND exposure_a > 20000 AND dec > 0",
            lambda r: (
                r["status"] == "archived"
                and r["observation_mode"] == "SCIENCE"
                and r["exposure_a"] > 20000
                and r["dec"] > 0
            ),
        ),
        (
            "public_date IS NULL AND exposure_a = 0",
            lambda r: r["public_date"] is None and r["exposure_a"] == 0,
        ),
        (
            "ontime_a = 0 AND ontime_b = 0 AND observation_mode != 'SCIENCE'",
            lambda r: r["ontime_a"] == 0 and r["ontime_b"] == 0 and r["observation_mode"] != "SCIENCE",
        ),
        (
            "obs_type IN ('GT', 'DDT') AND issue_flag = 1 AND spacecraft_mode = 'INERTIAL'",
            lambda r: r["obs_type"] in ("GT", "DDT") and r["issue_flag"] == 1 and r["spacecraft_mode"] == "INERTIAL",
        ),
        (
            "name LIKE '3C 105%' AND exposure_a < 10000 AND exposure_a > 0",
            lambda r: r["name"].startswith("3C 105") and 0 < r["exposure_a"] < 10000,
        ),
        (
            "public_date > 65000 AND subject_category != 'CALIBRATION'",
            lambda r: (
                r["public_date"] is not None and r["public_date"] > 65000 and r["subject_category"] != "CALIBRATION"
            ),
        ),
    ],
    ids=[
        "science-long-north",
        "null-public-date",
        "zero-ontime-nonscience",
        "type-flag",
        "3c105-short",
        "proprietary",
    ],
)
def test_sync_where(
    tap: pyvo.dal.TAPService, numaster_rows: list[Row], where: str, predicate: Callable[[Row], bool]
) -> None:
    """Sync ADQL with WHERE on several columns (text, numeric, NULL, LIKE, IN) equals brute force."""
    expected = expect(numaster_rows, predicate)
    assert expected, "a comparison against an empty expectation proves little"
    assert sorted_obsids(tap.run_sync(f"SELECT obsid FROM {TABLE} WHERE {where}")) == expected


def test_time_window_overlap(tap: pyvo.dal.TAPService, numaster_rows: list[Row]) -> None:
    """Observations whose [time, end_time] overlaps a window, with the reserved column written "time"."""
    start, end = 58000.25, 58400.75
    result = tap.run_sync(f'SELECT obsid FROM {TABLE} WHERE "time" <= {end} AND end_time >= {start}')
    expected = expect(numaster_rows, lambda r: r["time"] <= end and r["end_time"] >= start)
    assert len(expected) > 5
    assert sorted_obsids(result) == expected


@pytest.mark.parametrize(
    "query",
    [f"SELECT TOP 1 time FROM {TABLE}", f"SELECT obsid FROM {TABLE} WHERE status <> 'archived'"],
    ids=["unquoted-time", "sql-not-equal"],
)
def test_dachs_adql_dialect_rejects(tap: pyvo.dal.TAPService, query: str) -> None:
    """DaCHS 2.7 refuses unquoted TIME (reserved: write "time") and the <> operator (write !=)."""
    with pytest.raises(DALQueryError, match="Could not parse"):
        tap.run_sync(query)


@pytest.mark.parametrize(
    ("ra", "dec", "radius", "count"),
    [(61.8232, 3.7099, 0.5, 12), (0.0, 90.0, 0.5, 3), (123.0, -90.0, 0.5, 2), (0.0, 0.0, 1.0, 5)],
    ids=["3c105", "north-pole", "south-pole", "ra-wrap"],
)
def test_adql_cone(
    tap: pyvo.dal.TAPService,
    numaster_rows: list[Row],
    dachs_data: ModuleType,
    ra: float,
    dec: float,
    radius: float,
    count: int,
) -> None:
    """CONTAINS(POINT, CIRCLE) and DISTANCE equal great-circle brute force, at the poles and across RA 0."""
    result = tap.run_sync(
        f"SELECT obsid, DISTANCE(POINT('ICRS', ra, dec), POINT('ICRS', {ra}, {dec})) AS dist FROM {TABLE} "
        f"WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', {ra}, {dec}, {radius}))"
    )
    expected = in_cone(dachs_data, numaster_rows, ra, dec, radius)
    assert len(expected) == count
    assert sorted_obsids(result) == expected
    by_obsid = {r["obsid"]: r for r in numaster_rows}
    for obsid, dist in zip(column(result, "obsid"), column(result, "dist"), strict=True):
        row = by_obsid[obsid]
        assert dist == pytest.approx(dachs_data.separation(ra, dec, row["ra"], row["dec"]), abs=1e-8)


@pytest.mark.parametrize(
    "where",
    [
        "(ra >= 359.5 OR ra <= 0.5) AND dec BETWEEN -2 AND 2",
        "1 = CONTAINS(POINT('ICRS', ra, dec), BOX('ICRS', 0, 0, 1, 4))",
    ],
    ids=["two-ranges", "adql-box"],
)
def test_box_wrapping_ra_zero(
    tap: pyvo.dal.TAPService, numaster_rows: list[Row], dachs_data: ModuleType, where: str
) -> None:
    """A box across RA 0/360 (as two ORed RA ranges, or as an ADQL BOX) equals brute force."""
    box = dachs_data.WRAP_BOX
    expected = expect(
        numaster_rows,
        lambda r: (
            (r["ra"] >= box["ra_min"] or r["ra"] <= box["ra_max"]) and box["dec_min"] <= r["dec"] <= box["dec_max"]
        ),
    )
    assert len(expected) == 7
    assert sorted_obsids(tap.run_sync(f"SELECT obsid FROM {TABLE} WHERE {where}")) == expected


def test_obsid_in_list(tap: pyvo.dal.TAPService, numaster_rows: list[Row]) -> None:
    """obsid IN (...) matches text exactly: leading zeros kept, unknown ids ignored."""
    zero_led = [r["obsid"] for r in numaster_rows if r["obsid"].startswith("0")][:4]
    others = [r["obsid"] for r in numaster_rows[::37]]
    wanted = zero_led + others + ["99999999999", zero_led[0].lstrip("0")]
    result = tap.run_sync(f"SELECT obsid, name FROM {TABLE} WHERE obsid IN ({adql_list(wanted)})")
    assert sorted_obsids(result) == sorted(set(zero_led + others))


def test_upload_crossmatch(tap: pyvo.dal.TAPService, numaster_rows: list[Row], dachs_data: ModuleType) -> None:
    """TAP_UPLOAD of 50 positions joined with CONTAINS/CIRCLE on the server equals brute-force pairs."""
    radius = 0.3
    rnd = random.Random(4242)
    positions = [(61.8232, 3.7099), (0.0, 0.0), (77.0, 89.9), (300.0, -89.75)]
    for row in rnd.sample(numaster_rows, 26):
        sep, pa = rnd.uniform(0.0, 0.25), rnd.uniform(0.0, 360.0)
        positions.append(dachs_data.offset(row["ra"], row["dec"], sep, pa))
    while len(positions) < 50:
        positions.append((rnd.uniform(0.0, 360.0), math.degrees(math.asin(rnd.uniform(-1.0, 1.0)))))
    upload = Table(
        {
            "pos_id": np.arange(len(positions), dtype=np.int32),
            "ra": np.array([p[0] for p in positions]),
            "dec": np.array([p[1] for p in positions]),
        }
    )
    result = tap.run_sync(
        f"SELECT u.pos_id, m.obsid FROM TAP_UPLOAD.targets AS u JOIN {TABLE} AS m "
        f"ON 1 = CONTAINS(POINT('ICRS', m.ra, m.dec), CIRCLE('ICRS', u.ra, u.dec, {radius}))",
        uploads={"targets": upload},
    )
    expected = sorted(
        (i, obsid)
        for i, (ra, dec) in enumerate(positions)
        for obsid in in_cone(dachs_data, numaster_rows, ra, dec, radius)
    )
    assert len(expected) >= 30
    assert sorted(zip(column(result, "pos_id"), column(result, "obsid"), strict=True)) == expected


def test_run_async(tap: pyvo.dal.TAPService, numaster_rows: list[Row]) -> None:
    """An async job (pyvo run_async: submit, run, wait, fetch, delete) returns the brute-force aggregate."""
    result = tap.run_async(f"SELECT status, COUNT(*) AS n FROM {TABLE} GROUP BY status")
    counts = dict(zip(column(result, "status"), column(result, "n"), strict=True))
    assert counts == Counter(r["status"] for r in numaster_rows)


def test_async_job_lifecycle_and_delete(
    tap: pyvo.dal.TAPService, numaster_rows: list[Row], http_get_url: HttpGet
) -> None:
    """UWS phases PENDING -> COMPLETED, results equal brute force, and DELETE makes the job URL 404."""
    job = tap.submit_job(f"SELECT obsid FROM {TABLE} WHERE status = 'scheduled'")
    job_url = job.url
    try:
        assert job.phase == "PENDING"
        job.run()
        job.wait(phases=["COMPLETED", "ERROR", "ABORTED"], timeout=60.0)
        assert job.phase == "COMPLETED"
        expected = expect(numaster_rows, lambda r: r["status"] == "scheduled")
        assert sorted_obsids(job.fetch_result()) == expected
    finally:
        job.delete()
    assert http_get_url(job_url)[0] == 404


def test_maxrec_overflow(tap: pyvo.dal.TAPService) -> None:
    """A client MAXREC below the row count gives exactly MAXREC rows and QUERY_STATUS=OVERFLOW."""
    with warnings.catch_warnings():
        # pyvo >= 1.8 stays silent when the truncation is the one the client asked for; older ones warn.
        warnings.simplefilter("ignore", DALOverflowWarning)
        result = tap.run_sync(f"SELECT obsid FROM {TABLE}", maxrec=7)
    assert len(result) == 7
    assert result.query_status == "OVERFLOW"


def test_server_limit_overflow_warns(tap: pyvo.dal.TAPService, numaster_rows: list[Row]) -> None:
    """Without a client MAXREC the server default applies; pyvo warns (DALOverflowWarning) on truncation."""
    default_limit = tap.maxrec
    assert default_limit is not None and default_limit < len(numaster_rows) ** 2
    with pytest.warns(DALOverflowWarning):
        result = tap.run_sync(f"SELECT a.obsid, b.obsid AS other FROM {TABLE} AS a, {TABLE} AS b")
    assert len(result) == default_limit
    assert result.query_status == "OVERFLOW"


@pytest.mark.parametrize(
    ("ra", "dec", "radius"),
    [(61.8232, 3.7099, 0.5), (0.0, 90.0, 0.5), (0.0, 0.0, 1.0)],
    ids=["3c105", "north-pole", "ra-wrap"],
)
def test_scs_search(
    scs_url: str, numaster_rows: list[Row], dachs_data: ModuleType, ra: float, dec: float, radius: float
) -> None:
    """SCS 1.03 cone search equals brute force and carries the DataLink service descriptor."""
    result = pyvo.dal.SCSService(scs_url).search(pos=(ra, dec), radius=radius)
    assert sorted_obsids(result) == in_cone(dachs_data, numaster_rows, ra, dec, radius)
    assert result.get_adhocservice_by_ivoid(DATALINK_IVOID) is not None


def raw_access_url(rec: Any) -> str | None:
    """A DataLink row's access_url column; pyvo's .access_url raises on fault rows (no service_def)."""
    url = rec.get("access_url", decode=True)
    return str(url) if url else None


def _links(dl: DatalinkResults) -> dict[str, list[tuple[str | None, str | None]]]:
    """DataLink rows grouped by semantics as (access_url, error_message) pairs, empty strings as None."""
    out: dict[str, list[tuple[str | None, str | None]]] = {}
    for rec in dl:
        out.setdefault(str(rec.semantics), []).append((raw_access_url(rec), rec.error_message or None))
    return out


class CountingSession(requests.Session):
    """A requests session that records (method, path) of every request, to see how pyvo batches."""

    def __init__(self) -> None:
        """Start with an empty request log."""
        super().__init__()
        self.calls: list[tuple[str, str]] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        """Record the call, then perform it."""
        self.calls.append((str(method).upper(), urllib.parse.urlsplit(str(url)).path))
        return super().request(method, url, *args, **kwargs)


def test_datalink_iter_batched(
    dachs_url: str, numaster_rows: list[Row], offline_vocabularies: None, http_get_url: HttpGet
) -> None:
    """iter_datalinks over 20 TAP rows, batched: public rows link a valid FITS #this, others a fault."""
    session = CountingSession()
    tap = pyvo.dal.TAPService(dachs_url + "/tap", session=session)
    now = now_mjd()
    public = [r for r in numaster_rows if r["public_date"] is not None and r["public_date"] <= now]
    future = [r for r in numaster_rows if r["public_date"] is not None and r["public_date"] > now]
    null = [r for r in numaster_rows if r["public_date"] is None]
    chosen = public[:8] + [r for r in public if r["obsid"].startswith("0")][:4] + future[:4] + null[:4]
    by_obsid = {r["obsid"]: r for r in chosen}
    assert len(by_obsid) == 20
    result = tap.run_sync(f"SELECT obsid, pubdid FROM {TABLE} WHERE obsid IN ({adql_list(by_obsid)})")
    seen = []
    for dl in result.iter_datalinks():
        obsid = str(cell(dl.original_row["obsid"]))
        seen.append(obsid)
        links = _links(dl)
        assert links["#documentation"][0][0] is not None
        if obsid in {r["obsid"] for r in public}:
            this = list(dl.bysemantics("#this"))
            assert len(this) == 1 and this[0].content_type == "application/fits"
            status, body = http_get_url(this[0].access_url)
            assert status == 200
            with fits.open(io.BytesIO(body)) as hdul:
                assert hdul[0].header["OBS_ID"] == obsid
                assert hdul[0].header["RA_OBJ"] == by_obsid[obsid]["ra"]
                assert hdul[0].data.shape == (2, 2)
        else:
            assert [url for url, _ in links["#this"]] == [None]
            message = links["#this"][0][1]
            assert message is not None and message.startswith("NotFoundFault")
    assert sorted(seen) == sorted(by_obsid)
    dl_calls = [c for c in session.calls if c[1].endswith("/dlmeta")]
    assert 1 <= len(dl_calls) < len(by_obsid), f"DataLink requests not batched: {dl_calls}"


def test_datalink_several_ids_get_and_post(dlmeta_url: str, numaster_rows: list[Row], dachs_data: ModuleType) -> None:
    """Several IDs per request give the same links by GET and POST; an unknown ID gives a NotFoundFault."""
    now = now_mjd()
    sample = numaster_rows[:3] + [r for r in numaster_rows if not dachs_data.is_public(r, now)][:3]
    ids = [r["pubdid"] for r in sample] + [dachs_data.DID_PREFIX + "99999999999"]
    query = urllib.parse.urlencode([("ID", i) for i in ids])
    via_get = DatalinkResults.from_result_url(f"{dlmeta_url}?{query}")
    via_post = DatalinkService(dlmeta_url).run_sync(ids)

    def summary(dl: DatalinkResults) -> list[tuple[str, str, bool, bool]]:
        """(ID, semantics, has access_url, has error) for each row, sorted."""
        return sorted((str(r.id), str(r.semantics), bool(raw_access_url(r)), bool(r.error_message)) for r in dl)

    assert summary(via_get) == summary(via_post)
    expected = []
    for row in sample:
        public = dachs_data.is_public(row, now)
        expected.append((row["pubdid"], "#documentation", True, False))
        expected.append((row["pubdid"], "#this", public, not public))
    expected.append((ids[-1], "#this", False, True))
    assert summary(via_get) == sorted(expected)


def test_obscore_rows(tap: pyvo.dal.TAPService, numaster_rows: list[Row], dachs_url: str) -> None:
    """ivoa.obscore holds one row per observation whose access_url is the DataLink document for its DID."""
    result = tap.run_sync(
        "SELECT obs_id, obs_publisher_did, s_ra, s_dec, t_min, t_max, t_exptime, access_url, access_format "
        f"FROM ivoa.obscore WHERE obs_collection = '{COLLECTION}'"
    )
    served = {c: column(result, c) for c in result.fieldnames}
    keys = ["obs_id", "obs_publisher_did", "s_ra", "s_dec", "t_min", "t_max", "t_exptime"]
    got = sorted(zip(*(served[k] for k in keys), strict=True))
    columns = ["obsid", "pubdid", "ra", "dec", "time", "end_time", "exposure_a"]
    assert got == sorted(tuple(r[c] for c in columns) for r in numaster_rows)
    assert set(served["access_format"]) == {"application/x-votable+xml;content=datalink"}
    assert all(url.startswith(dachs_url + "/vodaxa/q/dl/dlmeta?ID=") for url in served["access_url"])
