"""Where credentials come from: what the caller gives (DAXA's forms too), the environment, keyring, or a
prompt when the caller asks for one.  Secrets never appear in a repr, a log line or an error message.
"""

from __future__ import annotations

import configparser
import getpass
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Protocol, TypeAlias
from urllib.parse import urlsplit

from ..config import endpoints
from ..errors import AuthError
from ..redact import register

__all__ = [
    "Credential", "CredentialSource", "Token", "find", "forget", "keyring_service", "remember", "remember_username",
    "remembered_username",
]  # fmt: skip

#: The keyring entry (under the archive's service) that holds the last username used, not a secret.
_USERNAME_KEY = "__vodaxa_username__"

log = logging.getLogger(__name__)

#: The URL whose host names each archive's keyring entry (``vodaxa:<host>``).
_REALM_URLS = {"eso": ("eso", "token"), "xsa": ("xsa", "aio"), "heasarc": ("heasarc", "tap"), "cxc": ("cxc", "tap")}
#: astroquery's keyring services, read when vodaxa has none of its own.
_ASTROQUERY = {"eso": "astroquery:www.eso.org", "xsa": "xmm_newton"}


@dataclass(frozen=True)
class Credential:
    """A username and password (or a token) for one archive; the secret is never shown.

    Made, the secret is registered for redaction: from then on no message, log record or report shows it.

    Parameters
    ----------
    archive : str
        The archive it is for (``"eso"``, ``"xsa"``...).
    username : str or None
        The user name (None for a bare token).
    secret : str
        The password or token; left out of ``repr`` and ``str``.
    kind : str, optional
        ``"password"`` (the default) or ``"token"``.
    source : str, optional
        Where it was found: ``"given"`` (the default), ``"environment"``, ``"keyring"``,
        ``"astroquery keyring"``, ``"prompt"`` or ``"file"``.
    """

    archive: str
    username: str | None
    secret: str = field(repr=False)
    kind: str = "password"  # or "token"
    source: str = "given"  # given, environment, keyring, astroquery keyring, prompt, file

    def __post_init__(self) -> None:
        register(self.secret)  # from now on no message, log record or report can show it

    def __repr__(self) -> str:
        return f"Credential(archive={self.archive!r}, username={self.username!r}, kind={self.kind!r}, secret=***)"

    __str__ = __repr__


#: What a caller may give as credentials: a :class:`Credential`, DAXA's ``{"user": ..., "password": ...}`` dict,
#: or the path of an ini file with a section holding ``username`` (or ``user``) and ``password``.
CredentialSource: TypeAlias = "Credential | Mapping[str, str] | str | os.PathLike[str]"


class Token(Protocol):
    """A logged-in identity at an archive whose credentials travel as a token (ESO's), as ``vodaxa.login``
    returns it; an :class:`~vodaxa.archives.Archive`'s ``login`` makes one from a :class:`Credential`.

    Parameters
    ----------
    *args, **kwargs
        None: a protocol is a shape to implement (an archive's token class), not a class to instantiate.
    """

    @property
    def credential(self) -> Credential:
        """The credential the token was obtained with (kept in memory only, to log in again)."""
        ...

    @property
    def expires(self) -> float:
        """Unix time at which the current token expires."""
        ...

    def login(self) -> None:
        """Obtain a fresh token.

        Raises
        ------
        vodaxa.errors.AuthError
            If the archive refuses the credential.
        vodaxa.errors.ServiceError
            If the archive's login service cannot be reached or answers something else.
        """
        ...

    def headers(self) -> Mapping[str, str]:
        """The headers that carry the token, logging in again first if it is (nearly) expired.

        Returns
        -------
        collections.abc.Mapping of str to str
            ``{"Authorization": "Bearer ..."}`` or the like.
        """
        ...

    def invalidate(self) -> None:
        """Forget the token (a server refused it), so the next request logs in again."""
        ...


def keyring_service(archive: str) -> str:
    """vodaxa's keyring service name for an archive.

    Parameters
    ----------
    archive : str
        An archive that takes credentials (``"eso"``, ``"xsa"``, ``"heasarc"``, ``"cxc"``).

    Returns
    -------
    str
        ``vodaxa:<host of the archive's service>[:<port>]``; the port keeps two archives on one host apart (the
        sandbox's, all on 127.0.0.1).

    Raises
    ------
    vodaxa.errors.AuthError
        If the archive uses no credentials.
    """
    service = _REALM_URLS.get(archive)
    if service is None:
        raise AuthError(f"no credentials are used for archive '{archive}'; known: {', '.join(_REALM_URLS)}")
    parts = urlsplit(endpoints.get(*service))
    try:
        port = parts.port
    except ValueError:
        port = None
    return "vodaxa:" + (parts.hostname or archive) + (f":{port}" if port else "")


def _env(archive: str, what: str) -> str | None:
    return os.environ.get(f"VODAXA_{archive.upper()}_{what}") or None


def _keyring() -> ModuleType | None:
    """The keyring module, or None if it cannot be imported (a broken install still gets a useful message)."""
    try:
        import keyring
    except ImportError:
        return None
    return keyring


def _from_keyring(archive: str, username: str | None) -> Credential | None:
    keyring = _keyring()
    if keyring is None:
        return None
    for service, source in ((keyring_service(archive), "keyring"), (_ASTROQUERY.get(archive), "astroquery keyring")):
        if not service or not username:
            continue
        try:
            secret = keyring.get_password(service, username)
        except Exception as err:  # a backend is third-party code: any failure means "no keyring here"
            log.info("keyring unavailable (%s); skipping it", type(err).__name__)
            return None
        if secret:
            return Credential(archive, username, secret, "password", source)
    return None


def _from_daxa(archive: str, given: object) -> Credential:
    """DAXA's credential forms: ``{'user': ..., 'password': ...}`` or the path of an ini file."""
    if isinstance(given, Credential):
        return given
    if isinstance(given, Mapping):
        user = given.get("user") or given.get("username")
        secret = given.get("password")
        if not user or not secret:
            raise AuthError("credentials dicts need 'user' and 'password'")
        return Credential(archive, str(user), str(secret), "password", "given")
    if isinstance(given, (str, os.PathLike)) and Path(given).is_file():
        parser = configparser.ConfigParser()
        parser.read(Path(given))
        for section in parser.sections():
            if {"username", "password"} <= set(parser[section]) or {"user", "password"} <= set(parser[section]):
                user = parser[section].get("username") or parser[section].get("user")
                return Credential(archive, user, parser[section]["password"], "password", "file")
        raise AuthError(f"{given}: no section with username and password")
    raise AuthError("credentials must be a Credential, a {'user', 'password'} dict or an ini file path")


def _interactive() -> bool:
    """Whether a person can be asked: standard input is a terminal."""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):  # replaced or closed stdin
        return False


def find(
    archive: str, *, username: str | None = None, credentials: CredentialSource | None = None, prompt: bool = False
) -> Credential | None:
    """Find an archive's credential where it may be kept.

    Looked for in order: ``credentials`` as given, then ``VODAXA_<ARCHIVE>_TOKEN``, then
    ``VODAXA_<ARCHIVE>_USERNAME`` + ``VODAXA_<ARCHIVE>_PASSWORD``, then the keyring (vodaxa's, then
    astroquery's), then a prompt if ``prompt``.

    Parameters
    ----------
    archive : str
        The archive (``"eso"``, ``"xsa"``...).
    username : str, optional
        The user whose password to look up (else ``VODAXA_<ARCHIVE>_USERNAME``, else the username remembered in
        the keyring).
    credentials : Credential, dict, str or os.PathLike, optional
        Credentials given outright: a :class:`Credential`, DAXA's ``{"user": ..., "password": ...}``, or the path
        of an ini file with a section holding ``username`` (or ``user``) and ``password``.
    prompt : bool, optional
        Ask at the terminal when nothing is found (False by default).

    Returns
    -------
    Credential or None
        The first credential found, or None if there is none.

    Raises
    ------
    vodaxa.errors.AuthError
        If ``credentials`` is malformed, or ``prompt`` is asked for with no terminal (or nothing is typed).
    """
    if credentials is not None:
        return _from_daxa(archive, credentials)
    token = _env(archive, "TOKEN")
    if token:
        return Credential(archive, _env(archive, "USERNAME"), token, "token", "environment")
    user = username or _env(archive, "USERNAME") or remembered_username(archive)
    password = _env(archive, "PASSWORD")
    if user and password:
        return Credential(archive, user, password, "password", "environment")
    stored = _from_keyring(archive, user)
    if stored is not None:
        return stored
    if prompt:
        no_terminal = AuthError(
            f"no terminal to ask for the {archive} password: set VODAXA_{archive.upper()}_USERNAME and "
            f"VODAXA_{archive.upper()}_PASSWORD (or, from a terminal, store them once with "
            f"'vodaxa login {archive} --store', which needs a keyring backend)"
        )
        if not _interactive():
            raise no_terminal  # said before any prompt is printed
        try:
            user = user or input(f"{archive} username: ").strip()
            secret = getpass.getpass(f"{archive} password for {user}: ")
        except EOFError:  # the terminal went away (a closed pipe)
            raise no_terminal from None
        if not user or not secret:
            raise AuthError("no username or password was entered")
        return Credential(archive, user, secret, "password", "prompt")
    return None


def remember(credential: Credential) -> None:
    """Store a password in the system keyring (never in a file).

    Parameters
    ----------
    credential : Credential
        The credential to keep, under :func:`keyring_service` of its archive and its username.

    Raises
    ------
    vodaxa.errors.AuthError
        If there is no usable keyring backend, or the credential has no username.
    """
    keyring = _keyring()
    if keyring is None or not credential.username:
        raise AuthError("cannot store credentials: keyring is not installed or no username was given")
    try:
        keyring.set_password(keyring_service(credential.archive), credential.username, credential.secret)
    except Exception as err:  # KeyringError, NoKeyringError, or whatever a third-party backend raises
        raise AuthError(_no_keyring(credential.archive, err)) from None


def keyring_problem(archive: str) -> str | None:
    """Why no password can be stored for ``archive`` on this machine (no keyring backend), or None: checked
    before anyone is asked to type a password that could not be kept."""
    keyring = _keyring()
    if keyring is None:
        return _no_keyring(archive, ImportError("keyring"))
    try:
        backend = keyring.get_keyring()
        priority = getattr(backend, "priority", 1)
    except Exception as err:  # a backend is third-party code
        return _no_keyring(archive, err)
    failing = type(backend).__module__.endswith(".fail")  # keyring's stand-in when no backend is usable
    if failing or (priority is not None and priority <= 0):
        return _no_keyring(archive, RuntimeError(f"{type(backend).__module__}.{type(backend).__name__}"))
    return None


def _no_keyring(archive: str, err: BaseException) -> str:
    name = archive.upper()
    return (f"no usable keyring backend on this machine ({type(err).__name__}), so nothing can be stored: set "
            f"VODAXA_{name}_USERNAME and VODAXA_{name}_PASSWORD in the environment instead (or install a keyring "
            "backend, e.g. 'pip install keyrings.alt')")  # fmt: skip


def forget(archive: str, username: str) -> None:
    """Remove a stored password (no error if there was none).

    Parameters
    ----------
    archive : str
        The archive.
    username : str
        The user whose password to remove; the remembered username goes too when it is this one.
    """
    keyring = _keyring()
    if keyring is None:
        return
    try:
        keyring.delete_password(keyring_service(archive), username)
        if remembered_username(archive) == username:
            keyring.delete_password(keyring_service(archive), _USERNAME_KEY)
    except Exception as err:  # PasswordDeleteError or no backend: nothing stored, nothing to do
        log.debug("nothing to forget for %s in the keyring (%s)", archive, type(err).__name__)


def remember_username(archive: str, username: str) -> None:
    """Keep the username next to the stored password, so later logins need neither."""
    keyring = _keyring()
    if keyring is not None and username:
        try:
            keyring.set_password(keyring_service(archive), _USERNAME_KEY, username)
        except Exception as err:  # any backend failure: the username is simply not remembered
            log.info("no keyring to remember the %s username in (%s)", archive, type(err).__name__)


def remembered_username(archive: str) -> str | None:
    """The username stored by :func:`remember_username`, if any."""
    keyring = _keyring()
    if keyring is None:
        return None
    try:
        return keyring.get_password(keyring_service(archive), _USERNAME_KEY)
    except Exception as err:  # any backend failure: no remembered username
        log.info("keyring unavailable (%s)", type(err).__name__)
        return None
