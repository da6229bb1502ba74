"""The ESO flow with vodaxa's login on the sandbox: authorised queries, protected DataLink and calibrations,
protected files, a token expiring mid-run, and no secret anywhere it should not be.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterator

import pandas as pd
import pytest

import vodaxa
from vodaxa import Mission, auth
from vodaxa.config import endpoints
from vodaxa.errors import AuthError, VodaxaError
from vodaxa.http import HttpClient
from vodaxa.resolvers import resolve
from vodaxa.sandbox import Sandbox, SandboxConfig
from vodaxa.sandbox.archives.eso import shape as eso

PASSWORD = "correct horse"
ROWS = 300


@pytest.fixture(scope="module")
def sb(tmp_path_factory) -> Iterator[Sandbox]:
    config = SandboxConfig(
        rows=ROWS, seed=3, archives=("eso",), token_lifetime=4.0, cache=tmp_path_factory.mktemp("eso-auth")
    )
    with Sandbox(config) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(sb, monkeypatch) -> Iterator[Sandbox]:
    monkeypatch.setenv("VODAXA_QUERY_CACHE", "0")
    monkeypatch.setenv("VODAXA_ESO_USERNAME", "astro")
    monkeypatch.setenv("VODAXA_ESO_PASSWORD", PASSWORD)
    monkeypatch.delenv("VODAXA_ESO_TOKEN", raising=False)
    with endpoints.override(sb.endpoints):
        yield sb
    auth.logout("eso")


def _private(sb: Sandbox) -> set[str]:
    raw = pd.DataFrame(eso.generate("raw", ROWS, seed=3, now_mjd=sb.now_mjd))
    released = pd.to_datetime(raw["release_date"], utc=True)
    now = pd.Timestamp((sb.now_mjd - 40587.0) * 86400, unit="s", tz="UTC")
    return set(raw[(released > now) & (raw["dp_cat"] == "SCIENCE")]["dp_id"])


def test_anonymous_sees_no_proprietary_rows_and_login_does(sandbox):
    private = _private(sandbox)
    assert private
    assert not set(Mission("eso").filtered_obs_ids) & private
    token = vodaxa.login("eso", allow_http_loopback=True)
    assert "astro" in vodaxa.whoami()["eso"] and "***" in repr(token)
    jobs_before = len(sandbox.archives["eso"].tap.jobs)
    seen = set(Mission("eso").filtered_obs_ids)
    assert private <= seen  # the authorised (async) query returns the protected rows
    assert len(sandbox.archives["eso"].tap.jobs) == jobs_before  # async jobs were deleted afterwards


def test_protected_datalink_calibrations_and_files(sandbox):
    vodaxa.login("eso", allow_http_loopback=True)
    dp_id = sorted(_private(sandbox))[0]
    mission = Mission("eso")
    mission.filter_on_obs_ids([dp_id])
    manifest = resolve(mission, calibrations="raw2master")
    raw = manifest.select(category="raw").frame
    assert list(raw["obs_id"]) == [dp_id] and raw["auth_realm"].tolist() == ["eso"]
    assert manifest.unavailable.empty
    assert len(manifest.select(note="calibration")) > 0

    async def fetch(url: str) -> bytes:
        async with HttpClient(headers_for=auth.scope().headers_for, on_rejected=auth.rejected) as http:
            return (await http.get(url)).body

    body = asyncio.run(fetch(raw["url"].iloc[0]))
    assert body[:2] == b"\x1f\x9d"  # a compressed FITS file, not the login page


def test_anonymous_file_is_a_login_page_not_data(sandbox):
    dp_id = sorted(_private(sandbox))[0]

    async def fetch() -> tuple[int, str]:
        async with HttpClient() as http:
            answer = await http.get(sandbox.endpoints["eso"]["dataportal"] + dp_id)
            return answer.status, answer.content_type

    status, kind = asyncio.run(fetch())
    assert status == 200 and kind.startswith("text/html")  # the trap of astroquery#1272, reproduced


def test_token_expiring_mid_run_is_refreshed(sandbox):
    issuer = sandbox.archives["eso"].auth.issuer
    token = vodaxa.login("eso", allow_http_loopback=True)
    issued = issuer.issued
    time.sleep(4.2)  # the sandbox's tokens live 4 s
    assert set(Mission("eso").filtered_obs_ids) >= _private(sandbox)
    assert issuer.issued > issued and token.valid()


def test_a_token_the_server_rejects_is_replaced_once(sandbox):
    token = vodaxa.login("eso", allow_http_loopback=True)
    issuer = sandbox.archives["eso"].auth.issuer
    stale = issuer.issue("astro", sandbox.urls["eso"])["id_token"]  # valid now, expired below
    token._token, token._expires = stale, time.time() + 3600  # the client believes it is still good
    time.sleep(4.2)
    dp_id = sorted(_private(sandbox))[0]

    async def fetch() -> bytes:
        async with HttpClient(headers_for=auth.scope().headers_for, on_rejected=auth.rejected) as http:
            return (await http.get(sandbox.endpoints["eso"]["dataportal"] + dp_id)).body

    assert asyncio.run(fetch())[:2] == b"\x1f\x9d"  # login page seen, token renewed, file fetched


def test_wrong_password_is_one_clear_error(sandbox, monkeypatch):
    monkeypatch.setenv("VODAXA_ESO_PASSWORD", "wrong")
    attempts = dict(sandbox.injector.attempts)
    with pytest.raises(AuthError, match="wrong username or password") as info:
        vodaxa.login("eso", allow_http_loopback=True)
    assert "wrong" not in str(info.value).replace("wrong username", "")  # the password is not in the message
    tries = sum(n - attempts.get(k, 0) for k, n in sandbox.injector.attempts.items() if "/sso/oidc/token" in k[1])
    assert tries == 1  # no retry storm
    with pytest.raises(AuthError, match="logging in is for ESO"):
        vodaxa.login("heasarc")


def test_no_credentials_says_where_to_put_them(sandbox, monkeypatch):
    monkeypatch.delenv("VODAXA_ESO_USERNAME")
    monkeypatch.delenv("VODAXA_ESO_PASSWORD")
    with pytest.raises(AuthError, match="VODAXA_ESO_USERNAME"):
        vodaxa.login("eso")


def test_token_never_sent_without_opt_in_over_http(sandbox):
    vodaxa.login("eso")  # no allow_http_loopback: the sandbox is plain http, so nothing may carry the token
    assert auth.scope().headers_for(sandbox.endpoints["eso"]["tap_obs"] + "/sync") == {}
    assert not set(Mission("eso").filtered_obs_ids) & _private(sandbox)


def test_no_secret_leaks(sandbox, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        logging.getLogger(name).setLevel(logging.DEBUG)
    token = vodaxa.login("eso", allow_http_loopback=True)
    secret_token = token._token
    mission = Mission("eso")
    mission.filter_on_obs_ids(sorted(_private(sandbox))[:2])
    manifest = resolve(mission, calibrations="raw2raw")
    state = mission.save(tmp_path / "state.json").read_text()
    texts = [
        state,
        manifest.to_json(),
        repr(token),
        repr(token.credential),
        str(vodaxa.whoami()),
        json.dumps(mission.filtering_operations),
    ]
    texts += [record.getMessage() for record in caplog.records]
    texts += [str(record.args) for record in caplog.records]
    try:
        Mission("eso").filter_on_obs_ids(["not an id"])
    except VodaxaError as err:
        texts.append(str(err))
    blob = "\n".join(texts)
    assert secret_token and secret_token not in blob
    for form in (PASSWORD, PASSWORD.replace(" ", "+"), PASSWORD.replace(" ", "%20")):
        assert form not in blob  # not even URL-encoded in a logged request line


def test_download_carries_the_token_and_refuses_login_pages(sandbox, tmp_path, monkeypatch):
    dp_id = sorted(_private(sandbox))[0]
    vodaxa.login("eso", allow_http_loopback=True)
    mission = Mission("eso")
    mission.filter_on_obs_ids([dp_id])
    manifest = resolve(mission, calibrations="raw2master")
    auth.logout("eso")
    with monkeypatch.context() as anonymous_session:  # no credentials anywhere: nothing to log in with
        anonymous_session.delenv("VODAXA_ESO_USERNAME")
        anonymous_session.delenv("VODAXA_ESO_PASSWORD")
        anonymous_session.setattr("vodaxa.auth.credentials._from_keyring", lambda archive, user: None)
        anonymous = vodaxa.download(manifest, tmp_path / "anon", progress=False, retries=0)
    failed = set(anonymous.failed["url"])
    raw = manifest.select(category=["raw", "night_log", "association_tree"]).files
    assert set(raw["url"]) <= failed  # the proprietary frame, its night log and tree: login pages or 401
    assert any("HTML page where a text file" in e for e in anonymous.errors), anonymous.errors
    assert any("HTML page (" in e and "check your credentials" in e for e in anonymous.errors)
    for path in anonymous.ok:  # public calibrations arrive; no login page is ever saved as data
        assert b"<html" not in path.read_bytes()[:64].lower(), path

    vodaxa.login("eso", allow_http_loopback=True)
    report = vodaxa.download(manifest, tmp_path / "mine", progress=False)
    assert len(report.ok) == len(manifest.files) and not len(report.failed), report.errors
    for path in report.ok:
        head = path.read_bytes()[:64].lower()
        assert b"<html" not in head and b"<!doctype" not in head, path


def _stale_login(sandbox: Sandbox, dp_ids: list[str]):
    """Logged in, the raw frames of ``dp_ids`` resolved, and then the token gone stale behind the client's back;
    returns (the manifest, the token issuer, how many tokens it had issued)."""
    token = vodaxa.login("eso", allow_http_loopback=True)
    mission = Mission("eso")
    mission.filter_on_obs_ids(dp_ids)
    raw = resolve(mission).select(category="raw")
    issuer = sandbox.archives["eso"].auth.issuer
    stale = issuer.issue("astro", sandbox.urls["eso"])["id_token"]
    token._token, token._expires = stale, time.time() + 3600  # the client believes it is still good
    time.sleep(4.2)  # ... but the server no longer does
    return raw, issuer, issuer.issued


def test_download_logs_in_again_when_the_token_is_refused(sandbox, tmp_path):
    raw, issuer, issued = _stale_login(sandbox, sorted(_private(sandbox))[:1])
    report = vodaxa.download(raw, tmp_path, progress=False, retries=2)
    assert len(report.ok) == 1, report.errors
    assert issuer.issued > issued and report.ok[0].read_bytes()[:9] == b"SIMPLE  ="  # the frame, unpacked


def test_download_logs_in_by_itself_from_stored_credentials(sandbox, tmp_path, caplog):
    dp_id = sorted(_private(sandbox))[0]
    vodaxa.login("eso", allow_http_loopback=True)
    mission = Mission("eso")
    mission.filter_on_obs_ids([dp_id])
    manifest = resolve(mission).select(category="raw")
    auth.logout("eso")  # a new session: credentials in the environment, nobody logged in
    report = vodaxa.download(manifest, tmp_path / "auto", progress=False)
    assert len(report.ok) == 1, report.errors
    assert report.ok[0].read_bytes()[:9] == b"SIMPLE  =" and "eso" in vodaxa.whoami()  # the frame, unpacked


def test_download_without_credentials_says_how_to_add_them(sandbox, tmp_path, monkeypatch, caplog):
    dp_id = sorted(_private(sandbox))[0]
    vodaxa.login("eso", allow_http_loopback=True)
    mission = Mission("eso")
    mission.filter_on_obs_ids([dp_id])
    manifest = resolve(mission).select(category="raw")
    auth.logout("eso")
    for name in ("VODAXA_ESO_USERNAME", "VODAXA_ESO_PASSWORD"):
        monkeypatch.delenv(name)
    monkeypatch.setattr("vodaxa.auth.credentials._from_keyring", lambda archive, user: None)
    with caplog.at_level(logging.WARNING, logger="vodaxa.download"):
        report = vodaxa.download(manifest, tmp_path / "none", progress=False, retries=0)
    assert len(report.failed) == 1
    assert "need ESO credentials" in caplog.text and "vodaxa login eso --store" in caplog.text
    assert PASSWORD not in caplog.text


def test_a_burst_of_refusals_costs_one_login(sandbox, tmp_path):
    """Issue 14 item 5: many files refused at once (a token gone stale) log in again once, not once each."""
    raw, issuer, issued = _stale_login(sandbox, sorted(_private(sandbox))[:12])
    report = vodaxa.download(raw, tmp_path, progress=False, retries=2, max_per_host=8)
    assert len(report.ok) == len(raw.files) > 3, report.errors
    assert issuer.issued - issued == 1  # one login for the whole burst
