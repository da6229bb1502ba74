"""The async HTTP client: pooled aiohttp sessions, per-host and total limits, and the network policy of
:mod:`.policy` (redirects hop by hop, one retry rule, deadlines, body caps).  Credentials come from
callbacks (``headers_for``, ``params_for``) chosen per URL and per hop; this module knows no archive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

from ..errors import ServiceError
from . import policy
from .policy import (
    ACCEPT_ENCODING,
    MAX_REDIRECTS,
    REDIRECTS,
    RETRY_STATUSES,
    HttpConfig,
    ambiguous,
    declared_length,
    decode_body,
    next_hop,
    redacted,
    refuse_replay,
    too_big,
    unknown_host,
)
from .transport import AiohttpTransport, Answer, QueryParams, RequestBody, Transport

__all__ = ["HttpClient", "Response"]

#: aiohttp's errors for URLs it cannot request at all (InvalidURL also covers a URL without a host).
_UNMENDABLE = (aiohttp.InvalidURL, getattr(aiohttp, "NonHttpUrlClientError", aiohttp.InvalidURL))

log = logging.getLogger("vodaxa.http")



@dataclass(frozen=True)
class Response:
    """A complete answer, read into memory: what :meth:`HttpClient.request` returns.

    Parameters
    ----------
    status : int
        The HTTP status code of the final answer (after redirects).
    url : str
        The URL that gave the final answer.
    headers : collections.abc.Mapping of str to str
        Its headers.
    body : bytes
        Its body, a gzip or deflate content coding undone.
    """

    status: int
    url: str
    headers: Mapping[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        """The Content-Type header, lower-cased, with parameters."""
        return self.headers.get("Content-Type", "").lower()

    def text(self, limit: int | None = None) -> str:
        """The body decoded leniently, for messages and HTML listings.

        Parameters
        ----------
        limit : int, optional
            Decode only the first ``limit`` bytes (the whole body by default).

        Returns
        -------
        str
            The body as UTF-8, undecodable bytes replaced.
        """
        data = self.body if limit is None else self.body[:limit]
        return data.decode("utf-8", errors="replace")


class HttpClient:
    """The async HTTP client every DataLink call, listing and download goes through: an aiohttp session with
    vodaxa's limits and network policy.  Use it as ``async with HttpClient() as http``.

    The policy (:mod:`vodaxa.net`): redirects followed hop by hop with credentials re-decided for every URL,
    one retry rule with a clamped ``Retry-After``, a cap on bodies read into memory, and per-host gates.
    Credentials come from callbacks chosen per URL; the client itself knows no archive.

    Parameters
    ----------
    config : HttpConfig, optional
        Limits and patience (``HttpConfig()`` by default).
    headers_for : callable, optional
        ``headers_for(url) -> mapping``: the credential headers for a URL (``vodaxa.auth.scope().headers_for``);
        asked again at every redirect hop.
    on_rejected : callable, optional
        ``on_rejected(url) -> bool``: told when a credential was refused (a 401, or a login page); True means
        "a fresh credential is ready, try once more".
    params_for : callable, optional
        ``params_for(url) -> mapping``: credential query parameters for a URL (the XSA's AIOUSER/AIOPWD).
    transport : Transport, optional
        What sends the bytes: an :class:`AiohttpTransport` by default, a :class:`MockTransport` in tests.

    Attributes
    ----------
    requests : int
        How many exchanges were answered (every hop counts), for tests and benchmarks.

    See Also
    --------
    Session : the sync side, under the same policy (pyvo's TAP, Sesame, the ESO login).
    run_sync : runs a coroutine from plain code or a Jupyter cell.

    Examples
    --------
    >>> import vodaxa
    >>> from vodaxa.net import HttpClient, run_sync
    >>> async def availability():
    ...     async with HttpClient() as http:
    ...         return await http.get(vodaxa.endpoints.get("heasarc", "tap") + "/availability")
    >>> response = run_sync(availability())
    >>> response.status, response.content_type
    (200, 'text/xml; charset=utf-8')
    """

    def __init__(
        self,
        config: HttpConfig | None = None,
        *,
        headers_for: Callable[[str], Mapping[str, str]] | None = None,
        on_rejected: Callable[[str], bool] | None = None,
        params_for: Callable[[str], Mapping[str, str]] | None = None,
        transport: Transport | None = None,
    ) -> None:
        self.config = config or HttpConfig()
        self.transport: Transport = transport or AiohttpTransport(self.config)  # the seam: MockTransport in tests
        self.headers_for = headers_for  # per-URL credential headers (vodaxa.auth.scope().headers_for)
        self.on_rejected = on_rejected  # told when a credential was refused; True means "try once more"
        self.params_for = params_for  # per-URL credential query parameters (the XSA's AIOUSER/AIOPWD)
        self._host_gates: dict[str, asyncio.Semaphore] = {}
        self.requests = 0  # answered requests, for tests and benchmarks

    async def __aenter__(self) -> HttpClient:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        """Open the transport (idempotent)."""
        await self.transport.open()

    async def close(self) -> None:
        """Close the transport and its connections."""
        await self.transport.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        """The underlying aiohttp session (the real transport only; open it first).

        Raises
        ------
        RuntimeError
            If the client sends through another transport, or is not open.
        """
        if not isinstance(self.transport, AiohttpTransport):
            raise RuntimeError("this HttpClient has no aiohttp session: it sends through another transport")
        return self.transport.session

    def limit(self, url: str) -> int:
        """How many requests to ``url``'s host may run at once.

        Parameters
        ----------
        url : str
            Any URL of the host.

        Returns
        -------
        int
            The host's own limit from ``HttpConfig.host_limits`` (by ``host:port``, then ``host``), else
            ``HttpConfig.per_host``.
        """
        parts = urlsplit(url)
        limits = self.config.host_limits
        return limits.get(parts.netloc.lower()) or limits.get(parts.hostname or "") or self.config.per_host

    def gate(self, url: str) -> asyncio.Semaphore:
        """The semaphore bounding concurrent requests to ``url``'s host.

        Parameters
        ----------
        url : str
            Any URL of the host.

        Returns
        -------
        asyncio.Semaphore
            One per ``host:port``, created on first use with :meth:`limit` places.
        """
        key = urlsplit(url).netloc.lower()
        if key not in self._host_gates:
            self._host_gates[key] = asyncio.Semaphore(self.limit(url))
        return self._host_gates[key]

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: QueryParams | None = None,
        data: RequestBody | None = None,
        headers: Mapping[str, str] | None = None,
        retries: int | None = None,
        secret_body: bool = False,
    ) -> Response:
        """Send one request, retried on connection errors and retryable statuses, and read its answer whole.

        Redirects are followed hop by hop (see :meth:`stream`); the answer is read into memory, at most
        ``HttpConfig.max_body`` bytes within ``HttpConfig.body_timeout`` seconds, a gzip or deflate coding undone.
        A credential refused (see ``on_rejected``) is retried once with a fresh one.

        Parameters
        ----------
        method : str
            The HTTP method (``"GET"``, ``"POST"``, ``"HEAD"``...).
        url : str
            The URL.
        params : mapping or sequence of (str, value) pairs, optional
            Query parameters to add to the URL.
        data : bytes, str, mapping or sequence of (str, str) pairs, optional
            The request body; a mapping or pairs are sent as a url-encoded form.
        headers : mapping of str to str, optional
            Extra request headers (they win over the credential headers of ``headers_for``).
        retries : int, optional
            Tries after the first (``HttpConfig.retries`` by default).
        secret_body : bool, optional
            The body carries a credential (a login form): it is never replayed to another origin on a redirect.

        Returns
        -------
        Response
            The last answer.  An HTTP error status is returned for the caller to judge, not raised.

        Raises
        ------
        vodaxa.errors.ServiceError
            If no answer came (the URL cannot be requested, its host name cannot be looked up, or every try
            lost its connection), or a redirect is refused or loops; the message names the URL.
        vodaxa.net.BodyTooLarge
            If the answer is larger than ``HttpConfig.max_body``.
        """
        attempts = (self.config.retries if retries is None else retries) + 1
        last_error: Exception | None = None
        rejected_once = False
        for attempt in range(attempts):
            try:
                response = await self._once(method, url, params=params, data=data, headers=headers,
                                            secret_body=secret_body)  # fmt: skip
            except _UNMENDABLE as err:  # a URL no retry can mend (file://, no host): say so at once
                why = f"not a URL vodaxa can request ({_describe(err)})"
                raise ServiceError(f"{method} {url}: {why}", url=url) from None
            except (aiohttp.ClientError, asyncio.TimeoutError) as err:
                last_error = err
                host = unknown_host(err)
                if host:  # no such name (or no network): not retried
                    why = f"the name of the host '{host}' could not be looked up ({_describe(err)})"
                    raise ServiceError(f"{method} {url}: {why}; is this machine online, and is the endpoint right?",
                                       url=url) from None  # fmt: skip
                if attempt + 1 < attempts:
                    await asyncio.sleep(self.pause(attempt, None))
                continue
            if self._rejected(url, response) and not rejected_once:
                rejected_once = True
                continue
            if response.status in RETRY_STATUSES and attempt + 1 < attempts:
                log.info("%s %s answered %s; retrying", method, url, response.status)
                await asyncio.sleep(self.pause(attempt, response.headers.get("Retry-After")))
                continue
            log.debug("%s %s -> %s", method, url, response.status)
            return response
        raise ServiceError(f"{method} {url} failed after {attempts} attempts: {_describe(last_error)}", url=url)

    async def _once(
        self,
        method: str,
        url: str,
        *,
        params: QueryParams | None,
        data: RequestBody | None,
        headers: Mapping[str, str] | None,
        secret_body: bool,
    ) -> Response:
        """One exchange read whole (redirects followed hop by hop, see :meth:`stream`), at most ``max_body``
        bytes within ``body_timeout`` seconds: a bigger answer is a :class:`~.policy.BodyTooLarge`, a slower
        one a timeout (retried like a lost connection).  A gzip or deflate coding is undone (within the same
        cap); streams (:meth:`stream`, the downloader) keep the bytes as sent."""
        asked = {"Accept-Encoding": ACCEPT_ENCODING, **(headers or {})}  # only codings decode_body reads
        exchange = self.stream(method, url, params=params, data=data, headers=asked, secret_body=secret_body)
        async with exchange as answer:
            body = await asyncio.wait_for(self._read_capped(answer, url), self.config.body_timeout)
            coding = answer.headers.get("Content-Encoding")
            if coding and asked.get("Accept-Encoding", "").lower() != "identity":
                body = decode_body(body, coding, self.config.max_body, str(answer.url))
            return Response(answer.status, str(answer.url), dict(answer.headers), body)

    async def _read_capped(self, answer: Answer, url: str) -> bytes:
        cap = self.config.max_body
        declared = declared_length(answer.headers)
        if declared is not None and declared > cap:
            raise too_big(url, cap, declared)
        parts, size = [], 0
        async for block in answer.content.iter_chunked(1 << 16):
            size += len(block)
            if size > cap:
                raise too_big(url, cap)
            parts.append(block)
        return b"".join(parts)

    @contextlib.asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str,
        *,
        params: QueryParams | None = None,
        data: RequestBody | None = None,
        headers: Mapping[str, str] | None = None,
        secret_body: bool = False,
    ) -> AsyncIterator[Answer]:
        """Send one request and hand over its final answer unread, for streaming large bodies.

        Use it as ``async with http.stream("GET", url) as answer``.  Redirects are followed hop by hop
        (:func:`~.policy.next_hop`) so credentials are re-decided for every URL, and a body marked
        ``secret_body`` (a login) is never replayed to another origin; the host's gate is held until the
        caller is done with the body.  No retries: the caller decides what a failure means.

        Parameters
        ----------
        method : str
            The HTTP method.
        url : str
            The URL.
        params : mapping or sequence of (str, value) pairs, optional
            Query parameters to add to the URL (the first hop only).
        data : bytes, str, mapping or sequence of (str, str) pairs, optional
            The request body; kept on 307/308 redirects, dropped when a redirect turns the request into a GET.
        headers : mapping of str to str, optional
            Extra request headers; ``Authorization`` and ``Cookie`` among them go to the same origin only.
        secret_body : bool, optional
            The body carries a credential: a redirect that would replay it to another origin is refused.

        Yields
        ------
        Answer
            The final answer, its body unread (``answer.content.iter_chunked(n)``), as sent (no content coding
            undone).

        Raises
        ------
        vodaxa.errors.ServiceError
            If a URL's host is ambiguous, a redirect loops (more than ten hops), leads to a Location that is not
            an http(s) URL, or would replay a ``secret_body`` to another origin.
        """
        explicit = dict(headers or {})
        current, hops = url, 0
        while True:
            if ambiguous(current):  # before any credential is chosen for it
                raise ServiceError(f"{method}: {ambiguous(current)}; vodaxa does not send it", url=current)
            merged = {**(self.headers_for(current) if self.headers_for else {}), **explicit}
            secret_params = self.params_for(current) if self.params_for else {}
            if secret_params:
                params = [*(_pairs(params)), *secret_params.items()]
            async with (
                self.gate(current),
                self.transport.exchange(method, current, params=params, data=data, headers=merged) as answer,
            ):
                self.requests += 1
                location = answer.headers.get("Location")
                if answer.status not in REDIRECTS or not location:
                    yield answer
                    return
                if hops >= MAX_REDIRECTS:
                    raise ServiceError(f"{method} {redacted(url)}: more than {MAX_REDIRECTS} redirects (a loop?); "
                                       "nothing was read", url=current)  # fmt: skip
                await answer.read()  # drain the redirect page so the connection can be reused
            try:
                hop = next_hop(method, answer.status, str(answer.url), location, sent_params=bool(secret_params))
            except ValueError as err:
                raise ServiceError(f"{method} {redacted(current)} redirected to a Location that is not a URL "
                                   f"({err})", url=current) from None  # fmt: skip
            if urlsplit(hop.url).scheme not in ("http", "https"):
                raise ServiceError(f"{method} {redacted(current)} redirected to {redacted(hop.url)}, which is not an "
                                   "http(s) URL; vodaxa does not follow it", url=current)  # fmt: skip
            refused = refuse_replay(hop, current, secret_body)
            if refused:
                raise ServiceError(refused, url=current)
            if not hop.same_origin:
                explicit = {k: v for k, v in explicit.items() if k.lower() not in ("authorization", "cookie")}
            method, target = hop.method, hop.url
            data = data if hop.keeps_body else None
            current, params, hops = target, None, hops + 1

    def _rejected(self, url: str, response: Response) -> bool:
        """A credential was sent and refused (401, or a login page with status 200): ask for a fresh one."""
        if self.on_rejected is None or not (self.headers_for and self.headers_for(url)):
            return False
        login_page = (
            response.status == 200
            and response.content_type.startswith("text/html")
            and (b"login" in response.body[:4096].lower())
        )
        return (response.status == 401 or login_page) and self.on_rejected(url)

    def pause(self, attempt: int, retry_after: str | None) -> float:
        """Seconds to wait before another try: :func:`~vodaxa.net.pause` with this client's config.

        Parameters
        ----------
        attempt : int
            The number of the try that failed, from 0.
        retry_after : str or None
            The answer's ``Retry-After`` header, if any.

        Returns
        -------
        float
            The server's wait when it is sane, else jittered exponential backoff; never above
            ``HttpConfig.max_backoff``.
        """
        return policy.pause(self.config, attempt, retry_after)

    async def get(
        self,
        url: str,
        *,
        params: QueryParams | None = None,
        data: RequestBody | None = None,
        headers: Mapping[str, str] | None = None,
        retries: int | None = None,
        secret_body: bool = False,
    ) -> Response:
        """Send a GET with retries: :meth:`request` with ``method="GET"``.

        Parameters
        ----------
        url : str
            The URL.
        params : mapping or sequence of (str, value) pairs, optional
            Query parameters to add to the URL.
        data : bytes, str, mapping or sequence of (str, str) pairs, optional
            A request body (rare with GET).
        headers : mapping of str to str, optional
            Extra request headers.
        retries : int, optional
            Tries after the first (``HttpConfig.retries`` by default).
        secret_body : bool, optional
            The body carries a credential (never replayed to another origin).

        Returns
        -------
        Response
            The last answer, read whole.

        Raises
        ------
        vodaxa.errors.ServiceError
            If no answer came; see :meth:`request`.
        """
        return await self.request("GET", url, params=params, data=data, headers=headers, retries=retries,
                                  secret_body=secret_body)  # fmt: skip

    async def post(
        self,
        url: str,
        *,
        params: QueryParams | None = None,
        data: RequestBody | None = None,
        headers: Mapping[str, str] | None = None,
        retries: int | None = None,
        secret_body: bool = False,
    ) -> Response:
        """Send a POST with retries: :meth:`request` with ``method="POST"``.

        Parameters
        ----------
        url : str
            The URL.
        params : mapping or sequence of (str, value) pairs, optional
            Query parameters to add to the URL.
        data : bytes, str, mapping or sequence of (str, str) pairs, optional
            The request body; a mapping or pairs are sent as a url-encoded form.
        headers : mapping of str to str, optional
            Extra request headers.
        retries : int, optional
            Tries after the first (``HttpConfig.retries`` by default).
        secret_body : bool, optional
            The body carries a credential (a login form): never replayed to another origin.

        Returns
        -------
        Response
            The last answer, read whole.

        Raises
        ------
        vodaxa.errors.ServiceError
            If no answer came; see :meth:`request`.
        """
        return await self.request("POST", url, params=params, data=data, headers=headers, retries=retries,
                                  secret_body=secret_body)  # fmt: skip


def _pairs(params: QueryParams | None) -> list[tuple[str, str]]:
    """Query parameters as a list of pairs, whatever form the caller gave."""
    if params is None:
        return []
    if isinstance(params, Mapping):
        return [(str(k), str(v)) for k, v in params.items()]
    return [(str(k), str(v)) for k, v in params]


def _describe(err: Exception | None) -> str:  # redacted where it lands (VodaxaError messages, log records)
    if err is None:
        return "no answer"
    text = str(err) or type(err).__name__
    return f"{type(err).__name__}: {text}" if text != type(err).__name__ else text
