"""astroquery's Eso (TAP era: pyvo on tap_obs and tap_cat, ESO's SSO, calSelector, the dataportal) on the sandbox."""

from __future__ import annotations

import getpass
from pathlib import Path

import numpy as np
import pytest
import requests

pytest.importorskip("astroquery", reason="the conformance tests need astroquery (tox -e conformance installs it)")

from astropy.coordinates import SkyCoord
from astropy.io import fits
from astroquery.eso import EsoClass, conf
from astroquery.exceptions import LoginError, NoResultsWarning

from vodaxa.sandbox import Sandbox, SandboxConfig
from vodaxa.sandbox.archives.eso.shape import IST_TABLES, RAW_COLUMNS
from vodaxa.sandbox.archives.eso.tap_cat import CATALOGUES

from .conftest import PASSWORD, USER

_KEYRING_SERVICE = "astroquery:www.eso.org"  # the service name astroquery stores ESO passwords under


class _ArchiveHost(requests.adapters.HTTPAdapter):
    """Sends requests for https://archive.eso.org/ to the sandbox: get_headers has that host written in."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def send(self, request, **kwargs):
        request.url = self.base + request.url[len("https://archive.eso.org") :]
        return super().send(request, **kwargs)


def _client(base: str, monkeypatch: pytest.MonkeyPatch) -> EsoClass:
    """A fresh Eso client repointed at the sandbox: its configuration items and URL attributes."""
    monkeypatch.setattr(conf, "tap_obs_url", f"{base}/tap_obs")
    monkeypatch.setattr(conf, "tap_cat_url", f"{base}/tap_cat")
    client = EsoClass()
    client.AUTH_URL = f"{base}/sso/oidc/token"
    client.CALSELECTOR_URL = f"{base}/calselector/v1/associations"
    client.DOWNLOAD_URL = f"{base}/dataPortal/file/"
    return client


@pytest.fixture
def eso(sandbox, monkeypatch, memory_keyring) -> EsoClass:
    return _client(sandbox.urls["eso"], monkeypatch)


@pytest.fixture
def logged_in(eso, monkeypatch) -> EsoClass:
    """The client after login(), the password typed at astroquery's prompt (getpass)."""
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": PASSWORD)
    eso.login(username=USER)
    assert _logged_in(eso)
    return eso


def _logged_in(client: EsoClass) -> bool:
    """Whether login() left a token (astroquery's login() itself returns nothing)."""
    info = client._auth_info
    return info is not None and info.username == USER and bool(client._get_auth_header())


@pytest.fixture(scope="module")
def raw(sandbox) -> dict[str, np.ndarray]:
    return sandbox.archives["eso"].data["raw"]


def _proprietary(sandbox, raw) -> np.ndarray:
    auth = sandbox.archives["eso"].auth
    return np.array([auth.owner(str(d)) is not None for d in raw["dp_id"]])


def test_list_instruments(eso):
    assert eso.list_instruments() == list(IST_TABLES)  # ESO's 27 ist tables (apex_quicklooks would be dropped)


def test_list_surveys(eso, sandbox):
    obscore = sandbox.archives["eso"].data["ObsCore"]
    assert sorted(eso.list_surveys()) == sorted(set(obscore["obs_collection"]))


def test_query_instrument_fors2_is_its_public_frames(eso, sandbox, raw):
    table = eso.query_instrument("fors2")
    public = (raw["instrument"] == "FORS2") & ~_proprietary(sandbox, raw)
    assert sorted(table["dp_id"]) == sorted(raw["dp_id"][public]) and len(table) > 0
    assert set(table.colnames) == {c.name for c in RAW_COLUMNS}
    assert table.colnames[:2] == ["object", "ra"]  # astroquery's DEFAULT_LEAD_COLS_RAW come first


def test_query_instrument_count_cone_and_filters(eso, sandbox, raw):
    fors2 = (raw["instrument"] == "FORS2") & ~_proprietary(sandbox, raw)
    assert eso.query_instrument("fors2", count_only=True) == int(fors2.sum())
    ra, dec = (float(raw[k][fors2 & (raw["dp_cat"] == "SCIENCE")][0]) for k in ("ra_pnt", "dec_pnt"))
    near = eso.query_instrument("fors2", cone_ra=ra, cone_dec=dec, cone_radius=0.1)  # INTERSECTS(s_region, CIRCLE)
    pointings = SkyCoord(raw["ra_pnt"][fors2], raw["dec_pnt"][fors2], unit="deg")
    inside = pointings.separation(SkyCoord(ra, dec, unit="deg")).deg <= 0.1  # NULL pointings compare False
    assert sorted(near["dp_id"]) == sorted(raw["dp_id"][fors2][inside]) and len(near) > 0
    filtered = eso.query_instrument("fors2", column_filters={"dp_cat": "= 'CALIB'"}, columns=["dp_id", "dp_cat"])
    assert set(filtered["dp_cat"]) == {"CALIB"}


@pytest.mark.parametrize(
    "call",
    [
        lambda eso: eso.query_instrument("fors2", help=True),
        lambda eso: eso.query_main(help=True),
        lambda eso: eso.query_surveys(help=True),
        lambda eso: eso.query_catalog("VHS_CAT_V3", help=True),
    ],
    ids=["query_instrument", "query_main", "query_surveys", "query_catalog"],
)
def test_help_lists_columns_and_counts(eso, caplog, call):
    """help=True reads TAP_SCHEMA.columns (with TAP 1.1's xtype on tap_obs, ucd on tap_cat) and counts the rows."""
    with caplog.at_level("INFO", logger="astroquery"):
        assert call(eso) is None
    assert "Error executing" not in caplog.text and "Columns present in the table" in caplog.text
    assert "<No columns>" not in caplog.text


def test_query_instrument_without_frames_is_empty(eso):
    with pytest.warns(NoResultsWarning):
        assert len(eso.query_instrument("amber")) == 0


def test_query_main(eso, sandbox, raw):
    table = eso.query_main(instruments=["FORS2", "MUSE"])
    public = np.isin(raw["instrument"], ["FORS2", "MUSE"]) & ~_proprietary(sandbox, raw)
    assert sorted(table["dp_id"]) == sorted(raw["dp_id"][public])


def test_query_surveys(eso, sandbox):
    obscore = sandbox.archives["eso"].data["ObsCore"]
    table = eso.query_surveys(surveys="VVV")
    assert len(table) == int((obscore["obs_collection"] == "VVV").sum()) > 0
    assert set(table["obs_collection"]) == {"VVV"}


def test_list_catalogs_and_query_catalog(eso):
    latest = {c.title: c for c in sorted(CATALOGUES, key=lambda c: c.version)}  # the last version wins
    assert eso.list_catalogs() == sorted(c.name for c in latest.values())
    assert eso.list_catalogs(all_versions=True) == sorted(c.name for c in CATALOGUES)
    assert len(eso.query_catalog("VHS_CAT_V3", top=7)) == 7


def test_login_with_the_prompted_password(logged_in):
    assert not logged_in._auth_info._expired()  # an 8-hour token: far from astroquery's 10-minute margin


def test_login_with_a_wrong_password_fails(eso, monkeypatch):
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": "wrong")
    eso.login(username=USER)
    assert eso._auth_info is None
    with pytest.raises(LoginError):
        eso.query_main(instruments=["FORS2"], authenticated=True)


def test_login_from_the_keyring(eso, memory_keyring, monkeypatch):
    memory_keyring.set_password(_KEYRING_SERVICE, USER, PASSWORD)

    def no_prompt(prompt=""):
        raise AssertionError("the password should come from the keyring")

    monkeypatch.setattr(getpass, "getpass", no_prompt)
    eso.login(username=USER)
    assert _logged_in(eso)


def test_login_stores_the_password_in_the_keyring(eso, memory_keyring, monkeypatch):
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": PASSWORD)
    eso.login(username=USER, store_password=True)
    assert _logged_in(eso) and memory_keyring.get_password(_KEYRING_SERVICE, USER) == PASSWORD


def test_authenticated_queries_see_proprietary_frames(logged_in, eso, sandbox, raw):
    private = _proprietary(sandbox, raw)
    assert private.any()
    mine = logged_in.query_main(
        column_filters={"dp_id": f"in ({', '.join(repr(str(d)) for d in raw['dp_id'][private])})"}, authenticated=True
    )
    assert sorted(mine["dp_id"]) == sorted(raw["dp_id"][private])
    assert logged_in.query_main(count_only=True, authenticated=True) == len(raw["dp_id"])
    fors2 = raw["instrument"] == "FORS2"
    assert logged_in.query_instrument("fors2", count_only=True, authenticated=True) == int(fors2.sum())


def test_anonymous_queries_do_not(eso, sandbox, raw):
    assert eso.query_main(count_only=True) == int((~_proprietary(sandbox, raw)).sum())


def test_astroquery_treats_a_token_with_under_ten_minutes_left_as_expired(
    tmp_path_factory, monkeypatch, memory_keyring
):
    """ESO's tokens live 8 h; astroquery refuses one with < 600 s left, so a short-lived token never works."""
    config = SandboxConfig(rows=40, archives=("eso",), token_lifetime=300, cache=tmp_path_factory.mktemp("short"))
    with Sandbox(config) as short:
        client = _client(short.urls["eso"], monkeypatch)
        monkeypatch.setattr(getpass, "getpass", lambda prompt="": PASSWORD)
        client.login(username=USER)
        assert client._auth_info is not None and client._auth_info._expired()
        with pytest.raises(LoginError, match="expired"):
            client.query_main(authenticated=True)


def _public_fors2(sandbox, raw, kind: str) -> list[str]:
    pick = (raw["instrument"] == "FORS2") & (raw["dp_cat"] == kind) & ~_proprietary(sandbox, raw)
    return [str(d) for d in raw["dp_id"][pick]]


def test_retrieve_data_fits_z(eso, sandbox, raw, tmp_path: Path):
    dp_id = _public_fors2(sandbox, raw, "SCIENCE")[0]
    files = eso.retrieve_data([dp_id], destination=str(tmp_path), unzip=False)
    assert [Path(f).name for f in files] == [f"{dp_id}.fits.Z"]
    assert Path(files[0]).read_bytes()[:2] == b"\x1f\x9d"  # Unix compress, as ESO serves raw frames


def test_retrieve_data_unzips(eso, sandbox, raw, tmp_path: Path):
    dp_id = _public_fors2(sandbox, raw, "SCIENCE")[1]
    path = eso.retrieve_data(dp_id, destination=str(tmp_path))  # one dataset: one path, not a list
    with fits.open(path) as hdus:
        assert hdus[0].header["ARCFILE"] == f"{dp_id}.fits" and hdus[0].header["INSTRUME"] == "FORS2"


@pytest.mark.parametrize("mode", ["raw", "processed"])
def test_retrieve_data_with_calibrations(eso, sandbox, raw, tmp_path: Path, mode):
    """with_calib asks calSelector (Raw2Raw or Raw2Master) for the associated files and downloads them too."""
    dp_id = _public_fors2(sandbox, raw, "SCIENCE")[2]
    associated = eso.get_associated_files([dp_id], mode=mode)
    assert associated and dp_id not in associated
    files = eso.retrieve_data([dp_id], destination=str(tmp_path), with_calib=mode, unzip=False)
    names = {Path(f).name.removesuffix(".fits.Z") for f in files}
    assert names == {dp_id, *associated}


def test_retrieve_proprietary_frame_when_logged_in(logged_in, sandbox, raw, tmp_path: Path):
    dp_id = str(raw["dp_id"][_proprietary(sandbox, raw)][0])
    [path] = logged_in.retrieve_data([dp_id], destination=str(tmp_path), unzip=False)
    assert Path(path).name == f"{dp_id}.fits.Z" and Path(path).stat().st_size > 2880 // 4


def test_get_headers(eso, sandbox, raw):
    """get_headers has https://archive.eso.org/hdr written in: the test routes that host to the sandbox."""
    eso._session.mount("https://archive.eso.org/", _ArchiveHost(sandbox.urls["eso"]))
    dp_ids = _public_fors2(sandbox, raw, "SCIENCE")[:2]
    headers = eso.get_headers(dp_ids)
    assert list(headers["DP.ID"]) == dp_ids
    assert list(headers["ARCFILE"]) == [f"{d}.fits" for d in dp_ids]
    # FITS pads strings to 8 characters, and astroquery keeps what is between the quotes
    assert {v.strip() for v in headers["HIERARCH ESO DPR CATG"]} == {"SCIENCE"}
    assert {v.strip() for v in headers["INSTRUME"]} == {"FORS2"}
