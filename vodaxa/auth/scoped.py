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
    """Where one credential may go: URL prefixes, of which scheme, host, port and path prefix must all match.

    Parameters
    ----------
    name : str
        The realm's name: the archive whose credential it scopes (``"eso"``).
    prefixes : tuple of str
        The URLs under which the credential may go (the archive's services as the user configured them).
    allow_http_loopback : bool, optional
        Let the credential go over plain http to this machine (the sandbox); https only by default.

    Examples
    --------
    >>> from vodaxa.auth import Realm
    >>> realm = Realm("eso", ("https://archive.eso.org/tap_obs",))
    >>> realm.covers("https://archive.eso.org/tap_obs/sync?QUERY=...")
    True
    >>> realm.covers("https://archive.eso.org/tap_obs_evil/sync"), realm.covers("http://archive.eso.org/tap_obs")
    (False, False)
    """

    name: str
    prefixes: tuple[str, ...]
    allow_http_loopback: bool = False

    def covers(self, url: str) -> bool:
        """Whether a URL belongs to this realm and may carry its credential.

        Parameters
        ----------
        url : str
            The URL a request is about to go to (every redirect hop is asked again).

        Returns
        -------
        bool
            True when its origin is a prefix's (https, or loopback http when allowed) and its path, dot segments
            resolved, lies under the prefix's path on whole segments (``/tap_obs_evil`` is not under ``/tap_obs``).
        """
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
    """Realms and the credentials attached to them; :meth:`~ScopedAuth.headers_for` and
    :meth:`~ScopedAuth.params_for` are what every request consults, for every URL and redirect hop.

    The process has one, :func:`vodaxa.auth.scope`; :func:`vodaxa.login` and :func:`vodaxa.auth.use` add to it.
    Safe across threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._realms: dict[str, tuple[Realm, Callable[[], Mapping[str, str]]]] = {}
        self._params: dict[str, tuple[Realm, Callable[[str], Mapping[str, str]]]] = {}

    def add(self, realm: Realm, headers: Callable[[], Mapping[str, str]]) -> None:
        """Attach credential headers to the URLs of a realm (replacing what the realm's name had).

        Parameters
        ----------
        realm : Realm
            Where the headers may go.
        headers : callable
            ``headers() -> mapping``, called per request, so tokens can refresh.
        """
        with self._lock:
            self._realms[realm.name] = (realm, headers)

    def add_params(self, realm: Realm, params: Callable[[str], Mapping[str, str]]) -> None:
        """Attach credential query parameters to the URLs of a realm, for services taking credentials in the URL
        (the XSA's AIO).

        Parameters
        ----------
        realm : Realm
            Where the parameters may go.
        params : callable
            ``params(url) -> mapping``, chosen per URL (the XSA's per-ObsID credentials).
        """
        with self._lock:
            self._params[realm.name] = (realm, params)

    def remove(self, name: str) -> None:
        """Forget a realm's credential, headers and query parameters alike (no error if it had none).

        Parameters
        ----------
        name : str
            The realm's name.
        """
        with self._lock:
            self._realms.pop(name, None)
            self._params.pop(name, None)

    def params_for(self, url: str) -> dict[str, str]:
        """The credential query parameters a URL may carry.

        Parameters
        ----------
        url : str
            The URL a request is about to go to.

        Returns
        -------
        dict of str to str
            The parameters of the first realm covering it; empty outside every realm.
        """
        with self._lock:
            realms = list(self._params.values())
        for realm, params in realms:
            if realm.covers(url):
                return dict(params(url))
        return {}

    def has(self, name: str) -> bool:
        """Whether a credential is attached to a realm.

        Parameters
        ----------
        name : str
            The realm's name.

        Returns
        -------
        bool
            True when headers or query parameters are attached to it.
        """
        with self._lock:
            return name in self._realms or name in self._params

    def realm_of(self, url: str) -> Realm | None:
        """The realm covering a URL.

        Parameters
        ----------
        url : str
            The URL.

        Returns
        -------
        Realm or None
            The first realm with a credential attached that covers ``url``, or None.
        """
        with self._lock:
            realms = list(self._realms.values()) + list(self._params.values())
        return next((realm for realm, _ in realms if realm.covers(url)), None)

    def headers_for(self, url: str) -> dict[str, str]:
        """The credential headers a URL may carry.

        Parameters
        ----------
        url : str
            The URL a request is about to go to.

        Returns
        -------
        dict of str to str
            The headers of the first realm covering it (a token refreshed if need be); empty outside every realm.
        """
        with self._lock:
            realms = list(self._realms.values())
        for realm, headers in realms:
            if realm.covers(url):
                return dict(headers())
        return {}


class ScopedSession(Session):
    """A sync session (for pyvo) carrying a :class:`ScopedAuth`'s credentials to their realms only.

    A :class:`vodaxa.net.Session` (see :mod:`vodaxa.net` for the policy) that asks ``auth`` for every URL and
    redirect hop.

    Parameters
    ----------
    auth : ScopedAuth
        The credentials and their realms (kept as ``scoped``).
    """

    def __init__(self, auth: ScopedAuth) -> None:
        super().__init__(headers_for=auth.headers_for, params_for=auth.params_for)
        self.scoped = auth
