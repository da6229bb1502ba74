"""The transport seam under :class:`~.client.HttpClient`: what sends one request and hands back its answer.

The client keeps the policy (redirects hop by hop, credentials per hop, retries, caps, gates); a transport only
exchanges bytes.  :class:`AiohttpTransport` is the real one; :class:`MockTransport` answers from a function, so
code above the core (DataLink, listings, the downloader, an archive's resolver) is tested without a server.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit, urlunsplit

__all__ = ["AiohttpTransport", "MockTransport", "Reply", "Request", "Transport"]

#: Bytes a response may buffer before reading pauses (aiohttp's default, 64 KiB, costs many small reads).
READ_BUFFER = 1 << 20
HEADER_FIELD_MAX = 1 << 15  # bytes of one response header: aiohttp's 8 KiB refuses long Content-Disposition names


class Answer(Protocol):
    """What a transport hands back (aiohttp's ClientResponse has this shape)."""

    status: int
    reason: str | None
    url: Any
    headers: Mapping[str, str]
    content: Any  # with ``iter_chunked(n)``

    async def read(self) -> bytes: ...


class Transport(Protocol):
    """Sends one request (no redirects followed, no retries) and yields its answer unread."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    def exchange(
        self, method: str, url: str, *, params: Any, data: Any, headers: Mapping[str, str]
    ) -> contextlib.AbstractAsyncContextManager[Answer]: ...


class AiohttpTransport:
    """The real transport: one pooled aiohttp session with the config's connection limits and timeouts."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self._session: Any = None

    async def open(self) -> None:
        """Create the session (idempotent)."""
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
    def session(self) -> Any:
        """The aiohttp session (open it first)."""
        if self._session is None:
            raise RuntimeError("HttpClient is not open: use 'async with HttpClient() as http'")
        return self._session

    def exchange(
        self, method: str, url: str, *, params: Any, data: Any, headers: Mapping[str, str]
    ) -> contextlib.AbstractAsyncContextManager[Answer]:
        """One aiohttp request, redirects not followed."""
        return self.session.request(method, url, params=params, data=data, headers=dict(headers),
                                    allow_redirects=False)  # fmt: skip


@dataclass(frozen=True)
class Request:
    """One request as a :class:`MockTransport` handler sees it: the query parameters are in ``url``."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes = b""


@dataclass
class Reply:
    """A handler's answer: status, headers and body (sent in ``chunk``-byte pieces)."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunk: int = 1 << 16


class _Content:
    def __init__(self, body: bytes, chunk: int) -> None:
        self._body, self._chunk = body, chunk

    async def iter_chunked(self, size: int) -> AsyncIterator[bytes]:
        step = max(1, min(size, self._chunk))
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


Handler = Callable[[Request], "Reply | Awaitable[Reply]"]


class MockTransport:
    """Answers every request from ``handler(Request) -> Reply`` (sync or async); a handler that raises an
    ``aiohttp.ClientError`` or ``asyncio.TimeoutError`` stands for a lost connection.  ``requests`` records
    every request sent, for tests to inspect."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Request] = []

    async def open(self) -> None:
        """Nothing to open."""

    async def close(self) -> None:
        """Nothing to close."""

    @contextlib.asynccontextmanager
    async def exchange(
        self, method: str, url: str, *, params: Any, data: Any, headers: Mapping[str, str]
    ) -> AsyncIterator[Answer]:
        """Call the handler with the request as the server would see it."""
        request = Request(method.upper(), _with_params(url, params), dict(headers), _body(data))
        self.requests.append(request)
        reply = self.handler(request)
        if inspect.isawaitable(reply):
            reply = await reply
        yield _MockAnswer(request.url, reply)


def _with_params(url: str, params: Any) -> str:
    """``url`` with ``params`` (a mapping or pairs) appended to its query, as aiohttp sends them."""
    if not params:
        return url
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(pairs)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _body(data: Any) -> bytes:
    """A request body as bytes (forms encoded as aiohttp encodes them)."""
    if data is None:
        return b""
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode()
    if isinstance(data, Mapping):
        return urlencode(list(data.items())).encode()
    return str(data).encode()
