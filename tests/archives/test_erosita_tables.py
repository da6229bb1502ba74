"""eROSITA's tables: fetched from the sandbox MPE pages, normalised, cached, refused when wrong."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import requests

from vodaxa.archives.erosita import tables as erosita
from vodaxa.config import endpoints
from vodaxa.errors import ServiceError
from vodaxa.sandbox import Faults, Sandbox, SandboxConfig
from vodaxa.sandbox.archives.erosita import shape

FETCHERS = {"calpv_table": erosita.calpv_observations, "dr1_tiles": erosita.dr1_tiles}
PATHS = {"calpv_table": shape.CALPV_PAGE, "dr1_tiles": shape.TILES_FILE}


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """One eROSITA-only sandbox for the module."""
    with Sandbox(SandboxConfig(archives=("erosita",), cache=tmp_path_factory.mktemp("sb"))) as sb:
        yield sb


@pytest.fixture
def sb(running: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """The sandbox with vodaxa pointed at it, a fresh cache, no faults and zeroed request counters."""
    monkeypatch.setenv("VODAXA_CACHE_DIR", str(tmp_path))
    running.archives["erosita"].hits.clear()
    with endpoints.override(running.endpoints):
        yield running
    running.set_faults(Faults())


def hits(sb: Sandbox, service: str) -> int:
    """How many requests the shape answered for a service's table."""
    return sb.archives["erosita"].hits[PATHS[service]]


def cached_files(tmp_path: Path) -> list[Path]:
    """The eROSITA cache's files."""
    folder = tmp_path / "erosita"
    return sorted(folder.iterdir()) if folder.exists() else []


# ------------------------------------------------------------------------------------------- content
def test_calpv_is_normalised_and_matches_the_programme(sb: Sandbox):
    frame = erosita.calpv_observations()
    assert tuple(frame.columns) == erosita.CALPV_COLUMNS
    assert 150 <= len(frame) <= 190 and 28 <= frame["field_name"].nunique() <= 36
    assert frame["ObsID"].str.fullmatch(r"\d{6}").all() and frame["ObsID"].is_unique
    assert set(frame["field_type"]) == {
        "SURVEY",
        "GALACTIC_FIELDS",
        "EXTRAGALACTIC_FIELDS",
        "MAGELLANIC_CLOUDS",
    }
    assert set(frame["obs_mode"]) == {"pointing", "scan"} and frame["science_usable"].all()
    assert frame["start"].isna().all() and frame["duration"].isna().all()  # not on the EDR page
    base = sb.endpoints["erosita"]["calpv_table"]
    assert all(re.fullmatch(re.escape(base) + r"CalPvObs/[\w+-]+\.tar\.gz", u) for u in frame["download"])
    truth = {o.obsid: o for o in sb.archives["erosita"].observations}
    assert set(frame["ObsID"]) == set(truth)
    for row in frame.itertuples():
        if row.field_name != "PUPPIS_A":
            assert (row.ra, row.dec) == (truth[row.ObsID].ra, truth[row.ObsID].dec)


def test_calpv_corrects_the_misprinted_puppis_a_obsid(sb: Sandbox):
    page = requests.get(sb.endpoints["erosita"]["calpv_table"], timeout=10).text
    assert "700195" in page
    frame = erosita.calpv_observations()
    assert "700195" not in set(frame["ObsID"])
    assert sorted(frame.loc[frame["field_name"] == "PUPPIS_A", "ObsID"]) == ["700199", "700200"]


def test_dr1_keeps_de_tiles_with_their_neighbours(sb: Sandbox):
    frame = erosita.dr1_tiles()
    assert tuple(frame.columns) == erosita.DR1_COLUMNS
    assert 2300 <= len(frame) <= 2600 and frame["ObsID"].is_unique
    assert set(frame["owner"]) == {0, 2}
    de = frame[frame["owner"] == 2]
    assert ((de["glon"] > 179.94) & (de["glon"] < 359.95)).all()
    plain = frame[frame["ra_max"] - frame["ra_min"] < 360]  # not the polar cap
    assert ((plain["ra_min"] < plain["ra"]) & (plain["ra"] < plain["ra_max"])).all()
    assert (np.abs(plain["ObsID"].str[:3].astype(int) - plain["ra"]) <= 0.5).all()  # RRR = R.A.
    assert (plain["ObsID"].str[3:].astype(int) == np.round(90 - plain["dec"])).all()  # DDD = 90 - Dec.
    counts = frame["neigh_obs"].str.count(",") + 1
    assert counts.between(6, 9).all() and frame["neigh_obs"].str.fullmatch(r"\d{6}(,\d{6})*").all()
    assert frame["start"].isna().all()  # no times in the sky-tile file


def test_parser_drops_tiles_not_in_the_de_release():
    every = shape.tiles_fits(shape.sky_tiles(owners=(0, 1, 2)))
    frame = erosita.parse_dr1_tiles(every, "file:SKYMAPS.fits")
    assert set(frame["owner"]) == {0, 2}
    assert len(frame) == len(shape.sky_tiles()["SRVMAP"])
    russian = shape.tiles_fits(shape.sky_tiles(owners=(1,)))
    with pytest.raises(ServiceError, match="no eROSITA-DE tiles"):
        erosita.parse_dr1_tiles(russian, "file:RU.fits")


def test_calpv_parser_reads_other_layouts():
    page = b"""<html><body><table><tr><td><h3>Extragalactic fields</h3><table>
      <tr><th>Target</th><th>Obs_ID</th><th>RA</th><th>DEC</th><th>Obs_type</th><th>Download</th></tr>
      <tr><td>A 3158</td><td>700100<br>700101</td><td>03:42:53.0</td><td>-53:37:48</td><td>p</td>
          <td><a href="https://example.org/edr/A3158.tar.gz">tarball</a></td></tr>
      <tr><td colspan="6"><b>Galactic fields</b></td></tr>
      <tr><td></td><td>700102</td><td>83.63</td><td>22.01</td><td>s</td><td><a href="Crab.tgz">x</a></td></tr>
    </table></td></tr></table></body></html>"""
    frame = erosita.parse_calpv_page(page, "https://example.org/edr/")
    assert list(frame["ObsID"]) == ["700100", "700101", "700102"]
    assert list(frame["field_name"]) == ["A_3158", "A_3158", "CRAB"]
    assert list(frame["field_type"]) == ["EXTRAGALACTIC_FIELDS"] * 2 + ["GALACTIC_FIELDS"]
    assert frame["ra"].round(3).tolist() == [55.721, 55.721, 83.63]
    assert frame["dec"].round(2).tolist()[0] == -53.63
    assert list(frame["obs_mode"]) == ["pointing", "pointing", "scan"]
    assert frame["download"].iloc[2] == "https://example.org/edr/Crab.tgz"
    bad = page.replace(b"03:42:53.0", b"55.7, 55.8, 55.9")
    with pytest.raises(ServiceError, match=r"2 ObsIDs but 3 R\.A\. values"):
        erosita.parse_calpv_page(bad, "https://example.org/edr/")


# ------------------------------------------------------------------------------------------- cache
@pytest.mark.parametrize("service", FETCHERS)
def test_second_call_uses_the_cache_and_refresh_bypasses_it(sb: Sandbox, service: str, tmp_path: Path):
    fetch = FETCHERS[service]
    first = fetch()
    assert hits(sb, service) == 1 and len(cached_files(tmp_path)) == 1
    again = fetch()
    assert hits(sb, service) == 1 and again.equals(first)
    fetch(refresh=True)
    assert hits(sb, service) == 2


@pytest.mark.parametrize("service", FETCHERS)
def test_an_expired_copy_is_fetched_again(sb: Sandbox, service: str, tmp_path: Path):
    fetch = FETCHERS[service]
    fetch()
    (copy,) = cached_files(tmp_path)
    day = 86400
    os.utime(copy, (time.time() - 29 * day, time.time() - 29 * day))
    fetch()
    assert hits(sb, service) == 1  # 29 days old: still fresh
    os.utime(copy, (time.time() - 31 * day, time.time() - 31 * day))
    fetch()
    assert hits(sb, service) == 2  # past the 30-day TTL
    fetch(max_age=timedelta(0))
    assert hits(sb, service) == 3


def test_a_damaged_copy_is_replaced(sb: Sandbox, tmp_path: Path):
    erosita.dr1_tiles()
    (copy,) = cached_files(tmp_path)
    copy.write_bytes(b"SIMPLE  = garbage")
    assert len(erosita.dr1_tiles()) > 2000 and hits(sb, "dr1_tiles") == 2


def test_a_given_session_is_used(sb: Sandbox):
    class Counting(requests.Session):
        calls = 0

        def get(self, *args, **kwargs):
            Counting.calls += 1
            return super().get(*args, **kwargs)

    with Counting() as session:
        erosita.calpv_observations(session=session)
    assert Counting.calls == 1


# ------------------------------------------------------------------------------------------- refusals
def test_an_html_page_instead_of_the_tile_file_is_refused(sb: Sandbox, tmp_path: Path):
    page = sb.endpoints["erosita"]["calpv_table"]
    with endpoints.override({"erosita": {"dr1_tiles": page}}), pytest.raises(ServiceError) as err:
        erosita.dr1_tiles()
    assert page in str(err.value) and "HTML page titled" in str(err.value) and err.value.url == page
    assert cached_files(tmp_path) == []


def test_a_page_without_the_observation_table_is_refused(sb: Sandbox, tmp_path: Path):
    fits_url = sb.endpoints["erosita"]["dr1_tiles"]
    with endpoints.override({"erosita": {"calpv_table": fits_url}}), pytest.raises(ServiceError) as err:
        erosita.calpv_observations()
    assert fits_url in str(err.value) and "no Cal-PV observation table" in str(err.value)
    assert cached_files(tmp_path) == []


@pytest.mark.parametrize("service", FETCHERS)
def test_a_server_error_is_refused_with_its_status(sb: Sandbox, service: str, tmp_path: Path):
    sb.set_faults(Faults(error_500=1.0))
    with pytest.raises(ServiceError) as err:
        FETCHERS[service]()
    url = sb.endpoints["erosita"][service]
    assert err.value.status == 500 and url in str(err.value) and "500 Internal Server Error" in str(err.value)
    assert cached_files(tmp_path) == []


def test_a_cut_or_truncated_tile_file_is_refused(sb: Sandbox, tmp_path: Path):
    sb.set_faults(Faults(truncate=1.0, paths=(shape.TILES_FILE,)))
    with pytest.raises(ServiceError, match=re.escape(sb.endpoints["erosita"]["dr1_tiles"])):
        erosita.dr1_tiles()
    assert cached_files(tmp_path) == []
    body = shape.tiles_fits(shape.sky_tiles())
    with pytest.raises(ServiceError, match=r"truncated|cannot be read"):
        erosita.parse_dr1_tiles(body[: len(body) // 2], "file:half.fits")


def test_no_answer_is_a_service_error(sb: Sandbox):
    nowhere = {"erosita": {"calpv_table": "http://127.0.0.1:9/edr/"}}
    with (
        endpoints.override(nowhere),
        pytest.raises(ServiceError, match=r"127\.0\.0\.1:9/edr/: no usable answer"),
    ):
        erosita.calpv_observations()


# ------------------------------------------------------------------------------------------- synthetic data
def test_synthetic_programme_is_realistic():
    from astropy.coordinates import SkyCoord

    observations = shape.calpv_programme(seed=0)
    assert observations == shape.calpv_programme(seed=0)  # deterministic
    assert datetime(2019, 9, 1).date() <= min(o.start for o in observations).date()
    assert max(o.end for o in observations).date() <= datetime(2019, 12, 31).date()
    assert all(o.end > o.start for o in observations)
    for o in observations:
        b = SkyCoord(o.ra, o.dec, unit="deg").galactic.b.deg
        if o.field_type == "GALACTIC_FIELDS":
            assert abs(b) < 17, o
        elif o.field_type == "EXTRAGALACTIC_FIELDS":
            assert abs(b) > 17, o


def test_synthetic_tiles_follow_the_real_scheme():
    tiles = shape.sky_tiles(owners=(0, 1, 2))
    assert len(tiles["SRVMAP"]) == 4700
    de = shape.sky_tiles()
    assert 2300 <= len(de["SRVMAP"]) <= 2600  # the real DE release: 2248 DE + 199 shared
    assert np.datetime64("2019-12-11") <= de["START"].min() and de["END"].max() <= np.datetime64("2020-06-12")
    assert (de["END"] > de["START"]).all()
