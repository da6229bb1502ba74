"""Issue 14 items 3 and 4: the ESO password goes to the token endpoint only: never along a redirect (a 307
re-POSTs it), never over plain http off this machine, and a password kept for astroquery only to ESO's host."""

from __future__ import annotations

import keyring
import pytest
from aiohttp import web
from keyring.backend import KeyringBackend

from vodaxa.auth import login
from vodaxa.config import endpoints
from vodaxa.errors import AuthError, ServiceError

from ..servers import AppThread


@pytest.fixture
def servers():
    seen: list[str] = []

    async def away(request: web.Request) -> web.Response:
        seen.append(await request.text())
        return web.json_response({"id_token": "x"})

    other_app = web.Application()
    other_app.router.add_route("*", "/steal", away)
    other = AppThread(other_app)

    async def token(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(f"{other.base}/steal")  # 307: a client following it re-POSTs the form

    app = web.Application()
    app.router.add_route("*", "/sso/oidc/token", token)
    main = AppThread(app)
    yield main.base, seen
    main.close()
    other.close()


def test_a_redirect_from_the_token_endpoint_carries_no_password(servers, monkeypatch):
    base, seen = servers
    monkeypatch.setenv("VODAXA_ESO_USERNAME", "astro")
    monkeypatch.setenv("VODAXA_ESO_PASSWORD", "s3cret-marker")
    token_url = {"eso": {"token": f"{base}/sso/oidc/token"}}
    with endpoints.override(token_url), pytest.raises(ServiceError, match="redirect") as caught:
        login("eso", allow_http_loopback=True)
    assert seen == [] and "s3cret-marker" not in str(caught.value)


def test_no_password_over_plain_http_off_this_machine(monkeypatch):
    monkeypatch.setenv("VODAXA_ESO_USERNAME", "astro")
    monkeypatch.setenv("VODAXA_ESO_PASSWORD", "s3cret-marker")
    plain = {"eso": {"token": "http://sso.example.org/token"}}
    with endpoints.override(plain), pytest.raises(AuthError, match="not https"):
        login("eso")


class AstroqueryOnly(KeyringBackend):
    priority = 1

    def get_password(self, service, username):
        return "astroquery-secret" if service == "astroquery:www.eso.org" and username == "astro" else None

    def set_password(self, service, username, password):
        raise keyring.errors.PasswordSetError("read-only")

    def delete_password(self, service, username):
        raise keyring.errors.PasswordDeleteError("read-only")


def test_an_astroquery_password_goes_only_to_esos_host(monkeypatch):
    for name in ("TOKEN", "PASSWORD"):
        monkeypatch.delenv(f"VODAXA_ESO_{name}", raising=False)
    monkeypatch.setenv("VODAXA_ESO_USERNAME", "astro")
    previous = keyring.get_keyring()
    keyring.set_keyring(AstroqueryOnly())
    try:
        elsewhere = {"eso": {"token": "https://sso.example.org/token"}}
        with endpoints.override(elsewhere), pytest.raises(AuthError, match=r"stored for www\.eso\.org") as caught:
            login("eso")
    finally:
        keyring.set_keyring(previous)
    assert "astroquery-secret" not in str(caught.value)


def _jwt(exp: float) -> str:
    import base64
    import json

    part = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{part({'alg': 'none'})}.{part({'sub': 'astro', 'exp': exp})}.sig"


@pytest.mark.parametrize("age", [60.0, 0.0])
def test_a_token_born_expired_is_one_clear_error_not_a_login_per_file(monkeypatch, age):
    """An SSO whose clock (or ours) is off hands out tokens that are already dead: every file would log in
    again, twice, hammering the password; one login, then an AuthError that names the clocks."""
    import time

    logins: list[str] = []

    async def token(request: web.Request) -> web.Response:
        logins.append(await request.text())
        return web.json_response({"id_token": _jwt(time.time() - age)})

    app = web.Application()
    app.router.add_route("*", "/sso/oidc/token", token)
    server = AppThread(app)
    monkeypatch.setenv("VODAXA_ESO_USERNAME", "astro")
    monkeypatch.setenv("VODAXA_ESO_PASSWORD", "s3cret-marker")
    try:
        with endpoints.override({"eso": {"token": f"{server.base}/sso/oidc/token"}}):
            with pytest.raises(AuthError, match=r"already expired.*clock") as caught:
                login("eso", allow_http_loopback=True)
            assert len(logins) == 1 and "s3cret-marker" not in str(caught.value)
    finally:
        server.close()
