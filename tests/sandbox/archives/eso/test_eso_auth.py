"""ESO's single sign-on in the sandbox: tokens, what anonymous and authorised clients see, expiry, XSA accounts."""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterator
from urllib.parse import urlencode

import numpy as np
import pytest
import pyvo
import requests
from astropy.io.votable import parse_single_table
from astropy.table import Table
from yarl import URL

from vodaxa.sandbox import Sandbox, SandboxConfig
from vodaxa.sandbox.archives.eso.auth import TokenIssuer
from vodaxa.sandbox.archives.xsa.aio import credentials_ok
from vodaxa.sandbox.protocols.tapdb import TapDatabase, TapTable
from vodaxa.sandbox.protocols.vo import FieldMeta

ROWS = 200
SEED = 3
NOW_MJD = 61000.0
NOW = np.datetime64("2025-11-21T00:00:00", "ms")  # MJD 61000
ACCOUNTS = {"astro": "correct horse", "other": "battery staple"}
IVO = "ivo://eso.org/ID?"
PRIVATE = "SELECT dp_id FROM dbo.raw WHERE release_date > '2025-11-21'"


def _config(tmp_path_factory: pytest.TempPathFactory, **changes: object) -> SandboxConfig:
    cache = tmp_path_factory.mktemp("eso-auth")
    options = {"rows": ROWS, "seed": SEED, "now_mjd": NOW_MJD, "accounts": ACCOUNTS, "cache": cache} | changes
    return SandboxConfig(**options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def sb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(_config(tmp_path_factory, archives=("eso", "xsa"))) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def short(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The same data with tokens valid for three seconds (time to use one on a busy machine), to watch them expire."""
    with Sandbox(_config(tmp_path_factory, archives=("eso",), token_lifetime=3.0)) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def frames(sb: Sandbox) -> dict[str, list[str]]:
    """dp_ids of dbo.raw by brute force: proprietary (release after "now") or public, all or science only."""
    raw = sb.archives["eso"].data["raw"]  # type: ignore[attr-defined]
    ids, private = [str(d) for d in raw["dp_id"]], raw["release_date"] > NOW
    science = np.array([c == "SCIENCE" for c in raw["dp_cat"]])
    out = {
        "private": [d for d, p in zip(ids, private) if p],
        "public": [d for d, p in zip(ids, private) if not p],
        "private_science": [d for d, p, s in zip(ids, private, science) if p and s],
        "public_science": [d for d, p, s in zip(ids, private, science) if not p and s],
    }
    assert all(out.values()), "the synthetic dbo.raw lacks proprietary or public science frames"
    return out


def _token(sb: Sandbox, user: str = "astro", password: str | None = None) -> requests.Response:
    """ESO's token request, as its own helper and astroquery send it: a GET with query parameters."""
    params = {
        "response_type": "id_token token",
        "grant_type": "password",
        "client_id": "clientid",
        "username": user,
        "password": ACCOUNTS.get(user, "") if password is None else password,
    }
    return requests.get(sb.endpoints["eso"]["token"], params=params, timeout=30)


def _session(token: str) -> requests.Session:
    """A requests session carrying the Bearer token, as ESO's notebook builds it."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def _login(sb: Sandbox, user: str = "astro") -> requests.Session:
    return _session(_token(sb, user).json()["id_token"])


def _part(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _ids(result) -> set[str]:
    return {str(v) for v in result.to_table()["dp_id"]}


def _tap(sb: Sandbox, session: requests.Session | None = None) -> pyvo.dal.TAPService:
    return pyvo.dal.TAPService(sb.endpoints["eso"]["tap_obs"], session=session)


def _votable(response: requests.Response) -> Table:
    assert response.status_code == 200, response.text[:300]
    return parse_single_table(io.BytesIO(response.content)).to_table()


def _assert_invalid_token(response: requests.Response) -> None:
    assert response.status_code == 401, response.text[:300]
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert response.json()["error"] == "invalid_token"


def _assert_login_page(response: requests.Response) -> None:
    """ESO's trap (astroquery#1272): a 200 answer that is an HTML login form, not the file."""
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    assert "Content-Disposition" not in response.headers and 'type="password"' in response.text


# ------------------------------------------------------------------------------ the token endpoint


def test_token_endpoint_issues_signed_jwts_valid_for_eight_hours(sb):
    issuer: TokenIssuer = sb.archives["eso"].auth.issuer
    before = issuer.issued
    answer = _token(sb)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("application/json")
    body = answer.json()
    assert set(body) == {"access_token", "id_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 28_800  # ESO's
    head, payload, signature = body["id_token"].split(".")
    assert json.loads(_part(head))["alg"] == "HS256" and len(_part(signature)) == 32  # HMAC-SHA256
    claims = json.loads(_part(payload))
    assert claims["sub"] == claims["preferred_username"] == "astro" and claims["aud"] == "clientid"
    assert claims["iss"] == sb.urls["eso"] and claims["exp"] == claims["iat"] + 28_800
    assert abs(claims["iat"] - time.time()) < 5
    assert issuer.verify(body["id_token"])["sub"] == "astro"
    forged = json.dumps(claims | {"sub": "other"}).encode()
    assert issuer.verify(f"{head}.{base64.urlsafe_b64encode(forged).decode().rstrip('=')}.{signature}") is None
    assert issuer.verify(body["access_token"]) is None  # the archive takes the id_token, as ESO's tools send it
    form = requests.post(sb.endpoints["eso"]["token"], data=_form("astro"), timeout=30)  # POST works too
    assert form.status_code == 200 and form.json()["id_token"] != body["id_token"]
    assert issuer.issued == before + 2


def _form(user: str) -> dict[str, str]:
    return {"grant_type": "password", "client_id": "clientid", "username": user, "password": ACCOUNTS[user]}


def test_token_endpoint_refuses_like_an_oidc_server(sb):
    issuer = sb.archives["eso"].auth.issuer
    before = issuer.issued
    for answer in (_token(sb, password="Tr0ub4dor&3"), _token(sb, "nobody", "correct horse")):
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_grant"
        assert answer.json()["error_description"]
    url = sb.endpoints["eso"]["token"]
    grant = requests.get(url, params=_form("astro") | {"grant_type": "client_credentials"}, timeout=30)
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    client = requests.get(url, params=_form("astro") | {"client_id": "someone"}, timeout=30)
    assert client.status_code == 401 and client.json()["error"] == "invalid_client"
    assert issuer.issued == before


# ------------------------------------------------------------------------------ TAP


def test_anonymous_tap_does_not_see_proprietary_frames(sb, frames):
    everything = "SELECT dp_id FROM dbo.raw"
    assert _ids(_tap(sb).run_sync(everything)) == set(frames["public"])
    assert _ids(_tap(sb).run_sync(PRIVATE)) == set()
    assert _ids(_tap(sb, _login(sb)).run_sync(everything)) == set(frames["public"] + frames["private"])
    assert _ids(_tap(sb, _login(sb)).run_sync(PRIVATE)) == set(frames["private"])
    assert _ids(_tap(sb, _login(sb, "other")).run_sync(everything)) == set(frames["public"])  # not theirs
    core = _tap(sb).run_sync("SELECT COUNT(*) AS n FROM ivoa.ObsCore").to_table()
    assert int(core["n"][0]) == ROWS  # only dbo.raw is protected


def test_async_jobs_run_with_the_identity_that_created_them(sb, frames):
    owner = _login(sb)
    job = _tap(sb, owner).submit_job(PRIVATE)
    job.execution_duration = 300
    job.run()
    job.wait(phases=["COMPLETED", "ERROR", "ABORTED"], timeout=30)
    assert job.phase == "COMPLETED" and _ids(job.fetch_result()) == set(frames["private"])
    assert "<uws:ownerId>astro</uws:ownerId>" in owner.get(job.url, timeout=30).text
    assert requests.get(job.url, timeout=30).status_code == 403  # another user's job and results
    assert requests.get(f"{job.url}/results/result", timeout=30).status_code == 403
    jobs = sb.endpoints["eso"]["tap_obs"] + "/async"
    assert job.url not in requests.get(jobs, timeout=30).text and job.url in owner.get(jobs, timeout=30).text
    assert _ids(_tap(sb).run_async(PRIVATE)) == set()
    # A job created anonymously stays anonymous, whoever starts it.
    created = requests.post(jobs, data={"LANG": "ADQL", "QUERY": PRIVATE}, timeout=30)
    anonymous = pyvo.dal.AsyncTAPJob(created.url, session=owner)
    anonymous.run()
    anonymous.wait(phases=["COMPLETED", "ERROR", "ABORTED"], timeout=30)
    assert anonymous.phase == "COMPLETED" and _ids(anonymous.fetch_result()) == set()
    job.delete()


def test_joins_uploads_and_aggregates_cannot_leak_proprietary_rows(sb, frames):
    anonymous, owner = _tap(sb), _tap(sb, _login(sb))
    upload = {"ids": Table({"id": frames["private"]})}
    join = "SELECT r.dp_id FROM TAP_UPLOAD.ids AS u JOIN dbo.raw AS r ON r.dp_id = u.id"
    assert _ids(anonymous.run_sync(join, uploads=upload)) == set()
    assert _ids(owner.run_sync(join, uploads=upload)) == set(frames["private"])
    self_join = (
        "SELECT DISTINCT b.dp_id FROM dbo.raw AS a JOIN dbo.raw AS b ON a.ob_id = b.ob_id "
        "WHERE b.release_date > '2025-11-21'"
    )
    assert _ids(anonymous.run_sync(self_join)) == set()
    nested = f"SELECT COUNT(*) AS n FROM dbo.raw WHERE dp_id IN ({PRIVATE})"
    assert int(anonymous.run_sync(nested).to_table()["n"][0]) == 0
    assert int(owner.run_sync(nested).to_table()["n"][0]) == len(frames["private"])
    latest = anonymous.run_sync("SELECT MAX(release_date) AS latest, COUNT(*) AS n FROM dbo.raw").to_table()
    assert str(latest["latest"][0]) <= "2025-11-21" and int(latest["n"][0]) == len(frames["public"])


def test_row_filters_are_a_general_tap_database_feature():
    secret = np.array([False, True, False, True])
    data = {"id": np.arange(4), "secret": secret}
    columns = [FieldMeta("id", "long"), FieldMeta("secret", "boolean")]
    db = TapDatabase([TapTable("t", "", columns, data, "s"), TapTable("u", "", columns, data)])
    try:
        hidden = {"s.t": "NOT secret"}

        def ids(query: str, **options) -> list:
            return sorted(db.execute(query, maxrec=None, **options).columns[0])

        assert ids("SELECT id FROM s.t") == [0, 1, 2, 3]
        assert ids("SELECT id FROM s.t", filters=hidden) == [0, 2]
        assert ids("SELECT x.id FROM s.t AS x JOIN u ON u.id = x.id", filters=hidden) == [0, 2]
        assert ids("SELECT id FROM u WHERE id IN (SELECT id FROM s.t)", filters=hidden) == [0, 2]
        upload = {"mine": Table({"id": [1, 3]})}
        assert (
            ids("SELECT t.id FROM TAP_UPLOAD.mine AS m JOIN s.t AS t ON t.id = m.id", filters=hidden, uploads=upload)
            == []
        )
        assert ids("SELECT id FROM u", filters=hidden) == [0, 1, 2, 3]  # other tables untouched
    finally:
        db.close()


# ------------------------------------------------------------------------------ DataLink, calSelector, dataportal


def test_proprietary_datasets_need_their_owners_token(sb, frames):
    base, dp_id = sb.urls["eso"], frames["private_science"][0]
    datalink = f"{base}/datalink/links?ID={IVO}{dp_id}"
    votable = f"{base}/calselector/v1/associations?dp_id={dp_id}&mode=Raw2Raw&responseformat=votable"
    tree = f"{base}/calselector/v1/associations?dp_id={dp_id}&mode=Raw2Raw"
    for session in (requests.Session(), _login(sb, "other")):  # anonymous, or someone else's token
        rows = pyvo.dal.adhoc.DatalinkResults.from_result_url(datalink, session=session)
        (row,) = rows  # one error row, no link
        assert row.error_message.startswith("NotFoundFault") and "protected" in row.error_message
        assert not row.get("access_url", decode=True)
        refused = _votable(session.get(votable, timeout=30))
        assert len(refused) == 1 and str(refused["error_message"][0]).startswith("DefaultFault")
        assert session.get(tree, timeout=30).status_code == 401
        _assert_login_page(session.get(f"{base}/dataPortal/file/{dp_id}", timeout=30))
        _assert_login_page(session.get(f"{base}/dataPortal/file/{dp_id}.NL", timeout=30))
        _assert_login_page(session.get(f"{datalink}&eso_download=file", timeout=30))
    owner = _login(sb)
    rows = pyvo.dal.adhoc.DatalinkResults.from_result_url(datalink, session=owner)
    this = next(rows.bysemantics("#this", include_narrower=False))
    assert this.access_url == f"{base}/dataPortal/file/{dp_id}" and not this.error_message
    cascade = _votable(owner.get(votable, timeout=30))
    assert {"#this", "#calibration"} <= set(cascade["semantics"])
    assert owner.get(tree, timeout=30).headers["Content-Type"].startswith("application/xml")
    file = owner.get(this.access_url, timeout=30)
    assert file.status_code == 200 and file.content[:2] == b"\x1f\x9d"  # Unix-compressed FITS
    assert file.headers["Content-Disposition"] == f"attachment; filename={dp_id}.fits.Z"


def test_public_datasets_need_no_token(sb, frames):
    base, dp_id = sb.urls["eso"], frames["public_science"][0]
    rows = pyvo.dal.adhoc.DatalinkResults.from_result_url(f"{base}/datalink/links?ID={IVO}{dp_id}")
    assert next(rows.bysemantics("#this", include_narrower=False)).access_url == f"{base}/dataPortal/file/{dp_id}"
    file = requests.get(f"{base}/dataPortal/file/{dp_id}", timeout=30)
    assert file.status_code == 200 and "Content-Disposition" in file.headers


def test_forged_tokens_are_refused_with_401_except_at_the_dataportal(sb, frames):
    head, payload, _ = _token(sb).json()["id_token"].split(".")
    forged = _session(f"{head}.{payload}.{base64.urlsafe_b64encode(b'0' * 32).decode().rstrip('=')}")
    base, private, public = sb.urls["eso"], frames["private_science"][0], frames["public_science"][0]
    query = urlencode({"LANG": "ADQL", "QUERY": PRIVATE})
    _assert_invalid_token(forged.get(f"{base}/tap_obs/sync?{query}", timeout=30))
    _assert_invalid_token(forged.post(f"{base}/tap_obs/async", data={"LANG": "ADQL", "QUERY": PRIVATE}, timeout=30))
    _assert_invalid_token(forged.get(f"{base}/datalink/links?ID={IVO}{public}", timeout=30))
    _assert_invalid_token(forged.get(f"{base}/calselector/v1/associations?dp_id={public}", timeout=30))
    _assert_login_page(forged.get(f"{base}/dataPortal/file/{private}", timeout=30))
    assert forged.get(f"{base}/dataPortal/file/{public}", timeout=30).headers["Content-Disposition"]


def test_expired_tokens_act_as_none_and_must_be_refreshed(short):
    raw = short.archives["eso"].data["raw"]
    private = [
        str(d) for d, c, r in zip(raw["dp_id"], raw["dp_cat"], raw["release_date"]) if c == "SCIENCE" and r > NOW
    ]
    base, dp_id, issuer = short.urls["eso"], private[0], short.archives["eso"].auth.issuer
    token = _token(short).json()["id_token"]
    session, tap = _session(token), _tap(short, _session(token))
    assert _ids(tap.run_sync(PRIVATE))
    assert session.get(f"{base}/dataPortal/file/{dp_id}", timeout=30).headers["Content-Disposition"]
    claims = json.loads(_part(token.split(".")[1]))
    exp = claims["exp"]
    assert exp == claims["iat"] + 3
    time.sleep(max(0.0, exp - time.time()) + 0.05)
    _assert_invalid_token(session.get(f"{base}/tap_obs/sync", params={"LANG": "ADQL", "QUERY": PRIVATE}, timeout=30))
    with pytest.raises(pyvo.dal.DALServiceError):
        tap.run_sync(PRIVATE)
    _assert_invalid_token(session.get(f"{base}/datalink/links?ID={IVO}{dp_id}", timeout=30))
    _assert_invalid_token(session.get(f"{base}/calselector/v1/associations?dp_id={dp_id}", timeout=30))
    _assert_login_page(session.get(f"{base}/dataPortal/file/{dp_id}", timeout=30))
    before = issuer.issued
    refreshed = _session(_token(short).json()["id_token"])
    assert issuer.issued == before + 1
    assert _ids(_tap(short, refreshed).run_sync(PRIVATE)) == set(
        str(d) for d, r in zip(raw["dp_id"], raw["release_date"]) if r > NOW
    )


# ------------------------------------------------------------------------------ XSA and the redirect fixture


def test_xsa_aio_checks_the_configured_accounts(sb):
    xsa = sb.archives["xsa"]
    obs = xsa.data["v_all_observations"]
    locked = next(
        str(o)
        for o, end in zip(obs["observation_id"], obs["proprietary_end_date"])
        if not np.isnat(end) and end > xsa.aio.now
    )
    aio = sb.endpoints["xsa"]["aio"]

    def get(user: str, password: str) -> int:
        params = {"obsno": locked, "level": "ODF", "AIOUSER": user, "AIOPWD": password}
        return requests.head(aio, params=params, timeout=30).status_code

    assert get("astro", "wrong") == get("nobody", "correct horse") == get("astro", "") == 401
    assert get("astro", "correct horse") == get("other", "battery staple") == 200
    assert not credentials_ok(None, None, ACCOUNTS) and credentials_ok("other", "battery staple", ACCOUNTS)


def test_redirect_away_goes_only_to_loopback_and_requests_drops_the_token(sb, frames):
    base = sb.urls["eso"]
    count = "/tap_obs/sync?" + urlencode({"LANG": "ADQL", "QUERY": "SELECT COUNT(*) AS n FROM dbo.raw"})
    here = requests.get(f"{base}/redirect-away", params={"to": base + count}, allow_redirects=False, timeout=30)
    assert here.status_code == 302 and URL(here.headers["Location"]) == URL(base + count)
    for target in ("https://www.eso.org/sso/oidc/token", "ftp://127.0.0.1/x", "http://10.0.0.1/", ""):
        refused = requests.get(f"{base}/redirect-away", params={"to": target}, allow_redirects=False, timeout=30)
        assert refused.status_code == 400, target
    owner = _login(sb)
    same_host = owner.get(f"{base}/redirect-away", params={"to": base + count}, timeout=30)
    assert int(_votable(same_host)["n"][0]) == ROWS  # the token went along: every row
    other_host = base.replace("127.0.0.1", "localhost") + count
    away = owner.get(f"{base}/redirect-away", params={"to": other_host}, timeout=30)
    assert int(_votable(away)["n"][0]) == len(frames["public"])  # requests dropped it: anonymous
