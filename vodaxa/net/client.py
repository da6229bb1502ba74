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
from typing import Any
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
from .transport import AiohttpTransport, Answer, Transport

__all__ = ["HttpClient", "Response"]

#: aiohttp's errors for URLs it cannot request at all (InvalidURL also covers a URL without a host).
_UNMENDABLE = (aiohttp.InvalidURL, getattr(aiohttp, "NonHttpUrlClientError", aiohttp.InvalidURL))

log = logging.getLogger("vodaxa.http")



@dataclass(frozen=True)
class Response:
    """A complete answer: status, final URL, headers and body."""

    status: int
    url: str
    headers: Mapping[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        """The Content-Type header, lower-cased, with parameters."""
        return self.headers.get("Content-Type", "").lower()

    def text(self, limit: int | None = None) -> str:
        """The body decoded leniently (for messages and HTML listings)."""
        data = self.body if limit is None else self.body[:limit]
        return data.decode("utf-8", errors="replace")


class HttpClient:
    """An aiohttp session with vodaxa's limits and retry policy; use ``async with HttpClient() as http``."""

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
        """The underlying aiohttp session (the real transport only; open it first)."""
        if not isinstance(self.transport, AiohttpTransport):
            raise RuntimeError("this HttpClient has no aiohttp session: it sends through another transport")
        return self.transport.session

    def limit(self, url: str) -> int:
        """How many requests to ``url``'s host may run at once (its own limit, else ``per_host``)."""
        parts = urlsplit(url)
        limits = self.config.host_limits
        return limits.get(parts.netloc.lower()) or limits.get(parts.hostname or "") or self.config.per_host

    def gate(self, url: str) -> asyncio.Semaphore:
        """The semaphore bounding concurrent requests to ``url``'s host."""
        key = urlsplit(url).netloc.lower()
        if key not in self._host_gates:
            self._host_gates[key] = asyncio.Semaphore(self.limit(url))
        return self._host_gates[key]

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        retries: int | None = None,
        secret_body: bool = False,
    ) -> Response:
        """One request, retried on connection errors and retryable statuses; the last answer is returned.

        Only a connection that never answered raises (:class:`ServiceError` naming the URL); an HTTP error
        status is returned for the caller to judge.
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
            return response
        raise ServiceError(f"{method} {url} failed after {attempts} attempts: {_describe(last_error)}", url=url)

    async def _once(
        self, method: str, url: str, *, params: Any, data: Any, headers: Mapping[str, str] | None, secret_body: bool
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
        params: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        secret_body: bool = False,
    ) -> AsyncIterator[Answer]:
        """One exchange whose final answer is handed over unread, for streaming large bodies.

        Redirects are followed hop by hop (:func:`~.policy.next_hop`) so credentials are re-decided for every
        URL, and a body marked ``secret_body`` (a login) is never replayed to another origin; the host's gate is
        held until the caller is done with the body.  No retries: the caller decides what a failure means.
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
        """Seconds to wait before another try (:func:`~.policy.pause` with this client's config)."""
        return policy.pause(self.config, attempt, retry_after)

    async def get(self, url: str, **options: Any) -> Response:
        """GET with retries."""
        return await self.request("GET", url, **options)

    async def post(self, url: str, **options: Any) -> Response:
        """POST with retries."""
        return await self.request("POST", url, **options)


def _pairs(params: Any) -> list[tuple[str, str]]:
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
