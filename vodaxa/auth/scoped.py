"""Scoped credentials: a secret goes only to the URLs of its realm, over https (or loopback http when
the user opts in), and never survives a redirect to another scheme, host or port.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..net.policy import is_loopback, origin, same_origin
from ..net.sync import Session

__all__ = ["Realm", "ScopedAuth", "ScopedSession", "is_loopback", "same_origin"]


@dataclass(frozen=True)
class Realm:
    """Where one credential may go: URL prefixes (scheme, host, port and path prefix all must match)."""

    name: str
    prefixes: tuple[str, ...]
    allow_http_loopback: bool = False

    def covers(self, url: str) -> bool:
        """Whether ``url`` belongs to this realm and may carry its credential."""
        scheme, host, _ = origin(url)
        if scheme != "https" and not (scheme == "http" and self.allow_http_loopback and is_loopback(host)):
            return False
        path = _normalised(urlsplit(url).path)
        for prefix in self.prefixes:
            base = urlsplit(prefix).path or "/"
            if same_origin(url, prefix) and _under(path, base):
                return True
        return False


def _under(path: str, base: str) -> bool:
    """Whether ``path`` is ``base`` or below it, on whole segments (``/tap_obs_evil`` is not under ``/tap_obs``)."""
    return path == base or path.startswith(base if base.endswith("/") else base + "/")


def _normalised(path: str) -> str:
    """``path`` with dot segments resolved as a client will send it (``/file/../../token`` is ``/token``), so a
    realm's path prefix cannot be escaped by ``..``."""
    import posixpath
    from urllib.parse import unquote

    decoded = unquote(path or "/")
    resolved = posixpath.normpath(decoded) if decoded.strip("/") else "/"
    if decoded.endswith("/") and not resolved.endswith("/"):
        resolved += "/"
    return "/" + resolved.lstrip("/")


class ScopedAuth:
    """Realms and the headers each adds; :meth:`headers_for` is what every request consults."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._realms: dict[str, tuple[Realm, Callable[[], Mapping[str, str]]]] = {}
        self._params: dict[str, tuple[Realm, Callable[[str], Mapping[str, str]]]] = {}

    def add(self, realm: Realm, headers: Callable[[], Mapping[str, str]]) -> None:
        """Attach ``headers()`` (called per request, so tokens can refresh) to URLs under ``realm``."""
        with self._lock:
            self._realms[realm.name] = (realm, headers)

    def add_params(self, realm: Realm, params: Callable[[str], Mapping[str, str]]) -> None:
        """Attach query parameters, chosen per URL (services taking credentials in the URL, like the XSA's AIO)."""
        with self._lock:
            self._params[realm.name] = (realm, params)

    def remove(self, name: str) -> None:
        """Forget a realm's credential."""
        with self._lock:
            self._realms.pop(name, None)
            self._params.pop(name, None)

    def params_for(self, url: str) -> dict[str, str]:
        """The credential query parameters for ``url`` (empty outside every realm)."""
        with self._lock:
            realms = list(self._params.values())
        for realm, params in realms:
            if realm.covers(url):
                return dict(params(url))
        return {}

    def has(self, name: str) -> bool:
        """Whether a credential is attached for realm ``name``."""
        with self._lock:
            return name in self._realms or name in self._params

    def realm_of(self, url: str) -> Realm | None:
        """The realm covering ``url``, if any."""
        with self._lock:
            realms = list(self._realms.values()) + list(self._params.values())
        return next((realm for realm, _ in realms if realm.covers(url)), None)

    def headers_for(self, url: str) -> dict[str, str]:
        """The credential headers for ``url`` (empty outside every realm)."""
        with self._lock:
            realms = list(self._realms.values())
        for realm, headers in realms:
            if realm.covers(url):
                return dict(headers())
        return {}


class ScopedSession(Session):
    """A sync session (for pyvo) carrying ``auth``'s credentials to their realms only (see :mod:`vodaxa.net`)."""

    def __init__(self, auth: ScopedAuth) -> None:
        super().__init__(headers_for=auth.headers_for, params_for=auth.params_for)
        self.scoped = auth
