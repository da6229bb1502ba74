"""ESO's single sign-on in the sandbox: the OIDC token endpoint, Bearer checks, and who may see what.

* ``/sso/oidc/token`` answers ESO's password grant (GET with query parameters, as ESO's own helper and
  astroquery send it, or a POSTed form): ``response_type=id_token token``, ``grant_type=password``,
  ``client_id=clientid``, ``username``, ``password``.  It checks the sandbox's configured accounts and
  answers ``{access_token, id_token, token_type, expires_in, scope}``; the ``id_token`` is an HS256 JWT
  signed with a secret of this sandbox, and it (not the opaque ``access_token``) is the Bearer token the
  archive services take.  A wrong password is a 401 ``invalid_grant``, as from an OIDC server.
* Proprietary frames are the rows of ``dbo.raw`` whose ``release_date`` lies after the sandbox's "now";
  every one belongs to :data:`OWNER` (derived, not a column).  Anonymous requests see only public frames;
  a valid token sees public frames and its account's own.  TAP gets this as row filters
  (:meth:`EsoAuth.tap_access`), DataLink, calSelector and the dataportal through ``EsoLinks.authorized``.
* A Bearer token that is expired (or forged) counts as no token at the dataportal, which, like ESO's, then
  answers a protected file with its HTML login page and status 200 (astroquery#1272); TAP, DataLink and
  calSelector answer it with 401 and ``WWW-Authenticate: Bearer error="invalid_token"``, so clients refresh.
* ``/redirect-away?to=<loopback URL>`` answers 302 to ``to``: a fixture for checking that clients do not
  carry an archive's Authorization header to another host.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from html import escape
from typing import Any
from urllib.parse import urlencode

import numpy as np
from aiohttp import web
from yarl import URL

from ....net.policy import is_loopback
from ...protocols.uws import Access

__all__ = [
    "CLIENT_ID",
    "OWNER",
    "REDIRECT_PATH",
    "TOKEN_PATH",
    "EsoAuth",
    "TokenIssuer",
    "bearer_token",
    "login_page",
    "redirect_away",
]

TOKEN_PATH = "/sso/oidc/token"
REDIRECT_PATH = "/redirect-away"
#: The OIDC client ESO's tools name, and so the ``aud`` of every id_token.
CLIENT_ID = "clientid"
#: The account every proprietary frame of dbo.raw belongs to.
OWNER = "astro"
_MJD_UNIX = 40587.0
_USER = web.RequestKey("vodaxa_eso_user", tuple)  # (user or None, why a token sent was refused or None)


# ------------------------------------------------------------------------------------- tokens


def _b64(data: bytes) -> str:
    """base64url without padding, as JWTs spell their parts."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    """The bytes of a base64url JWT part (padding restored)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    """Issues and checks the sandbox's id_tokens: HS256 JWTs for the configured accounts."""

    def __init__(self, accounts: Mapping[str, str], lifetime: float) -> None:
        self.accounts = dict(accounts)
        self.lifetime = lifetime
        self.issued = 0  # tokens handed out, so tests can see refreshes
        self._secret = secrets.token_bytes(32)  # per sandbox: its tokens mean nothing to another one

    def password_ok(self, username: str, password: str) -> bool:
        """Whether ``username`` is an account with this password (compared in constant time)."""
        known = self.accounts.get(username)
        return known is not None and hmac.compare_digest(known.encode(), password.encode())

    def sign(self, claims: Mapping[str, Any]) -> str:
        """The compact HS256 JWT carrying ``claims``."""
        head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "sandbox"}, separators=(",", ":")).encode())
        body = _b64(json.dumps(dict(claims), separators=(",", ":")).encode())
        signature = hmac.new(self._secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{_b64(signature)}"

    def issue(self, username: str, issuer: str) -> dict[str, Any]:
        """The token answer for ``username``: an id_token valid for ``lifetime`` seconds from now."""
        iat = int(time.time())
        exp = iat + self.lifetime
        claims = {
            "iss": issuer,
            "aud": CLIENT_ID,
            "sub": username,
            "preferred_username": username,
            "client_id": CLIENT_ID,
            "iat": iat,
            "nbf": iat,
            "exp": int(exp) if float(exp).is_integer() else exp,
            "jti": secrets.token_hex(8),
        }
        self.issued += 1
        return {
            "access_token": secrets.token_hex(16),
            "id_token": self.sign(claims),
            "token_type": "bearer",
            "expires_in": round(self.lifetime),
            "scope": "",
        }

    def check(self, token: str) -> tuple[dict[str, Any] | None, str]:
        """(claims, "") for a valid token, else (None, why not): malformed, forged, expired, unknown account."""
        parts = token.split(".")
        if len(parts) != 3:
            return None, "the token is not a JWT"
        try:
            header, claims = json.loads(_unb64(parts[0])), json.loads(_unb64(parts[1]))
            signature = _unb64(parts[2])
        except (ValueError, binascii.Error):
            return None, "the token is not a JWT"
        expected = hmac.new(self._secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        if not isinstance(header, dict) or header.get("alg") != "HS256" or not hmac.compare_digest(signature, expected):
            return None, "the token signature is invalid"
        if not isinstance(claims, dict) or claims.get("aud") != CLIENT_ID or claims.get("sub") not in self.accounts:
            return None, "the token was not issued to this client for a known account"
        exp = claims.get("exp")
        if not isinstance(exp, (int, float)) or exp <= time.time():
            return None, "the token has expired"
        return claims, ""

    def verify(self, token: str) -> dict[str, Any] | None:
        """The claims of a valid, unexpired token of this sandbox, else None."""
        return self.check(token)[0]

    async def token_endpoint(self, request: web.Request) -> web.Response:
        """``/sso/oidc/token``: ESO's password grant, GET (query parameters) or POST (form)."""
        params = dict(request.query)
        if request.method == "POST":
            params |= {k: str(v) for k, v in (await request.post()).items()}
        if params.get("grant_type") != "password":
            return _oidc_error(400, "unsupported_grant_type", "only grant_type=password is supported")
        if params.get("client_id") != CLIENT_ID:
            return _oidc_error(401, "invalid_client", f"unknown client; ESO's tools send client_id={CLIENT_ID}")
        username, password = params.get("username", ""), params.get("password", "")
        if not username or not password:
            return _oidc_error(400, "invalid_request", "username and password are required")
        if not self.password_ok(username, password):
            return _oidc_error(401, "invalid_grant", "Invalid user credentials")
        answer = self.issue(username, f"{request.scheme}://{request.host}")
        return web.json_response(answer, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def _oidc_error(status: int, error: str, description: str) -> web.Response:
    """An OAuth 2.0 error answer (RFC 6749 section 5.2)."""
    return web.json_response({"error": error, "error_description": description}, status=status)


def bearer_token(request: web.Request) -> str | None:
    """The token of an ``Authorization: Bearer ...`` header, or None (no header, another scheme)."""
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


# ------------------------------------------------------------------------------------- protection


class EsoAuth:
    """Who a request is and what it may see: proprietary frames of dbo.raw belong to :data:`OWNER`."""

    def __init__(
        self,
        issuer: TokenIssuer,
        raw: Mapping[str, np.ndarray],
        now_mjd: float,
        *,
        protected: tuple[str, ...] = ("dbo.raw",),
    ) -> None:
        self.issuer = issuer
        #: The tap_obs tables (qualified, lower case) showing dbo.raw's frames, so filtered as it is (its ist views).
        self.protected = protected
        self.now = np.datetime64(round((now_mjd - _MJD_UNIX) * 86_400_000), "ms")
        stamp = str(self.now).replace("T", " ")
        #: The owner of a dbo.raw row as SQL on its columns (NULL: public); :meth:`owner` says the same in Python.
        self.owner_sql = f"CASE WHEN release_date > TIMESTAMP '{stamp}' THEN '{OWNER}' END"
        self._release = {str(d): r for d, r in zip(raw["dp_id"], raw["release_date"])}

    def add_routes(self, app: web.Application) -> None:
        """The token endpoint and the redirect fixture."""
        app.router.add_get(TOKEN_PATH, self.issuer.token_endpoint)
        app.router.add_post(TOKEN_PATH, self.issuer.token_endpoint)
        app.router.add_get(REDIRECT_PATH, redirect_away)

    def user(self, request: web.Request, *, strict: bool) -> str | None:
        """The account of the request's valid token, None if anonymous; ``strict``: a refused token is a 401."""
        if _USER not in request:
            token = bearer_token(request)
            claims, problem = self.issuer.check(token) if token else (None, "")
            request[_USER] = (claims["sub"] if claims else None, problem or None)
        user, problem = request[_USER]
        if problem and strict:
            raise _invalid_token(problem)
        return user

    def owner(self, dp_id: str) -> str | None:
        """Who a dataset belongs to: :data:`OWNER` for a dbo.raw frame not yet released, else None (public)."""
        release = self._release.get(dp_id)
        return OWNER if release is not None and release > self.now else None

    def may_see(self, user: str | None, dp_id: str) -> bool:
        """Whether ``user`` (None: anonymous) may see ``dp_id``: public data, or data of their own."""
        owner = self.owner(dp_id)
        return owner is None or owner == user

    def authorized(self, request: web.Request, dp_id: str) -> bool:
        """Whether ``request`` may have ``dp_id``; a refused token counts as none (see :meth:`require_valid_token`)."""
        return self.may_see(self.user(request, strict=False), dp_id)

    def require_valid_token(self, request: web.Request) -> None:
        """Answer 401 ``invalid_token`` if the request sent a Bearer token that is expired or not ours."""
        self.user(request, strict=True)

    def tap_access(self, request: web.Request) -> Access:
        """tap_obs's hook: dbo.raw and its ist views show public rows and the requester's own; a bad token is a 401."""
        user = self.user(request, strict=True)
        mine = f" OR ({self.owner_sql}) = '{user.replace(chr(39), chr(39) * 2)}'" if user else ""
        return Access(owner=user, filters=dict.fromkeys(self.protected, f"({self.owner_sql}) IS NULL{mine}"))


def _invalid_token(description: str) -> web.HTTPUnauthorized:
    """RFC 6750's answer to a Bearer token that cannot be used: 401, JSON, and the WWW-Authenticate challenge."""
    body = json.dumps({"error": "invalid_token", "error_description": description})
    challenge = f'Bearer error="invalid_token", error_description="{description}"'
    return web.HTTPUnauthorized(text=body, content_type="application/json", headers={"WWW-Authenticate": challenge})


def login_page(request: web.Request) -> web.Response:
    """ESO's single sign-on login page, status 200: what the dataportal sends for protected files without a login."""
    action = escape("/sso/login?" + urlencode({"service": str(request.url)}), quote=True)
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>ESO Single Sign On - Login</title>'
        "</head><body><h1>ESO User Portal</h1>"
        "<p>Please log in to access this resource.</p>"
        f'<form id="fm1" method="post" action="{action}">'
        '<label for="username">Username</label><input id="username" name="username" type="text">'
        '<label for="password">Password</label><input id="password" name="password" type="password">'
        '<input type="submit" name="submit" value="LOGIN"></form></body></html>\n'
    )
    return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})


# ------------------------------------------------------------------------------------- redirect fixture


async def redirect_away(request: web.Request) -> web.Response:
    """``/redirect-away?to=<url>``: 302 to a loopback URL (400 for anything else), for scoped-auth tests."""
    target = request.query.get("to", "")
    try:
        url = URL(target)
    except ValueError:
        url = URL()
    if url.scheme not in ("http", "https") or not is_loopback(url.host):
        raise web.HTTPBadRequest(text="'to' must be an http(s) URL on this machine (localhost or a loopback address)")
    raise web.HTTPFound(target)
