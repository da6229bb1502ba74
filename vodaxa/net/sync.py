"""The sync side of the core: a ``requests.Session`` (pyvo takes one) that applies the same policy as the
async client: credentials chosen per URL and re-decided at every redirect hop, a credential-bearing body
never replayed to another origin, connect/read timeouts, idempotent requests retried by :func:`~.policy.pause`,
and answers read into memory capped in size and time.  Every sync HTTP call in vodaxa goes through one.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, TypedDict

import requests
import urllib3
from requests.adapters import HTTPAdapter

from ..errors import ServiceError
from .policy import (
    MAX_REDIRECTS,
    REDIRECTS,
    RETRY_STATUSES,
    Deadline,
    HttpConfig,
    ambiguous,
    declared_length,
    next_hop,
    pause,
    redacted,
    refuse_replay,
    too_big,
    unknown_host,
)

if TYPE_CHECKING:  # what requests' own signature takes (types-requests names them)
    from requests.cookies import RequestsCookieJar
    from requests.sessions import _Auth, _Data, _Files, _HeadersUpdateMapping, _HooksInput, _Params, _Timeout

__all__ = ["Session"]

log = logging.getLogger("vodaxa.http")

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})
_CHUNK = 1 << 16


class _Passed(TypedDict, total=False):
    """The keyword arguments of a request handed on to ``requests`` as the caller gave them."""

    data: _Data | None
    cookies: RequestsCookieJar | MutableMapping[str, str] | None
    files: _Files | None
    auth: _Auth | None
    proxies: MutableMapping[str, str] | None
    hooks: _HooksInput | None
    verify: bool | str | None
    cert: str | tuple[str, str] | None
    json: object
    timeout: tuple[float, float]


class Session(requests.Session):
    """A ``requests.Session`` (pyvo takes one) under vodaxa's network policy, the same as :class:`HttpClient`'s.

    Credentials are chosen per URL and re-decided at every redirect hop, a credential-bearing body is never
    replayed to another origin, connect and read timeouts apply, idempotent requests are retried under
    :func:`pause`, and answers read into memory are capped in size (``HttpConfig.max_body``) and time
    (``HttpConfig.body_timeout``).  Every sync HTTP call in vodaxa goes through one; :func:`vodaxa.net.session`
    makes one carrying the active credentials.

    Parameters
    ----------
    config : HttpConfig, optional
        Limits and patience (``HttpConfig()`` by default).
    headers_for : callable, optional
        ``headers_for(url) -> mapping``: a URL's credential headers (``vodaxa.auth.scope().headers_for``).
    params_for : callable, optional
        ``params_for(url) -> mapping``: a URL's credential query parameters (``vodaxa.auth.scope().params_for``).

    See Also
    --------
    vodaxa.net.session : a Session with the process's credentials.
    """

    def __init__(
        self,
        config: HttpConfig | None = None,
        *,
        headers_for: Callable[[str], Mapping[str, str]] | None = None,
        params_for: Callable[[str], Mapping[str, str]] | None = None,
    ) -> None:
        super().__init__()
        self.config = config or HttpConfig()
        self.headers_for = headers_for
        self.params_for = params_for
        self.headers["User-Agent"] = self.config.user_agent
        self.max_redirects = MAX_REDIRECTS
        self.mount("http://", _Adapter())
        self.mount("https://", _Adapter())

    def request(  # type: ignore[override]  # method and url are text (requests also takes bytes); adds secret_body
        self,
        method: str,
        url: str,
        params: _Params | None = None,
        data: _Data | None = None,
        headers: _HeadersUpdateMapping | None = None,
        cookies: RequestsCookieJar | MutableMapping[str, str] | None = None,
        files: _Files | None = None,
        auth: _Auth | None = None,
        timeout: _Timeout | None = None,
        allow_redirects: bool = True,
        proxies: MutableMapping[str, str] | None = None,
        hooks: _HooksInput | None = None,
        stream: bool | None = None,
        verify: bool | str | None = None,
        cert: str | tuple[str, str] | None = None,
        json: object = None,
        *,
        secret_body: bool = False,
    ) -> requests.Response:
        """Send ``method url`` under the policy, as ``requests.Session.request`` does, and cap the answer's body.

        One call, its retries and the reading of its answer all end within ``body_timeout`` seconds: each try
        waits at most what is left, and a body still arriving then is cut off (a silent or trickling server
        cannot hold a caller longer).  GET, HEAD and OPTIONS are retried; other methods are sent once.

        Parameters
        ----------
        method : str
            The HTTP method.
        url : str
            The URL.
        params : mapping, sequence of pairs, str or bytes, optional
            Query parameters; a URL's credential parameters (``params_for``) are added to them.
        data : bytes, str, file-like, mapping or sequence of pairs, optional
            The request body; dropped when a redirect turns the request into a GET.
        headers : mapping of str to str, optional
            Extra headers; ``Authorization`` and ``Cookie`` among them go to the same origin only.
        cookies, files, auth, proxies, hooks, verify, cert, json : optional
            As for ``requests.Session.request``.
        timeout : float or (float or None, float or None), optional
            Connect and read timeouts in seconds (one number for both; ``HttpConfig.connect_timeout`` and
            ``HttpConfig.read_timeout`` by default), each bounded by what is left of ``body_timeout``.
        allow_redirects : bool, optional
            Follow redirects (hop by hop, at most ten) when True, the default.
        stream : bool, optional
            Leave the body unread; it is still capped where it is read (``raw.read``, as pyvo reads it).
        secret_body : bool, optional
            The body carries a credential (a login form): a redirect that would replay it to another origin
            is refused.

        Returns
        -------
        requests.Response
            The last answer, its body read (unless ``stream``).  An HTTP error status is returned, not raised.

        Raises
        ------
        vodaxa.errors.ServiceError
            If the call does not finish within ``body_timeout``, a URL's host is ambiguous, a redirect's
            Location is unusable, or a redirect would replay a ``secret_body`` to another origin.
        vodaxa.net.BodyTooLarge
            If the body is larger than ``HttpConfig.max_body``.
        requests.RequestException
            If no answer came after the tries allowed (connection errors and timeouts, as requests raises them).
        """
        kwargs = _Passed(data=data, cookies=cookies, files=files, auth=auth, proxies=proxies, hooks=hooks,
                         verify=verify, cert=cert, json=json)  # fmt: skip
        explicit = dict(headers or {})
        connect, read = _timeouts(timeout, self.config)
        deadline = Deadline(self.config.body_timeout)
        watchdog = _Watchdog(deadline)  # from the first byte sent: headers, redirects, 1xx and the body alike
        outer, _CALL.dog = getattr(_CALL, "dog", None), watchdog
        try:
            answer = self._tries(method, url, kwargs, explicit, params, connect, read, deadline, allow_redirects,
                                 secret_body)  # fmt: skip
            if stream:
                _cap_stream(answer, self.config, watchdog)
                return answer
            _read_capped(answer, self.config, watchdog)
            watchdog.cancel()
            return answer
        except BaseException:
            watchdog.cancel()
            raise
        finally:
            _CALL.dog = outer

    def _tries(
        self, method: str, url: str, kwargs: _Passed, headers: dict[str, str | bytes | None],
        params: _Params | None, connect: float, read: float, deadline: Deadline, follow: bool, secret_body: bool,
    ) -> requests.Response:  # fmt: skip
        """The request, retried under the policy while the call's deadline allows."""
        attempts = self.config.retries + 1 if method.upper() in IDEMPOTENT else 1
        for attempt in range(attempts):
            left = deadline.left() or 0.0
            if left <= 0:
                raise _slow(redacted(url), self.config)
            timeout = (min(connect, left), min(read, left))
            try:
                answer = self._follow(method, url, {**kwargs, "timeout": timeout}, headers, params,
                                      follow=follow, secret_body=secret_body)  # fmt: skip
            except (requests.ConnectionError, requests.Timeout) as err:
                if unknown_host(err):  # no such name (or no network): not retried
                    raise
                wait = pause(self.config, attempt)
                if deadline.spent or _CALL.dog.fired:
                    raise _slow(redacted(url), self.config) from None
                if attempt + 1 >= attempts or not deadline.allows(wait):
                    raise
                log.info("%s %s: %s; retrying", method, redacted(url), type(err).__name__)
                time.sleep(wait)
                continue
            if deadline.spent:
                answer.close()
                raise _slow(redacted(url), self.config)
            if answer.status_code in RETRY_STATUSES and attempt + 1 < attempts:
                wait = pause(self.config, attempt, answer.headers.get("Retry-After"))
                if deadline.allows(wait):
                    answer.close()
                    log.info("%s %s answered %s; retrying in %.1f s", method, redacted(url), answer.status_code, wait)
                    time.sleep(wait)
                    continue
            log.debug("%s %s -> %s", method, redacted(url), answer.status_code)
            return answer
        raise AssertionError("unreachable")  # pragma: no cover

    def _follow(
        self,
        method: str,
        url: str,
        kwargs: _Passed,
        explicit: dict[str, str | bytes | None],
        params: _Params | None,
        *,
        follow: bool,
        secret_body: bool,
    ) -> requests.Response:
        """One exchange, redirects followed hop by hop with credentials re-decided for each URL."""
        current, hops = url, 0
        while True:
            if ambiguous(current):  # before any credential is chosen for it
                raise ServiceError(f"{method}: {ambiguous(current)}; vodaxa does not send it", url=redacted(current))
            headers = {**(self.headers_for(current) if self.headers_for else {}), **explicit}
            secret_params = dict(self.params_for(current)) if self.params_for else {}
            sent = _with_params(params, secret_params)
            try:
                answer = super().request(method, current, params=sent, headers=headers, stream=True,
                                         allow_redirects=False, **kwargs)  # fmt: skip
            except ValueError as err:  # requests parses a redirect's Location even unfollowed: a broken one
                raise ServiceError(f"{method} {redacted(current)}: the answer could not be read ({err})",
                                   url=redacted(current)) from None  # fmt: skip
            location = answer.headers.get("Location")
            if not follow or answer.status_code not in REDIRECTS or not location or hops >= MAX_REDIRECTS:
                return answer
            answer.close()
            try:
                hop = next_hop(method, answer.status_code, answer.url, _header_text(location),
                               sent_params=bool(secret_params))  # fmt: skip
            except ValueError as err:  # "Invalid IPv6 URL", undecodable bytes, ...
                raise ServiceError(f"{redacted(current)} redirected to an unusable Location ({err})",
                                   url=redacted(current)) from None  # fmt: skip
            refused = refuse_replay(hop, current, secret_body)
            if refused:
                raise ServiceError(refused, url=current)
            if not hop.same_origin:
                explicit = {k: v for k, v in explicit.items() if k.lower() not in ("authorization", "cookie")}
            if not hop.keeps_body:
                kwargs.pop("data", None)
                kwargs.pop("json", None)
                kwargs.pop("files", None)
            method, current, params, hops = hop.method, hop.url, None, hops + 1


def _header_text(value: str) -> str:
    """A header as text: http.client hands it over decoded as latin-1; a server sending UTF-8 gets it back."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def _with_params(params: Any, extra: Mapping[str, str]) -> Any:
    """The caller's query parameters plus credential ones (appended, whatever form the caller used)."""
    if not extra:
        return params
    if params is None:
        return dict(extra)
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
    return [*pairs, *extra.items()]


def _read_capped(answer: requests.Response, config: HttpConfig, watchdog: _Watchdog) -> None:
    """Read the body whole: at most ``max_body`` bytes, cut off by ``watchdog`` when the call's time is up."""
    cap, url = config.max_body, redacted(answer.url)
    declared = declared_length(answer.headers)
    if declared is not None and declared > cap:
        answer.close()
        raise too_big(url, cap, declared)
    parts, size = [], 0
    try:
        for block in answer.iter_content(_CHUNK):
            size += len(block)
            if size > cap:
                raise too_big(url, cap)
            parts.append(block)
    except (requests.RequestException, OSError) as err:
        answer.close()
        if watchdog.fired:
            raise _slow(url, config) from None
        raise requests.ConnectionError(f"the answer from {url} was cut short ({type(err).__name__})") from None
    except BaseException:
        answer.close()
        raise
    if watchdog.fired:
        raise _slow(url, config)
    answer._content = b"".join(parts)  # what requests itself sets when it reads the body
    answer._content_consumed = True  # type: ignore[attr-defined]  # requests' private flag, not in its stubs


def _cap_stream(answer: requests.Response, config: HttpConfig, watchdog: _Watchdog) -> None:
    """Cap a streamed body where it is read (``raw.read``, as pyvo does, or ``raw.read_chunked``); the watchdog
    cuts it off when the call's time is up and stands down once the body has been read to its end."""
    raw = answer.raw
    if raw is None:
        watchdog.cancel()
        return
    cap, url, count = config.max_body, redacted(answer.url), [0]

    def account(size: int, ended: bool) -> None:
        if watchdog.fired:
            raise _slow(url, config)
        count[0] += size
        if count[0] > cap:
            watchdog.cancel()
            raise too_big(url, cap)
        if ended:
            watchdog.cancel()

    declared = declared_length(answer.headers)
    if declared is not None and declared > cap:
        watchdog.cancel()
        answer.close()
        raise too_big(url, cap, declared)
    read, read_chunked = raw.read, getattr(raw, "read_chunked", None)

    def capped_read(*args: Any, **kwargs: Any) -> bytes:
        amount = args[0] if args else kwargs.get("amt")
        if amount is None:  # "all of it" (pyvo's partial(raw.read)): in blocks, so the cap holds before memory goes
            rest = {k: v for k, v in kwargs.items() if k != "amt"}
            blocks = []
            while block := capped_read(_CHUNK, *args[1:], **rest):
                blocks.append(block)
            return b"".join(blocks)
        try:
            data = read(*args, **kwargs)
        except Exception:
            if watchdog.fired:
                raise _slow(url, config) from None
            raise
        account(len(data or b""), ended=not data)
        return data

    raw.read = capped_read  # type: ignore[method-assign]  # the cap sits where pyvo reads the body
    if read_chunked is not None:

        def capped_chunks(*args: Any, **kwargs: Any) -> Iterator[bytes]:
            for chunk in read_chunked(*args, **kwargs):
                account(len(chunk), ended=False)
                yield chunk
            watchdog.cancel()

        raw.read_chunked = capped_chunks  # type: ignore[method-assign]  # likewise


class _Watchdog:
    """Shuts down the socket a call is waiting on when the call's deadline passes (headers, redirect hops, 1xx
    answers or the body of a silent or trickling server), which wakes the blocked read.  Connections report in
    as they are read from (:class:`_WatchedConnection`); only weak references are kept, so an answer dropped
    half-read is not held open, and a socket that was closed and replaced (the pool reused the connection)
    is not the one shut."""

    def __init__(self, deadline: Deadline) -> None:
        self.fired = False
        self.cancelled = False
        self._conn: Callable[[], object] = lambda: None
        self._sock: Callable[[], socket.socket | None] = lambda: None
        if deadline.at is not None:
            _WATCH.add(deadline.at, self)

    def watch(self, conn: object) -> None:
        """``conn`` is now the connection the call waits on."""
        sock = getattr(conn, "sock", None)
        if self.cancelled or sock is None:
            return
        self._conn, self._sock = weakref.ref(conn), weakref.ref(sock)

    def cancel(self) -> None:
        self.cancelled = True

    def fire(self) -> None:
        if self.cancelled:
            return
        conn, sock = self._conn(), self._sock()
        current: object = getattr(conn, "sock", None)  # the pool may have closed and replaced the socket
        if conn is None or sock is None or current is not sock:
            return
        self.fired = True
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


_CALL = threading.local()  # the watchdog of the call running on this thread


class _Watched:
    """Mixed into urllib3's connections: reading an answer reports the connection to the running call's dog."""

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        dog = getattr(_CALL, "dog", None)
        if dog is not None:
            dog.watch(self)
        return super().getresponse(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTP(_Watched, urllib3.connection.HTTPConnection):
    pass


class _WatchedHTTPS(_Watched, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTP


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPS


class _Adapter(HTTPAdapter):
    """requests' adapter with pools whose connections report to the call's watchdog."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


class _Watch:
    """One daemon thread firing due watchdogs (instead of a timer thread per request)."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, _Watchdog]] = []
        self._wake = threading.Condition()
        self._count = 0
        self._thread: threading.Thread | None = None

    def add(self, at: float, dog: _Watchdog) -> None:
        with self._wake:
            self._count += 1
            heapq.heappush(self._due, (at, self._count, dog))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="vodaxa-watchdog", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._due and self._due[0][2].cancelled:
                    heapq.heappop(self._due)
                if not self._due:
                    self._wake.wait(60.0)
                    continue
                at, _, dog = self._due[0]
                now = time.monotonic()
                if at > now:
                    self._wake.wait(at - now)
                    continue
                heapq.heappop(self._due)
            dog.fire()


_WATCH = _Watch()


def _timeouts(given: _Timeout | None, config: HttpConfig) -> tuple[float, float]:
    """(connect, read) seconds from a caller's ``timeout=`` (a number, a pair, or None for the config's)."""
    if given is None:
        return config.connect_timeout, config.read_timeout
    if isinstance(given, tuple):
        connect, read = given
        return (config.connect_timeout if connect is None else connect), (config.read_timeout if read is None else read)
    return float(given), float(given)


def _slow(url: str, config: HttpConfig) -> ServiceError:
    return ServiceError(f"{url} did not finish its answer within {config.body_timeout:.0f} s "
                        "(HttpConfig(body_timeout=...) gives slow services longer)", url=url)  # fmt: skip
