"""The sandbox's cone searches (HEASARC coneGet.pl, CDA cxcscs) through pyvo: rows, columns, errors, DataLink."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import requests
from pyvo.dal import SCSService
from pyvo.dal.exceptions import DALQueryError

from vodaxa.sandbox import Sandbox, SandboxConfig
from vodaxa.sandbox.archives.cxc.shape import table as cxc_table
from vodaxa.sandbox.archives.heasarc.tables import TABLES

from ..conftest import separation

ROWS, SEED, NOW = 300, 9, 61000.0
NUMASTER_VERB2 = [
    "__row", "name", "ra", "dec", "time", "obsid", "status", "exposure_a", "observation_mode", "obs_type",
    "public_date", "issue_flag", "Search_Offset",
]  # fmt: skip


@pytest.fixture(scope="module")
def sb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    config = SandboxConfig(
        rows=ROWS, seed=SEED, now_mjd=NOW, archives=("heasarc", "cxc"), cache=tmp_path_factory.mktemp("scs")
    )
    with Sandbox(config) as sandbox:
        yield sandbox


def _cone(sb: Sandbox, table: str = "numaster") -> SCSService:
    return SCSService(f"{sb.endpoints['heasarc']['scs']}?table={table}&")


def test_rows_are_exactly_those_in_the_cone_nearest_first(sb):
    data = sb.heasarc.data["numaster"]
    sr = 3.0
    crowded = max(
        range(50), key=lambda i: int((separation(data["ra"], data["dec"], data["ra"][i], data["dec"][i]) <= sr).sum())
    )
    ra, dec = float(data["ra"][crowded]), float(data["dec"][crowded])
    result = _cone(sb).search((ra, dec), radius=sr)
    expected = np.asarray(data["obsid"])[separation(data["ra"], data["dec"], ra, dec) <= sr]
    assert sorted(str(v) for v in result["obsid"]) == sorted(str(v) for v in expected) and len(expected) > 1
    offsets = np.asarray(result["Search_Offset"], dtype=float)
    assert np.all(np.diff(offsets) >= 0)
    assert np.allclose(offsets, separation(result["ra"], result["dec"], ra, dec) * 60, atol=1e-6)
    assert list(result.fieldnames) == NUMASTER_VERB2
    row = result[0]
    assert str(row.id) == str(row["obsid"]) and abs(row.pos.ra.deg - row["ra"]) < 1e-9  # UCD1 columns


def test_verbosity_chooses_the_columns(sb):
    data = sb.heasarc.data["chanmaster"]
    where = (float(data["ra"][0]), float(data["dec"][0]))
    terse = _cone(sb, "chanmaster").search(where, radius=1, verbosity=1)
    assert list(terse.fieldnames) == ["__row", "obsid", "ra", "dec", "Search_Offset"]
    full = _cone(sb, "chanmaster").search(where, radius=1, verbosity=3)
    every = [c.name for c in TABLES["chanmaster"].columns]
    assert list(full.fieldnames) == [*every, "Search_Offset"] and "class" in every


def test_datalink_from_a_cone_search_row(sb):
    data = sb.heasarc.data["numaster"]
    public = sb.heasarc.public_mask("numaster")
    i = int(np.nonzero(public)[0][0])
    result = _cone(sb).search((float(data["ra"][i]), float(data["dec"][i])), radius=0.01)
    row = next(r for r in result if str(r["obsid"]) == str(data["obsid"][i]))
    links = row.getdatalink().to_table()  # HEASARC's current answer: the directory is labelled text/html
    directory = [u for u in links["access_url"] if "/FTP/" in u]
    assert len(directory) == 1 and "/FTP/nustar/data/obs/" in directory[0]
    assert "https://heasarc.gsfc.nasa.gov/xamin/jsp/products.jsp#nustar.obs" in set(links["semantics"])
    closed = int(np.nonzero(~public)[0][0])
    result = _cone(sb).search((float(data["ra"][closed]), float(data["dec"][closed])), radius=0.01)
    row = next(r for r in result if str(r["obsid"]) == str(data["obsid"][closed]))
    assert len(row.getdatalink().to_table()) == 0  # not public: no rows, as HEASARC's tutorial says


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"RA": "10", "SR": "1"}, "DEC is required"),
        ({"RA": "abc", "DEC": "1", "SR": "1"}, "RA=abc is not a number"),
        ({"RA": "10", "DEC": "91", "SR": "1"}, "outside"),
        ({"RA": "10", "DEC": "1", "SR": "1", "VERB": "4"}, "VERB=4"),
    ],
)
def test_bad_parameters_answer_an_scs_error_document(sb, params, message):
    answer = requests.get(f"{sb.endpoints['heasarc']['scs']}?table=numaster", params=params, timeout=30)
    assert answer.status_code == 200 and '<INFO name="Error"' in answer.text and message in answer.text


def test_unknown_table_and_overflow(sb):
    with pytest.raises(DALQueryError, match="Unknown table: No information available on nosuch"):
        _cone(sb, "nosuch").search((10, 10), radius=1)
    assert len(_cone(sb).search((10, 10), radius=180, MAXREC=5)) == 5
    params = {"RA": "10", "DEC": "10", "SR": "180", "MAXREC": "5"}
    answer = requests.get(f"{sb.endpoints['heasarc']['scs']}?table=numaster", params=params, timeout=30)
    assert '<INFO name="QUERY_STATUS" value="OVERFLOW"/>' in answer.text  # after the table, as in TAP
    assert len(_cone(sb).search((10, 10), radius=0)) == 0  # SR=0: the columns only


def test_cda_cone_search_over_observations(sb):
    data = cxc_table(ROWS, seed=SEED, now_mjd=NOW)
    ra, dec = float(data["ra"][3]), float(data["dec"][3])
    result = SCSService(sb.endpoints["cxc"]["scs"]).search((ra, dec), radius=4.0)
    expected = np.asarray(data["obsid"])[separation(data["ra"], data["dec"], ra, dec) <= 4.0]
    assert sorted(int(v) for v in result["obsid"]) == sorted(int(v) for v in expected) and len(expected) > 0
    assert "target_name" in result.fieldnames and "__row" not in result.fieldnames
