"""The transport seam under :class:`~.client.HttpClient`: what sends one request and hands back its answer.

The client keeps the policy (redirects hop by hop, credentials per hop, retries, caps, gates); a transport only
exchanges bytes.  :class:`AiohttpTransport` is the real one; :class:`MockTransport` answers from a function, so
code above the core (DataLink, listings, the downloader, an archive's resolver) is tested without a server.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeAlias
from urllib.parse import urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    import aiohttp

    from .policy import HttpConfig

__all__ = ["AiohttpTransport", "Answer", "MockTransport", "Reply", "Request", "Transport"]

#: Bytes a response may buffer before reading pauses (aiohttp's default, 64 KiB, costs many small reads).
READ_BUFFER = 1 << 20
HEADER_FIELD_MAX = 1 << 15  # bytes of one response header: aiohttp's 8 KiB refuses long Content-Disposition names

#: Query parameters: a mapping, or ``(name, value)`` pairs (a name may repeat), as aiohttp takes them.
QueryParams: TypeAlias = "Mapping[str, str | int | float] | Sequence[tuple[str, str | int | float]]"
#: A request body: bytes, text, or a form (a mapping or ``(name, value)`` pairs, sent url-encoded).
RequestBody: TypeAlias = "bytes | str | Mapping[str, str] | Sequence[tuple[str, str]]"


class Chunks(Protocol):
    """An answer's body as it arrives (aiohttp's ``StreamReader`` has this shape)."""

    def iter_chunked(self, n: int) -> AsyncIterator[bytes]:
        """Iterate over the body in pieces of at most ``n`` bytes.

        Parameters
        ----------
        n : int
            The largest piece wanted, in bytes.

        Returns
        -------
        collections.abc.AsyncIterator of bytes
            The body's pieces, in order.
        """
        ...


class Answer(Protocol):
    """An answer as a transport hands it back, its body not yet read (aiohttp's ``ClientResponse`` has this
    shape); :meth:`HttpClient.stream <vodaxa.net.HttpClient.stream>` yields one.

    Parameters
    ----------
    *args, **kwargs
        None: a protocol is a shape to implement (or to annotate with), not a class to instantiate.
    """

    @property
    def status(self) -> int:
        """The HTTP status code."""
        ...

    @property
    def reason(self) -> str | None:
        """The status's reason phrase, if known."""
        ...

    @property
    def url(self) -> object:
        """The URL that answered: a str, or aiohttp's ``yarl.URL`` (``str()`` it)."""
        ...

    @property
    def headers(self) -> Mapping[str, str]:
        """The response headers (case-insensitive, for both transports)."""
        ...

    @property
    def content(self) -> Chunks:
        """The body as it arrives, read with ``content.iter_chunked(n)``."""
        ...

    async def read(self) -> bytes:
        """Read the whole body.

        Returns
        -------
        bytes
            The body, as sent (no content coding undone).
        """
        ...


class Transport(Protocol):
    """Sends one request (no redirects followed, no retries) and yields its answer unread.

    :class:`HttpClient` keeps the policy (redirects hop by hop, credentials per hop, retries, caps, gates);
    a transport only exchanges bytes.  :class:`AiohttpTransport` is the real one, :class:`MockTransport`
    answers from a function.

    Parameters
    ----------
    *args, **kwargs
        None: a protocol is a shape to implement (pass an implementation as ``HttpClient(transport=...)``),
        not a class to instantiate.
    """

    async def open(self) -> None:
        """Get ready to send (create sessions, connection pools); called again it does nothing."""
        ...

    async def close(self) -> None:
        """Release what :meth:`open` created."""
        ...

    def exchange(
        self,
        method: str,
        url: str,
        *,
        params: QueryParams | None,
        data: RequestBody | None,
        headers: Mapping[str, str],
    ) -> contextlib.AbstractAsyncContextManager[Answer]:
        """Send one request and hand over its answer unread, redirects not followed.

        Parameters
        ----------
        method : str
            The HTTP method (``"GET"``, ``"POST"``, ``"HEAD"``...).
        url : str
            The URL to send it to.
        params : mapping or sequence of (str, value) pairs, or None
            Query parameters to add to ``url``.
        data : bytes, str, mapping or sequence of (str, str) pairs, or None
            The request body; a mapping or pairs are sent as a url-encoded form.
        headers : mapping of str to str
            The request headers.

        Returns
        -------
        contextlib.AbstractAsyncContextManager of Answer
            Entered, it gives the :class:`Answer`; leaving it releases the connection.
        """
        ...


class AiohttpTransport:
    """The real transport: one pooled aiohttp session with the config's connection limits and timeouts.

    Parameters
    ----------
    config : HttpConfig
        The connection limit (``total``), the connect and read timeouts and the User-Agent.
    """

    def __init__(self, config: HttpConfig) -> None:
        self.config = config
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        """Create the aiohttp session (idempotent)."""
        if self._session is None:
            import aiohttp

            cfg = self.config
            connector = aiohttp.TCPConnector(limit=cfg.total, limit_per_host=0, enable_cleanup_closed=True)
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=cfg.connect_timeout, sock_read=cfg.read_timeout)
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=timeout,
                auto_decompress=False,  # archives send .gz files with Content-Encoding: gzip; keep the bytes
                read_bufsize=READ_BUFFER,
                max_field_size=HEADER_FIELD_MAX,
                headers={"User-Agent": cfg.user_agent},
            )

    async def close(self) -> None:
        """Close the session and its connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The aiohttp session (open it first).

        Raises
        ------
        RuntimeError
            If the transport has not been opened.
        """
        if self._session is None:
            raise RuntimeError("HttpClient is not open: use 'async with HttpClient() as http'")
        return self._session

    def exchange(
        self,
        method: str,
        url: str,
        *,
        params: QueryParams | None,
        data: RequestBody | None,
        headers: Mapping[str, str],
    ) -> contextlib.AbstractAsyncContextManager[Answer]:
        """Send one aiohttp request, redirects not followed.

        Parameters
        ----------
        method : str
            The HTTP method.
        url : str
            The URL to send it to.
        params : mapping or sequence of (str, value) pairs, or None
            Query parameters to add to ``url``.
        data : bytes, str, mapping or sequence of (str, str) pairs, or None
            The request body; a mapping or pairs are sent as a url-encoded form.
        headers : mapping of str to str
            The request headers (the session adds its User-Agent).

        Returns
        -------
        contextlib.AbstractAsyncContextManager of Answer
            aiohttp's request context: entered, it gives the ``aiohttp.ClientResponse``.

        Raises
        ------
        RuntimeError
            If the transport has not been opened.
        """
        return self.session.request(method, url, params=params, data=data, headers=dict(headers),
                                    allow_redirects=False)  # fmt: skip


@dataclass(frozen=True)
class Request:
    """One request as a :class:`MockTransport` handler sees it.

    Parameters
    ----------
    method : str
        The HTTP method, upper-case.
    url : str
        The URL, with the query parameters in it.
    headers : collections.abc.Mapping of str to str
        The request headers, credentials included (as the server would receive them).
    body : bytes, optional
        The request body (a form url-encoded); empty by default.
    """

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes = b""


@dataclass
class Reply:
    """A :class:`MockTransport` handler's answer.

    Parameters
    ----------
    status : int, optional
        The HTTP status code (200 by default).
    headers : collections.abc.Mapping of str to str, optional
        The response headers; ``Content-Length`` is added when absent.
    body : bytes, optional
        The response body (empty by default).
    chunk : int, optional
        The body is handed out in pieces of at most this many bytes (64 KiB by default), to test readers of
        partial answers.
    """

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunk: int = 1 << 16


class _Content:
    def __init__(self, body: bytes, chunk: int) -> None:
        self._body, self._chunk = body, chunk

    async def iter_chunked(self, n: int) -> AsyncIterator[bytes]:
        step = max(1, min(n, self._chunk))
        for start in range(0, len(self._body), step):
            yield self._body[start : start + step]


class _MockAnswer:
    """An answer with the parts of aiohttp's response the client and the downloader read."""

    def __init__(self, url: str, reply: Reply) -> None:
        from http import HTTPStatus

        from multidict import CIMultiDict, CIMultiDictProxy

        headers = CIMultiDict(reply.headers)
        if "Content-Length" not in headers and reply.body is not None:
            headers["Content-Length"] = str(len(reply.body))
        self.status = reply.status
        self.reason = HTTPStatus(reply.status).phrase if reply.status in HTTPStatus._value2member_map_ else None
        self.url = url
        self.headers = CIMultiDictProxy(headers)
        self.content = _Content(reply.body, reply.chunk)
        self._body = reply.body

    async def read(self) -> bytes:
        return self._body


#: What a :class:`MockTransport` calls for each request: a function, or a coroutine function, returning a Reply.
Handler: TypeAlias = "Callable[[Request], Reply | Awaitable[Reply]]"


class MockTransport:
    """A transport that answers every request from a function, so code above the network core (DataLink,
    listings, the downloader, an archive's resolver) is tested without a server.

    Parameters
    ----------
    handler : callable
        ``handler(Request) -> Reply``, a plain function or a coroutine function.  A handler that raises an
        ``aiohttp.ClientError`` or ``asyncio.TimeoutError`` stands for a lost connection.

    Attributes
    ----------
    requests : list of Request
        Every request sent, in order, for tests to inspect.

    See Also
    --------
    HttpClient : takes a transport as ``HttpClient(transport=...)``; the policy (redirects, credentials per hop,
        retries, caps) stays in the client, whichever transport sends the bytes.

    Examples
    --------
    >>> from vodaxa.net import HttpClient, MockTransport, Reply, run_sync
    >>> def handler(request):
    ...     return Reply(200, {"Content-Type": "text/plain"}, f"{request.method} {request.url}".encode())
    >>> transport = MockTransport(handler)
    >>> async def fetch():
    ...     async with HttpClient(transport=transport) as http:
    ...         return await http.get("https://archive.example/data", params={"obs": "0123"})
    >>> response = run_sync(fetch())
    >>> response.status, response.text()
    (200, 'GET https://archive.example/data?obs=0123')
    >>> [request.url for request in transport.requests]
    ['https://archive.example/data?obs=0123']
    """

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Request] = []

    async def open(self) -> None:
        """Do nothing: there is nothing to open."""

    async def close(self) -> None:
        """Do nothing: there is nothing to close."""

    @contextlib.asynccontextmanager
    async def exchange(
        self,
        method: str,
        url: str,
        *,
        params: QueryParams | None,
        data: RequestBody | None,
        headers: Mapping[str, str],
    ) -> AsyncIterator[Answer]:
        """Call the handler with the request as the server would see it, and hand over its reply.

        Parameters
        ----------
        method : str
            The HTTP method.
        url : str
            The URL.
        params : mapping or sequence of (str, value) pairs, or None
            Query parameters, appended to the URL the handler sees.
        data : bytes, str, mapping or sequence of (str, str) pairs, or None
            The request body; a mapping or pairs are url-encoded, as aiohttp sends a form.
        headers : mapping of str to str
            The request headers.

        Yields
        ------
        Answer
            The handler's :class:`Reply` as an answer (its body handed out in ``Reply.chunk``-byte pieces).
        """
        request = Request(method.upper(), _with_params(url, params), dict(headers), _body(data))
        self.requests.append(request)
        reply = self.handler(request)
        if inspect.isawaitable(reply):
            reply = await reply
        yield _MockAnswer(request.url, reply)


def _with_params(url: str, params: QueryParams | None) -> str:
    """``url`` with ``params`` (a mapping or pairs) appended to its query, as aiohttp sends them."""
    if not params:
        return url
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(pairs)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _body(data: RequestBody | None) -> bytes:
    """A request body as bytes (forms, a mapping or pairs, encoded as aiohttp encodes them)."""
    if data is None:
        return b""
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode()
    if isinstance(data, Mapping):
        return urlencode(list(data.items())).encode()
    if isinstance(data, (list, tuple)):
        return urlencode(list(data)).encode()
    return str(data).encode()
