"""Credentials: where they live (keyring, environment), archive logins (ESO tokens), and the scoping
that keeps each secret on its own archive's hosts.

    vodaxa.login("eso")            # username/password from the environment, keyring or a prompt
    vodaxa.whoami()                # {'eso': 'astro (token valid for 3590 s)'}
    vodaxa.logout("eso")
"""

from __future__ import annotations

from typing import Any

from ..errors import AuthError
from .credentials import Credential, find, forget, keyring_service, remember
from .scoped import Realm, ScopedAuth, ScopedSession

__all__ = [
    "Credential", "Realm", "ScopedAuth", "ScopedSession", "ensure", "find", "forget", "keyring_service", "login",
    "logout",
    "remember", "scope", "session", "use", "whoami",
]  # fmt: skip

_SCOPE = ScopedAuth()
_LOGINS: dict[str, Any] = {}  # archive -> its token object (see vodaxa.archives.Archive.login)


def scope() -> ScopedAuth:
    """The process's scoped credentials, consulted by every vodaxa request."""
    return _SCOPE


def session() -> ScopedSession:
    """A requests session (for pyvo) that carries each credential only to its realm."""
    return ScopedSession(_SCOPE)


def _archive(name: str, kind: str) -> Any:
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
    credentials: Any = None,
    prompt: bool = False,
    store: bool = False,
    allow_http_loopback: bool = False,
) -> Any:
    """Log in to ``archive`` (ESO): find the credential, get a token, and scope it to the archive's services.

    ``allow_http_loopback`` lets the token go over plain http to 127.0.0.1 (the sandbox); never elsewhere.
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
    token = described.attr(described.login)(credential)
    token.login()
    if store and credential.kind == "password" and credential.source != "keyring":
        remember(credential)
    _LOGINS[archive] = token
    _SCOPE.add(described.realm(allow_http_loopback=allow_http_loopback), token.headers)
    return token


def use(
    archive: str, username: str | None = None, *, credentials: Any = None, allow_http_loopback: bool = False
) -> None:
    """Send ``archive``'s credentials with its requests (the XSA: AIOUSER/AIOPWD on AIO URLs).

    ``credentials`` may also be DAXA's per-ObsID form, ``{obsid: {'user': ..., 'password': ...}}``:
    each observation's tarballs then go with their own PI's credentials.
    """
    described = _archive(archive, "query")
    archive = described.name
    per_obs: dict[str, Credential] = {}
    default: Credential | None = None
    if isinstance(credentials, dict) and credentials and all(str(k).isdigit() for k in credentials):
        per_obs = {str(k).zfill(10): find(archive, credentials=v) for k, v in credentials.items()}  # type: ignore[misc]
    else:
        default = find(archive, username=username, credentials=credentials)
        if default is None or not default.username:
            upper = archive.upper()
            raise AuthError(f"no {upper} credentials found: set VODAXA_{upper}_USERNAME and VODAXA_{upper}_PASSWORD, "
                            "or store them")  # fmt: skip
    params = described.attr(described.login)(default, per_obs)
    _SCOPE.add_params(described.realm(allow_http_loopback=allow_http_loopback), params)


def ensure(archive: str) -> bool:
    """Make ``archive``'s credentials active if they are not yet: log in (ESO) or attach them (XSA) from the
    environment or the keyring, never prompting.  False when none are stored (the caller says what to do).

    Plain http is allowed only when the archive's services are on this machine (the sandbox).
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
    """Forget the archive's token (and stop sending it anywhere)."""
    token = _LOGINS.pop(archive, None)
    if token is not None:
        token.invalidate()
    _SCOPE.remove(archive)


def rejected(url: str) -> bool:
    """A server turned a credential down at ``url``: drop the token so the next try logs in again."""
    realm = _SCOPE.realm_of(url)
    token = _LOGINS.get(realm.name) if realm else None
    if token is None:
        return False
    token.invalidate()
    return True


def whoami() -> dict[str, str]:
    """Who is logged in where, and for how long the token stays valid."""
    import time

    return {
        name: f"{t.credential.username} (token valid for {max(0, t.expires - time.time()):.0f} s)"
        for name, t in _LOGINS.items()
    }
