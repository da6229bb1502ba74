"""Run the sandbox archives on 127.0.0.1, each on its own port, from a background event-loop thread.

Each archive gets its own port so that it is a distinct origin, as the real archives are distinct
hosts (credentials scoped to one must not reach another).
"""

from __future__ import annotations

import asyncio
import atexit
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, cast

from aiohttp import web

from ..config import cache_dir, endpoints
from ..errors import SandboxError
from .protocols.faults import FaultInjector, Faults
from .requirements import require_engine
from .settings import SandboxConfig, ShapeContext
from .shapes import SHAPES, ArchiveShape, load_shape

if TYPE_CHECKING:
    from ..typing import PathLike
    from .archives.heasarc.shape import HeasarcArchive

__all__ = ["Sandbox", "SandboxConfig", "activate", "serve", "today_mjd"]  # SandboxConfig re-exported from base

_MJD_UNIX_EPOCH = 40587.0


def today_mjd() -> float:
    """Return the MJD of today's UTC midnight: the sandbox's default "now" (stable within a day).

    Returns
    -------
    float
        A whole number of days, as an MJD.

    Examples
    --------
    >>> from vodaxa.sandbox import today_mjd
    >>> today_mjd() > 60000 and today_mjd().is_integer()
    True
    """
    now = datetime.now(timezone.utc)
    return _MJD_UNIX_EPOCH + (now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp() / 86400.0)


class Sandbox:
    """An offline archive on 127.0.0.1: ``urls`` per archive, ``endpoints`` for vodaxa, ``stop()`` to end it.

    Each archive gets its own port so that it is a distinct origin, as the real archives are distinct hosts
    (credentials scoped to one must not reach another).  Made, it does not serve yet: :meth:`start` it, or use it
    in a ``with`` block (which starts and stops it).  Unlike :func:`serve`, it leaves vodaxa's endpoints alone.

    Parameters
    ----------
    config : SandboxConfig, optional
        Its size, faults, ports and archives. By default ``SandboxConfig()``.

    Attributes
    ----------
    config : SandboxConfig
        The configuration.
    now_mjd : float
        "Today" for public dates: the config's, or :func:`today_mjd`.
    archives : dict
        The archive shapes, by name (``"heasarc"``, ``"eso"``, ...).
    urls : dict of str to str
        Each running archive's base URL, by name (empty until started).

    Raises
    ------
    vodaxa.errors.SandboxError
        When the host is not a loopback address, an archive is unknown, or DuckDB and sqlglot (the
        ``vodaxa[sandbox]`` extra) are missing.

    See Also
    --------
    serve : A sandbox for a ``with`` block, with vodaxa's endpoints pointing at it.
    activate : The same, until ``stop()``, for notebooks.

    Examples
    --------
    >>> from vodaxa.sandbox import Sandbox, SandboxConfig
    >>> with Sandbox(SandboxConfig(archives=("heasarc",))) as sb:
    ...     print(sb.url.startswith("http://127.0.0.1:"), sorted(sb.urls))
    True ['heasarc']
    """

    def __init__(self, config: SandboxConfig | None = None) -> None:
        require_engine()  # DuckDB and sqlglot come with vodaxa[sandbox]: say so before any shape needs them
        self.config = config or SandboxConfig()
        if self.config.host not in ("127.0.0.1", "localhost", "::1"):
            raise SandboxError(f"the sandbox serves on loopback only, not {self.config.host}")
        self.now_mjd = self.config.now_mjd if self.config.now_mjd is not None else today_mjd()
        self.injector = FaultInjector(self.config.faults)
        cache = self.config.cache or cache_dir("sandbox")
        context = ShapeContext(self.config, self.now_mjd, cache, self.injector)
        names = self.config.archives or tuple(SHAPES)
        unknown = sorted(set(names) - set(SHAPES))
        if unknown:
            raise SandboxError(f"unknown sandbox archives {unknown}; known: {', '.join(SHAPES)}")
        self.archives: dict[str, ArchiveShape] = {}
        try:
            for name in names:
                self.archives[name] = load_shape(name, context)
        except BaseException:
            self._close_archives()
            raise
        self.urls: dict[str, str] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runners: list[web.AppRunner] = []
        self._on_stop: list[Callable[[], None]] = []

    # ------------------------------------------------------------------------------ lifecycle
    def start(self) -> Sandbox:
        """Start serving in a daemon thread; returns once every archive answers.

        Returns
        -------
        Sandbox
            This sandbox, running.

        Raises
        ------
        vodaxa.errors.SandboxError
            When it is already running, or an archive could not start (a port in use); the archives already
            listening are stopped again.
        """
        if self._thread is not None:
            raise SandboxError("this sandbox is already running")
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._start_sites())
            except BaseException as err:  # reported to the starting thread
                failure.append(err)
                try:  # archives already listening stop too: no socket left open that nobody answers
                    loop.run_until_complete(self._cleanup())
                finally:
                    loop.close()
                    ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="vodaxa-sandbox", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise SandboxError(f"the sandbox could not start: {failure[0]}") from failure[0]
        return self

    async def _start_sites(self) -> None:
        for name, app in self._apps().items():
            runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await runner.setup()
            self._runners.append(runner)  # before its site starts: cleaned up even when that fails
            site = web.TCPSite(runner, self.config.host, self.config.ports.get(name, 0), reuse_address=True)
            await site.start()
            sock = site._server.sockets[0]  # type: ignore[union-attr]  # started above: a server with sockets
            host, port = sock.getsockname()[:2]
            self.urls[name] = f"http://{host if ':' not in host else f'[{host}]'}:{port}"
        for shape in self.archives.values():  # shapes that describe the others (the registry) learn their URLs
            bind = getattr(shape, "bind", None)
            if bind is not None:
                bind(dict(self.urls))

    async def _cleanup(self) -> None:
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()

    def _apps(self) -> dict[str, web.Application]:
        return {name: shape.app() for name, shape in self.archives.items()}

    def _close_archives(self) -> None:
        for shape in self.archives.values():
            shape.close()

    def stop(self) -> None:
        """Stop serving and release everything (idempotent).

        A sandbox from :func:`activate` also gives vodaxa's endpoints back.
        """
        while self._on_stop:
            self._on_stop.pop()()
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._thread = None
        self._close_archives()

    def __enter__(self) -> Sandbox:
        return self.start() if self._thread is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_faults(self, faults: Faults) -> None:
        """Change the injected faults of the running sandbox; the attempt counters start afresh.

        Parameters
        ----------
        faults : Faults
            What to inject from now on (``Faults()``: nothing).

        Examples
        --------
        >>> import vodaxa
        >>> from vodaxa.sandbox import Faults, serve
        >>> with serve(archives=("heasarc", "cds")) as sb:
        ...     sb.set_faults(Faults(error_503=1.0, retry_after=0))  # every answer a 503
        ...     try:
        ...         vodaxa.search(["Crab"], missions=["nustar_pointed"])
        ...     except vodaxa.errors.NameResolutionError as err:
        ...         print(err)
        could not resolve 'Crab': Sesame answered HTTP 503
        """
        self.injector.faults = faults
        self.injector.attempts.clear()
        self.injector.injected.clear()

    # ------------------------------------------------------------------------------ endpoints
    @property
    def url(self) -> str:
        """The HEASARC-shaped archive's base URL (str), e.g. ``http://127.0.0.1:8765``."""
        return self.urls["heasarc"]

    @property
    def heasarc(self) -> HeasarcArchive:
        """The HEASARC shape: its tables, DataLink endpoints and FTP tree."""
        return cast("HeasarcArchive", self.archives["heasarc"])  # the shape loaded under that name

    @property
    def endpoints(self) -> dict[str, dict[str, str]]:
        """The vodaxa endpoint overrides pointing at this sandbox, ``{archive: {service: url}}``.

        ESO's ``tap_obs`` also answers for vodaxa's built-in ObsCore archive (``"obscore"``).  Raises
        :class:`~vodaxa.errors.SandboxError` when the sandbox is not running.
        """
        if not self.urls:
            raise SandboxError("the sandbox is not running: start() it or use it in a with block")
        table = {name: shape.endpoints(self.urls[name]) for name, shape in self.archives.items()}
        if "eso" in table:  # vodaxa's built-in ObsCore archive is answered by ESO's ivoa.ObsCore (one like any)
            table["obscore"] = {"tap": table["eso"]["tap_obs"]}
        return table

    def write_endpoints(self, path: PathLike) -> Path:
        """Write :attr:`endpoints` as a JSON file for ``$VODAXA_ENDPOINTS``.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write (replaced if it exists).

        Returns
        -------
        pathlib.Path
            ``path``.

        Raises
        ------
        vodaxa.errors.SandboxError
            When the sandbox is not running.
        """
        target = Path(path)
        target.write_text(json.dumps(self.endpoints, indent=2) + "\n")
        return target


@contextmanager
def serve(config: SandboxConfig | None = None, **options: object) -> Iterator[Sandbox]:
    """Run a sandbox for the ``with`` block, with vodaxa's endpoints pointing at it.

    Inside the block every vodaxa call (search, resolve, download) talks to the sandbox, and pyvo's
    ``regsearch()`` asks the sandbox's registry too; both are given back when the block ends.

    Parameters
    ----------
    config : SandboxConfig, optional
        Its size, faults, ports and archives. By default ``SandboxConfig(**options)``.
    **options : object
        :class:`SandboxConfig` fields instead of ``config``, e.g. ``serve(rows=1000, faults=Faults(latency=0.02))``.

    Yields
    ------
    Sandbox
        The running sandbox.

    Raises
    ------
    vodaxa.errors.SandboxError
        When both ``config`` and ``options`` are given, an option is unknown, or the sandbox cannot start.

    See Also
    --------
    activate : The same without a ``with`` block, for notebooks.

    Examples
    --------
    >>> import vodaxa
    >>> import vodaxa.sandbox
    >>> with vodaxa.sandbox.serve(archives=("heasarc", "cds")) as sb:  # HEASARC, and CDS to resolve names
    ...     observations = vodaxa.search(["3C 105"], missions=["nustar_pointed"])
    ...     print(sorted(sb.endpoints), len(observations) > 0)
    ['cds', 'heasarc'] True
    """
    if config is not None and options:
        raise SandboxError("give either a SandboxConfig or keyword options, not both")
    try:
        # the options are checked at run time: an unknown name is a TypeError, reported below
        cfg = config or SandboxConfig(**options)  # type: ignore[arg-type]
    except TypeError as err:
        raise SandboxError(f"unknown sandbox option: {err}") from None
    with ExitStack() as stack:
        sandbox = stack.enter_context(Sandbox(cfg))
        stack.enter_context(endpoints.override(sandbox.endpoints))
        if "registry" in sandbox.urls:  # pyvo.regsearch() then asks the sandbox's registry too
            from ..query.registry import pyvo_registry

            stack.enter_context(pyvo_registry(sandbox.endpoints["registry"]["tap"]))
        yield sandbox


def activate(config: SandboxConfig | None = None, **options: object) -> Sandbox:
    """Start a sandbox and point vodaxa's endpoints at it until ``stop()`` (or the interpreter exits).

    For notebooks, where a ``with`` block cannot span cells; scripts should prefer :func:`serve`.

    Parameters
    ----------
    config : SandboxConfig, optional
        Its size, faults, ports and archives. By default ``SandboxConfig(**options)``.
    **options : object
        :class:`SandboxConfig` fields instead of ``config``, e.g. ``activate(rows=300)``.

    Returns
    -------
    Sandbox
        The running sandbox; its ``stop()`` gives vodaxa's endpoints back.

    Raises
    ------
    vodaxa.errors.SandboxError
        When both ``config`` and ``options`` are given, an option is unknown, or the sandbox cannot start.

    Examples
    --------
    >>> import vodaxa
    >>> import vodaxa.sandbox
    >>> sb = vodaxa.sandbox.activate(archives=("heasarc", "cds"))
    >>> len(vodaxa.search(["3C 105"], missions=["nustar_pointed"])) > 0
    True
    >>> sb.stop()
    """
    stack = ExitStack()
    sandbox = stack.enter_context(serve(config, **options))
    sandbox._on_stop.append(stack.pop_all().close)
    atexit.register(sandbox.stop)
    return sandbox
