"""ESO's OIDC login: an id_token from the SSO token endpoint, kept in memory, refreshed before it expires
and again when a server rejects it, and sent only to ESO's archive services.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit

import requests

from ... import net
from ...auth.credentials import Credential
from ...auth.scoped import Realm, is_loopback
from ...config import endpoints
from ...errors import AuthError, ServiceError
from ...net.policy import ambiguous
from ...redact import register

__all__ = ["EsoToken", "eso_realm", "token_expiry"]

log = logging.getLogger(__name__)


def token_expiry(token: str) -> float:
    """The ``exp`` claim (Unix seconds) of a JWT, read without checking the signature (ESO checks it)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        expiry = float(claims["exp"])
        if not math.isfinite(expiry):
            raise ValueError(f"exp is {claims['exp']!r}")
        return expiry
    except (IndexError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise AuthError(f"the ESO token endpoint answered a token that is not a JWT with an expiry ({err})") from None


def eso_realm(*, allow_http_loopback: bool = False) -> Realm:
    """The URLs an ESO token may go to: tap_obs, DataLink, calSelector and the dataportal (the archive's realm)."""
    from . import ARCHIVE

    return ARCHIVE.realm(allow_http_loopback=allow_http_loopback)


#: The host ESO's single sign-on runs on: the only one a password kept for astroquery is ever sent to.
ESO_SSO_HOST = "www.eso.org"


def check_token_url(url: str, source: str) -> None:
    """Refuse to send a password where it does not belong: over plain http to anything but this machine, and
    a password stored for astroquery to any host but ESO's own (the user stored it for that host alone)."""
    if ambiguous(url):
        raise AuthError(f"{ambiguous(url)}: no password is sent there (check the 'eso.token' endpoint)")
    parts = urlsplit(url)
    if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback(parts.hostname)):
        raise AuthError(f"the ESO token endpoint {url} is not https; vodaxa sends no password over plain http")
    if source == "astroquery keyring" and parts.hostname != ESO_SSO_HOST:
        raise AuthError(
            f"the password in astroquery's keyring entry was stored for {ESO_SSO_HOST}, and the token endpoint is "
            f"{parts.hostname}; vodaxa does not send it there (set VODAXA_ESO_USERNAME and VODAXA_ESO_PASSWORD, "
            "or 'vodaxa login eso --store', for that host)"
        )


#: Seconds after a login during which refusals do not cause another one.
FRESH = 30.0


@dataclass
class EsoToken:
    """A logged-in ESO identity: the credential (in memory only) and the current id_token."""

    credential: Credential
    timeout: float = 30.0
    margin: float = 60.0  # refresh this many seconds before expiry (shorter for short-lived tokens)
    _token: str | None = field(default=None, repr=False)
    _expires: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    refreshes: int = 0
    _logged_at: float = -1e18  # when the last login's token was obtained (time.monotonic())
    _issued: str | None = field(default=None, repr=False)  # the token that login obtained

    def __repr__(self) -> str:
        left = max(0.0, self._expires - time.time())
        return f"EsoToken(user={self.credential.username!r}, valid for {left:.0f} s, token=***)"

    def login(self) -> None:
        """Get a fresh id_token; a wrong password is an AuthError at once (no retries that could lock the account)."""
        if self.credential.kind == "token":
            self._token, self._expires = self.credential.secret, token_expiry(self.credential.secret)
            return
        url = endpoints.get("eso", "token", trusted=True)
        check_token_url(url, self.credential.source)
        params = {
            "response_type": "id_token token",
            "grant_type": "password",
            "client_id": "clientid",
            "username": self.credential.username or "",
            "password": self.credential.secret,
        }
        try:
            # POST, as RFC 6749 asks of token endpoints: a password in a query string ends up in request logs
            # never followed: a redirect must not carry the password to another URL (a 307/308 re-POSTs it)
            answer = net.session(credentials=False).request(
                "POST", url, data=params, timeout=self.timeout, allow_redirects=False, secret_body=True
            )
        except requests.RequestException as err:
            raise ServiceError(
                f"the ESO token endpoint {url} could not be reached ({type(err).__name__})", url=url
            ) from None
        if answer.is_redirect or 300 <= answer.status_code < 400:
            raise ServiceError(
                f"the ESO token endpoint {url} answered a redirect ({answer.status_code}); the password is not sent "
                "on: check the 'eso.token' endpoint (vodaxa config show)",
                url=url,
                status=answer.status_code,
            )
        if answer.status_code in (400, 401, 403):
            raise AuthError(f"ESO refused the login of '{self.credential.username}': wrong username or password")
        if answer.status_code != 200:
            raise ServiceError(
                f"the ESO token endpoint answered HTTP {answer.status_code}", url=url, status=answer.status_code
            )
        try:
            answered = answer.json()
        except ValueError:
            answered = None
        token = answered.get("id_token") if isinstance(answered, dict) else None
        if not isinstance(token, str) or token.count(".") != 2:
            raise ServiceError(
                "the ESO token endpoint did not answer a token (no JWT id_token in its JSON)", url=url
            ) from None
        register(token)  # a bearer token is as secret as the password
        expires = token_expiry(token)
        if expires <= time.time() + 1.0:  # logging in again would only fetch another dead token (and lock accounts)
            stamp = datetime.fromtimestamp(expires, timezone.utc).isoformat(timespec="seconds")
            now = datetime.now(timezone.utc).isoformat(timespec="seconds")
            raise AuthError(
                f"ESO's token endpoint issued a token that has already expired (at {stamp}; this machine's clock says "
                f"{now}): check the clock, or the 'eso.token' endpoint (vodaxa config show)"
            )
        lifetime = max(1.0, expires - time.time())
        with self._lock:
            self._token, self._expires = token, expires
            self.margin = min(self.margin, lifetime / 5)
            self.refreshes += 1
            self._logged_at, self._issued = time.monotonic(), token
        log.info("logged in to ESO as %s; the token is valid for %.0f s", self.credential.username, lifetime)

    def valid(self) -> bool:
        """Whether the token is present and not about to expire."""
        return self._token is not None and time.time() < self._expires - self.margin

    def headers(self) -> dict[str, str]:
        """The Authorization header, logging in again first if the token is (nearly) expired."""
        if not self.valid():
            self.login()
        return {"Authorization": f"Bearer {self._token}"}

    def invalidate(self) -> None:
        """Forget the token (a server rejected it) so the next request logs in again; but a token obtained less
        than :data:`FRESH` seconds ago is kept: the refusals of a burst sent with the old token must not each
        cost a login (ESO locks accounts after repeated password logins), and a fresh token refused is not
        cured by another."""
        with self._lock:
            if self._token is not None and self._token == self._issued and time.monotonic() - self._logged_at < FRESH:
                return
            self._token, self._expires = None, 0.0

    @property
    def expires(self) -> float:
        """Unix time at which the current token expires."""
        return self._expires
