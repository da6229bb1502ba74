"""Credentials: where they live (keyring, environment), archive logins (ESO tokens), and the scoping
that keeps each secret on its own archive's hosts::

    vodaxa.login("eso")            # username/password from the environment, keyring or a prompt
    vodaxa.whoami()                # {'eso': 'astro (token valid for 28799 s)'}: ESO's tokens last 8 hours
    vodaxa.logout("eso")

:func:`login` shows the same against the sandbox, run as an example.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeAlias, cast

from ..errors import AuthError
from .credentials import Credential, CredentialSource, Token, find, forget, keyring_service, remember
from .scoped import Realm, ScopedAuth, ScopedSession

if TYPE_CHECKING:
    from ..archives import Archive, QueryLogin, TokenLogin

__all__ = [
    "Credential", "Realm", "ScopedAuth", "ScopedSession", "Token", "ensure", "find", "forget", "keyring_service",
    "login", "logout", "remember", "scope", "session", "use", "whoami",
]  # fmt: skip

#: DAXA's per-observation form of the XSA's credentials: ``{obsid: {"user": ..., "password": ...}}``.
PerObservation: TypeAlias = "Mapping[str, Mapping[str, str]]"

_SCOPE = ScopedAuth()
_LOGINS: dict[str, Token] = {}  # archive -> its token object (see vodaxa.archives.Archive.login)


def scope() -> ScopedAuth:
    """The process's scoped credentials, consulted by every vodaxa request.

    Returns
    -------
    ScopedAuth
        The one table of realms and the credentials attached to them (:func:`login` and :func:`use` add to it).
    """
    return _SCOPE


def session() -> ScopedSession:
    """Make a requests session (for pyvo) that carries each active credential only to its realm.

    Returns
    -------
    ScopedSession
        A :class:`vodaxa.net.Session` consulting :func:`scope` for every URL and redirect hop.
    """
    return ScopedSession(_SCOPE)


def _archive(name: str, kind: str) -> Archive:
    """The registered archive called ``name`` (any case) whose credentials travel as ``kind``, or an AuthError
    saying where they do."""
    from .. import archives

    known = archives.by_name()
    key = str(name).strip().lower()
    logins = [a.name.upper() for a in known.values() if a.credentials == "token"]
    per_request = [a.name.upper() for a in known.values() if a.credentials == "query"]
    described = known.get(key)
    if described is None:
        raise AuthError(f"unknown archive '{name}'; credentials are for {', '.join(logins + per_request)}")
    if described.credentials != kind:
        if kind == "token":
            how = "per request (vodaxa.auth.use)" if described.credentials == "query" else "none"
            raise AuthError(f"logging in is for {', '.join(logins)}; {key.upper()} takes credentials {how}")
        how = "a login (vodaxa.login)" if described.credentials == "token" else "no credentials"
        raise AuthError(f"per-request credentials are for the {', '.join(per_request)}; {key.upper()} takes {how}")
    return described


def login(
    archive: str,
    username: str | None = None,
    *,
    credentials: CredentialSource | None = None,
    prompt: bool = False,
    store: bool = False,
    allow_http_loopback: bool = False,
) -> Token:
    """Log in to an archive whose credentials travel as a token (ESO): find the credential, get a token, and scope
    it to the archive's services.

    From then on, vodaxa's requests to the archive's services (queries, DataLink, downloads) carry the token,
    and only those; an expired or refused token is renewed once.

    Parameters
    ----------
    archive : str
        The archive, any case (``"eso"``).
    username : str, optional
        Whose credential to use (else ``VODAXA_<ARCHIVE>_USERNAME``, else the username remembered in the keyring).
    credentials : Credential, dict, str or os.PathLike, optional
        The credential outright: a :class:`Credential`, DAXA's ``{"user": ..., "password": ...}``, or the path of
        an ini file holding them.  By default it is looked for (:func:`find`): ``VODAXA_<ARCHIVE>_TOKEN``, or
        ``VODAXA_<ARCHIVE>_USERNAME`` and ``VODAXA_<ARCHIVE>_PASSWORD``, then the keyring.
    prompt : bool, optional
        Ask for the password at the terminal when none is found (False by default).
    store : bool, optional
        Keep a password found elsewhere than the keyring in the keyring, for later sessions (False by default).
    allow_http_loopback : bool, optional
        Let the token go over plain http to this machine (the sandbox on 127.0.0.1); never elsewhere.

    Returns
    -------
    Token
        The logged-in identity (ESO's ``EsoToken``): ``headers()``, ``expires``, ``invalidate()``.

    Raises
    ------
    vodaxa.errors.AuthError
        If the archive is unknown or takes no login, no credential is found, or the archive refuses it.
    vodaxa.errors.ServiceError
        If the archive's login service cannot be reached or answers something else.

    See Also
    --------
    whoami : who is logged in where.
    logout : forget a login.

    Examples
    --------
    The sandbox's ESO account, on 127.0.0.1 (hence ``allow_http_loopback``); with the real ESO, set
    ``VODAXA_ESO_USERNAME`` and ``VODAXA_ESO_PASSWORD`` (or store them: ``vodaxa login eso --store``) and call
    ``vodaxa.login("eso")``.

    >>> import vodaxa
    >>> token = vodaxa.login("eso", credentials={"user": "astro", "password": "correct horse"},
    ...                      allow_http_loopback=True)
    >>> vodaxa.whoami()
    {'eso': 'astro (token valid for ... s)'}
    >>> vodaxa.logout("eso")
    >>> vodaxa.whoami()
    {}
    """
    described = _archive(archive, "token")
    archive = described.name
    credential = find(archive, username=username, credentials=credentials, prompt=prompt)
    if credential is None:
        upper = archive.upper()
        raise AuthError(
            f"no {upper} credentials found: set VODAXA_{upper}_USERNAME and VODAXA_{upper}_PASSWORD (or "
            f"VODAXA_{upper}_TOKEN), store them in the keyring ('vodaxa login {archive} --store', or "
            "vodaxa.auth.remember), or log in interactively (login(..., prompt=True))"
        )
    make = cast("TokenLogin", described.attr(described.login))  # the Archive's contract for credentials="token"
    token = make(credential)
    token.login()
    if store and credential.kind == "password" and credential.source != "keyring":
        remember(credential)
    _LOGINS[archive] = token
    _SCOPE.add(described.realm(allow_http_loopback=allow_http_loopback), token.headers)
    return token


def use(
    archive: str,
    username: str | None = None,
    *,
    credentials: CredentialSource | PerObservation | None = None,
    allow_http_loopback: bool = False,
) -> None:
    """Send an archive's credentials with its requests, for archives that take them per request (the XSA:
    AIOUSER/AIOPWD on AIO URLs).

    Parameters
    ----------
    archive : str
        The archive, any case (``"xsa"``).
    username : str, optional
        Whose credential to use (else ``VODAXA_<ARCHIVE>_USERNAME``, else the username remembered in the keyring).
    credentials : Credential, dict, str or os.PathLike, optional
        The credential outright (a :class:`Credential`, DAXA's ``{"user": ..., "password": ...}``, or an ini file's
        path), or DAXA's per-ObsID form, ``{obsid: {"user": ..., "password": ...}}``: each observation's
        tarballs then go with their own PI's credentials.  By default it is looked for (:func:`find`).
    allow_http_loopback : bool, optional
        Let the credentials go over plain http to this machine (the sandbox on 127.0.0.1); never elsewhere.

    Raises
    ------
    vodaxa.errors.AuthError
        If the archive is unknown or takes its credentials otherwise, or no credential is found.
    """
    described = _archive(archive, "query")
    archive = described.name
    per_obs: dict[str, Credential] = {}
    default: Credential | None = None
    if isinstance(credentials, dict) and credentials and all(str(k).isdigit() for k in credentials):
        found = {str(k).zfill(10): find(archive, credentials=v) for k, v in credentials.items()}
        per_obs = {obs: credential for obs, credential in found.items() if credential is not None}
    else:
        given = cast("CredentialSource | None", credentials)  # a table keyed otherwise than by ObsID: find refuses it
        default = find(archive, username=username, credentials=given)
        if default is None or not default.username:
            upper = archive.upper()
            raise AuthError(f"no {upper} credentials found: set VODAXA_{upper}_USERNAME and VODAXA_{upper}_PASSWORD, "
                            "or store them")  # fmt: skip
    make = cast("QueryLogin", described.attr(described.login))  # the Archive's contract for credentials="query"
    params = make(default, per_obs)
    _SCOPE.add_params(described.realm(allow_http_loopback=allow_http_loopback), params)


def ensure(archive: str) -> bool:
    """Make an archive's credentials active if they are not yet: log in (ESO) or attach them (XSA) from the
    environment or the keyring, never prompting.

    Plain http is allowed only when the archive's services are on this machine (the sandbox).
    ``vodaxa.download`` calls it for manifests holding files that need credentials.

    Parameters
    ----------
    archive : str
        The archive's name (``"eso"``, ``"xsa"``).

    Returns
    -------
    bool
        True when credentials are active (already, or now); False when none are stored, or the archive takes
        none (the caller says what to do).

    Raises
    ------
    vodaxa.errors.AuthError
        If stored credentials are refused by the archive.
    vodaxa.errors.ServiceError
        If the archive's login service cannot be reached.
    """
    if _SCOPE.has(archive):
        return True
    from urllib.parse import urlsplit

    from ..config import endpoints
    from .scoped import is_loopback

    services = endpoints.table().get(archive, {})
    loopback = bool(services) and all(is_loopback(urlsplit(u).hostname) for u in services.values())
    from .. import archives

    kind = getattr(archives.by_name().get(archive), "credentials", None)
    if kind is None or find(archive) is None:
        return False
    if kind == "token":
        login(archive, allow_http_loopback=loopback)
    else:
        use(archive, allow_http_loopback=loopback)
    return True


def logout(archive: str) -> None:
    """Forget an archive's login or per-request credentials, and stop sending them anywhere.

    Stored credentials (environment, keyring) stay; :func:`forget` removes a stored password.

    Parameters
    ----------
    archive : str
        The archive's name (``"eso"``, ``"xsa"``); one not logged in is no error.
    """
    token = _LOGINS.pop(archive, None)
    if token is not None:
        token.invalidate()
    _SCOPE.remove(archive)


def rejected(url: str) -> bool:
    """Tell the logins that a server turned a credential down at ``url``: its token is dropped, so the next try
    logs in again.

    Parameters
    ----------
    url : str
        The URL that refused the credential.

    Returns
    -------
    bool
        True when a token was dropped (trying again may help); False when no login covers ``url``.
    """
    realm = _SCOPE.realm_of(url)
    token = _LOGINS.get(realm.name) if realm else None
    if token is None:
        return False
    token.invalidate()
    return True


def whoami() -> dict[str, str]:
    """Who is logged in where, and for how long the token stays valid.

    Returns
    -------
    dict of str to str
        Archive -> ``"<username> (token valid for <seconds> s)"``; empty when nobody is logged in.

    See Also
    --------
    login : its example shows ``whoami`` after a login.
    """
    import time

    return {
        name: f"{t.credential.username} (token valid for {max(0, t.expires - time.time()):.0f} s)"
        for name, t in _LOGINS.items()
    }
