"""Settings: archive service endpoints (with overrides) and the cache directory.

Every URL vodaxa calls comes from :data:`endpoints`.  Defaults point at the real archives; a JSON
or TOML file named by ``$VODAXA_ENDPOINTS`` (``{archive: {service: url}}``) replaces some of them,
and ``endpoints.override({...})`` replaces them inside a ``with`` block, or until ``.restore()``
(the sandbox uses this).
Innermost wins: override blocks, then the file, then the defaults.

Examples
--------
>>> from vodaxa.config import endpoints
>>> with endpoints.override({"heasarc": {"tap": "https://mirror.example/xamin/vo/tap"}}):
...     print(endpoints.get("heasarc", "tap"))
https://mirror.example/xamin/vo/tap
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from .errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]  # installed on Python 3.10 only

__all__ = ["DEFAULT_ENDPOINTS", "ENV_ENDPOINTS", "Endpoints", "Override", "cache_dir", "check_url", "endpoints"]

#: The environment variable naming an endpoints file (JSON or TOML) that overrides the defaults.
ENV_ENDPOINTS = "VODAXA_ENDPOINTS"
#: The origin label of endpoint layers found in the VO registry (never used for credentials).
REGISTRY_ORIGIN = "registry"

class _Defaults(Mapping[str, Mapping[str, str]]):
    """The real services, ``{archive: {service: url}}``, as each archive's folder declares them
    (``vodaxa/archives/<name>/``; facts: reference/vo-clients.md and daxa.md).  Read on first use and again only
    when an archive is registered (every endpoint lookup passes here)."""

    def __init__(self) -> None:
        self._cached: tuple[tuple[int, int], dict[str, Mapping[str, str]]] | None = None

    def _table(self) -> dict[str, Mapping[str, str]]:
        from . import archives

        generation, cached = archives.generation(), self._cached
        if cached is None or cached[0] != generation:
            cached = self._cached = (generation, {a.name: a.endpoints for a in archives.archives()})
        return cached[1]

    def __getitem__(self, archive: str) -> Mapping[str, str]:
        return self._table()[archive]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


#: The real services' URLs, per archive and service.
DEFAULT_ENDPOINTS: Mapping[str, Mapping[str, str]] = _Defaults()


def check_url(url: object, where: str) -> str:
    """Check that a configured URL is an http(s) URL with a host and no ``user:password`` part.

    Parameters
    ----------
    url : object
        The value to check (anything a configuration file may hold).
    where : str
        Where it was found (file and key), for the message.

    Returns
    -------
    str
        ``url`` itself.

    Raises
    ------
    vodaxa.errors.ConfigError
        If ``url`` is not a string, not a URL, not http(s), has no host, or holds a user name or password
        (vodaxa keeps credentials in the keyring or the environment, never in URLs).
    """
    if not isinstance(url, str):
        raise ConfigError(f"{where}: the URL must be a string, got {type(url).__name__}")
    try:
        parts = urlsplit(url)
        has_user = parts.username is not None or parts.password is not None
    except ValueError as err:
        raise ConfigError(f"{where}: '{url}' is not a URL ({err})") from None
    if has_user:
        raise ConfigError(f"{where}: the URL holds a user name or password; vodaxa keeps credentials in the keyring "
                          "or the environment, never in URLs (see docs/auth.md)")  # fmt: skip
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}: '{url}' is not an http(s) URL with a host")
    return url



def validate(mapping: object, source: str) -> dict[str, dict[str, str]]:
    """Check an override mapping against the known archives and services.

    Parameters
    ----------
    mapping : object
        ``{archive: {service: url}}``, as given or read from a file.
    source : str
        Where it came from, for the messages.

    Returns
    -------
    dict of str to dict of str to str
        The same table, as plain dicts.

    Raises
    ------
    vodaxa.errors.ConfigError
        Naming what is wrong: not a table, an unknown archive or service (the known ones listed), or a URL
        :func:`check_url` refuses.
    """
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"{source}: expected a table of archives, {{archive: {{service: url}}}}")
    out: dict[str, dict[str, str]] = {}
    for archive, services in mapping.items():
        if archive not in DEFAULT_ENDPOINTS:
            known = ", ".join(DEFAULT_ENDPOINTS)
            raise ConfigError(f"{source}: unknown archive '{archive}' (known archives: {known}; an archive added "
                              "at run time, such as an ObsCore service, is known once vodaxa.archives.obscore.service "
                              "or vodaxa.archives.register has run)")  # fmt: skip
        if not isinstance(services, Mapping):
            raise ConfigError(f"{source}: '{archive}' must map service names to URLs")
        for service, url in services.items():
            if service not in DEFAULT_ENDPOINTS[archive]:
                known = ", ".join(DEFAULT_ENDPOINTS[archive])
                raise ConfigError(f"{source}: unknown service '{archive}.{service}' (services of {archive}: {known})")
            out.setdefault(archive, {})[service] = check_url(url, f"{source}: key '{archive}.{service}'")
    return out


def load_file(path: str | os.PathLike[str]) -> dict[str, dict[str, str]]:
    """Read and validate an endpoints file.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.toml`` file, or JSON (any other suffix), holding ``{archive: {service: url}}``.

    Returns
    -------
    dict of str to dict of str to str
        The endpoints it sets.

    Raises
    ------
    vodaxa.errors.ConfigError
        If the file cannot be read or parsed, or :func:`validate` refuses its content.
    """
    file = Path(path)
    try:
        text = file.read_bytes()
    except OSError as err:
        raise ConfigError(f"{file}: cannot read the endpoints file ({err.strerror})") from None
    try:
        if file.suffix.lower() == ".toml":
            data = tomllib.loads(text.decode())
        else:
            data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as err:
        raise ConfigError(f"{file}: not valid {'TOML' if file.suffix.lower() == '.toml' else 'JSON'}: {err}") from None
    return validate(data, str(file))


class Endpoints:
    """The effective service URLs of every archive, with a stack of overrides that is safe across threads.

    vodaxa has one, :data:`endpoints` (also ``vodaxa.endpoints``); every URL vodaxa calls is read from it.
    Layers, innermost first: override blocks (:meth:`override`), the file named by ``$VODAXA_ENDPOINTS``,
    then the defaults each archive declares.

    Examples
    --------
    >>> from vodaxa.config import endpoints
    >>> "heasarc.tap" in endpoints.names()
    True
    >>> with endpoints.override({"heasarc": {"tap": "https://mirror.example/xamin/vo/tap"}}):
    ...     print(endpoints.get("heasarc", "tap"), endpoints.sources()["heasarc.tap"])
    https://mirror.example/xamin/vo/tap override
    >>> endpoints.get("heasarc", "no_such_service")
    Traceback (most recent call last):
        ...
    vodaxa.errors.ConfigError: no endpoint 'heasarc.no_such_service'; known: ...
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._stack: list[tuple[str, dict[str, dict[str, str]]]] = []  # (origin, layer)
        self._file_cache: tuple[str, float, dict[str, dict[str, str]]] | None = None

    def _from_env(self) -> dict[str, dict[str, str]]:
        path = os.environ.get(ENV_ENDPOINTS)
        if not path:
            return {}
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            raise ConfigError(f"{path}: {ENV_ENDPOINTS} names a file that does not exist") from None
        cached = self._file_cache
        if cached and cached[0] == path and cached[1] == mtime:
            return cached[2]
        data = load_file(path)
        self._file_cache = (path, mtime, data)
        return data

    def _layers(self) -> list[tuple[str, Mapping[str, Mapping[str, str]]]]:
        with self._lock:
            overrides = list(self._stack)
        env = self._from_env()
        layers: list[tuple[str, Mapping[str, Mapping[str, str]]]] = [("default", DEFAULT_ENDPOINTS)]
        if env:
            layers.append((f"${ENV_ENDPOINTS}", env))
        layers += overrides
        return layers

    def get(self, archive: str, service: str, *, trusted: bool = False) -> str:
        """The URL of one service of an archive, after overrides.

        Parameters
        ----------
        archive : str
            The archive's name (``"heasarc"``, ``"eso"``...).
        service : str
            The service's name (``"tap"``, ``"datalink"``...; :meth:`names` lists them).
        trusted : bool, optional
            Leave out URLs found in the VO registry: credential realms are built from these, so a registry
            record can never send a password or token to a host the user did not choose.

        Returns
        -------
        str
            The URL in force.

        Raises
        ------
        vodaxa.errors.ConfigError
            If the archive has no such service (the message lists the known ``archive.service`` keys).
        """
        if archive not in DEFAULT_ENDPOINTS or service not in DEFAULT_ENDPOINTS[archive]:
            raise ConfigError(f"no endpoint '{archive}.{service}'; known: {', '.join(self.names())}")
        url = DEFAULT_ENDPOINTS[archive][service]
        for origin, layer in self._layers():
            if trusted and origin == REGISTRY_ORIGIN:
                continue
            url = layer.get(archive, {}).get(service, url)
        return url

    def names(self) -> list[str]:
        """Every ``archive.service`` key.

        Returns
        -------
        list of str
            ``["xsa.tap", "xsa.aio", "heasarc.tap", ...]``, archives in registry order.
        """
        return [f"{a}.{s}" for a, services in DEFAULT_ENDPOINTS.items() for s in services]

    def table(self) -> dict[str, dict[str, str]]:
        """The whole effective table.

        Returns
        -------
        dict of str to dict of str to str
            ``{archive: {service: url}}``, overrides applied.
        """
        return {a: {s: self.get(a, s) for s in services} for a, services in DEFAULT_ENDPOINTS.items()}

    def sources(self) -> dict[str, str]:
        """Where each effective URL came from.

        Returns
        -------
        dict of str to str
            ``archive.service`` -> ``"default"``, ``"$VODAXA_ENDPOINTS"``, an override block's origin
            (``"override"`` unless named otherwise) or ``"registry"``.
        """
        out = {}
        for archive, services in DEFAULT_ENDPOINTS.items():
            for service in services:
                origin = "default"
                for name, layer in self._layers():
                    if service in layer.get(archive, {}):
                        origin = name
                out[f"{archive}.{service}"] = origin
        return out

    def describe(self) -> str:
        """The effective endpoints as text.

        Returns
        -------
        str
            One line per endpoint: ``archive.service  url  [origin]``.
        """
        sources = self.sources()
        width = max(len(k) for k in sources)
        lines = [f"{f'{a}.{s}':<{width}}  {url}  [{sources[f'{a}.{s}']}]"
                 for a, services in self.table().items() for s, url in services.items()]  # fmt: skip
        return "\n".join(lines) + "\n"

    def show(self, file: TextIO | None = None) -> None:
        """Print the effective endpoints: what ``vodaxa config show`` prints.

        Parameters
        ----------
        file : file-like, optional
            Where to write :meth:`describe` (standard output by default).
        """
        (file or sys.stdout).write(self.describe())

    def override(self, mapping: Mapping[str, Mapping[str, str]], *, origin: str = "override") -> Override:
        """Use other URLs from now on, in every thread: inside a ``with`` block until it ends, or, called as a
        statement, until :meth:`Override.restore`.

        Parameters
        ----------
        mapping : mapping of str to mapping of str to str
            ``{archive: {service: url}}``: the URLs to use (the others stay as they are).
        origin : str, optional
            Labels them in :meth:`sources` and ``vodaxa config show`` (``"registry"`` for URLs found in the VO
            registry, which never receive credentials).

        Returns
        -------
        Override
            The layer now in force; a context manager giving this table back, and :meth:`Override.restore`.

        Raises
        ------
        vodaxa.errors.ConfigError
            If ``mapping`` names an unknown archive or service, or a URL :func:`check_url` refuses.

        Examples
        --------
        >>> from vodaxa.config import endpoints
        >>> layer = endpoints.override({"cds": {"sesame": "https://sesame.example/cgi-bin/nph-sesame/"}})
        >>> endpoints.get("cds", "sesame")
        'https://sesame.example/cgi-bin/nph-sesame/'
        >>> layer.restore()
        >>> endpoints.get("cds", "sesame") != "https://sesame.example/cgi-bin/nph-sesame/"
        True
        """
        return Override(self, (origin, validate(mapping, "endpoints.override()")))

    def _remove(self, entry: tuple[str, dict[str, dict[str, str]]]) -> None:
        with self._lock:
            # remove this exact layer, even if blocks were exited out of order
            for i in range(len(self._stack) - 1, -1, -1):
                if self._stack[i] is entry:
                    del self._stack[i]
                    break


class Override:
    """An endpoint layer in force from its creation until :meth:`~Override.restore` (or the end of its ``with``
    block).

    Made by :meth:`Endpoints.override`.

    Parameters
    ----------
    table : Endpoints
        The table the layer is pushed on.
    entry : tuple of (str, dict)
        The layer: its origin label and ``{archive: {service: url}}``, already validated.
    """

    def __init__(self, table: Endpoints, entry: tuple[str, dict[str, dict[str, str]]]) -> None:
        self._table, self._entry = table, entry
        with table._lock:
            table._stack.append(entry)

    def restore(self) -> None:
        """Give the endpoints back as they were before this override (idempotent)."""
        self._table._remove(self._entry)

    def __enter__(self) -> Endpoints:
        return self._table

    def __exit__(self, *exc: object) -> None:
        self.restore()


#: The process-wide endpoint table.
endpoints = Endpoints()


def cache_dir(*parts: str) -> Path:
    """vodaxa's cache directory, or a folder in it, created if need be.

    Parameters
    ----------
    *parts : str
        Sub-folders, joined under the cache directory.

    Returns
    -------
    pathlib.Path
        ``$VODAXA_CACHE_DIR`` (or the platform's user cache directory for ``vodaxa``) joined with ``parts``.
    """
    root = os.environ.get("VODAXA_CACHE_DIR")
    if root:
        base = Path(root)
    else:
        import platformdirs

        base = Path(platformdirs.user_cache_dir("vodaxa"))
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
