"""Seeded, reproducible fault injection for sandbox servers: latency, slow links, errors, cut bodies.

Whether a request fails is decided from ``(seed, method, path, attempt number of that path)``, so
a run sees the same faults whatever the order in which concurrent requests arrive, and a retry of
the same URL draws afresh (as it would against a flaky real server).
"""

from __future__ import annotations

import asyncio
import inspect
import random
import threading
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from aiohttp import web

__all__ = ["FAULT_KEY", "Decision", "FaultInjector", "Faults", "make_app"]


@dataclass(frozen=True)
class Faults:
    """What a sandbox injects: latency, slow links, error answers and cut bodies.

    Rates are probabilities per request, in [0, 1].  Whether a request fails is decided from ``(seed, method,
    path, attempt number of that path)``, so a run sees the same faults whatever the order in which concurrent
    requests arrive, and a retry of the same URL draws afresh (as it would against a flaky real server).

    Parameters
    ----------
    latency : float, optional
        Seconds added before every answer (default 0).
    bandwidth : float, optional
        Bytes per second of each request's link, both ways: response bodies are sent at this rate, and an
        answer waits as long as the request's body (a TAP upload, a POSTed ID list) took to arrive at it.
        By default unlimited.
    error_500 : float, optional
        Rate of 500 answers with an HTML error page (default 0).
    error_503 : float, optional
        Rate of 503 answers with ``Retry-After`` (default 0).
    error_429 : float, optional
        Rate of 429 answers with ``Retry-After`` (default 0).
    drop : float, optional
        Rate of connections reset halfway through the body (default 0).
    truncate : float, optional
        Rate of connections closed cleanly after part of the body (default 0).
    retry_after : int, optional
        Seconds sent in ``Retry-After`` with 503 and 429 (default 1).
    seed : int, optional
        Seed of the draws (default 0).
    paths : tuple of str, optional
        Path prefixes the error and body faults apply to (default ``("/",)``: all); latency applies to all.

    Raises
    ------
    ValueError
        When a rate is outside [0, 1], the error rates add up to more than 1, ``latency`` is negative or
        ``bandwidth`` is not positive.

    Examples
    --------
    >>> from vodaxa.sandbox import Faults
    >>> flaky = Faults(latency=0.02, error_503=0.1, drop=0.05, truncate=0.05, seed=1)
    >>> flaky.with_(error_503=0.0).error_503
    0.0
    """

    latency: float = 0.0  # seconds added before every answer
    bandwidth: float | None = None  # bytes per second, response and request bodies (None = unlimited)
    error_500: float = 0.0  # answer 500 with an HTML error page
    error_503: float = 0.0  # answer 503 with Retry-After
    error_429: float = 0.0  # answer 429 with Retry-After
    drop: float = 0.0  # reset the connection halfway through the body
    truncate: float = 0.0  # close the connection cleanly after part of the body
    retry_after: int = 1  # seconds, sent with 503 and 429
    seed: int = 0
    paths: tuple[str, ...] = ("/",)  # path prefixes the error and body faults apply to

    def __post_init__(self) -> None:
        for name in ("error_500", "error_503", "error_429", "drop", "truncate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Faults.{name}={value} must be a probability between 0 and 1")
        if self.error_500 + self.error_503 + self.error_429 > 1.0:
            raise ValueError("Faults: error_500 + error_503 + error_429 must not exceed 1")
        if self.latency < 0 or (self.bandwidth is not None and self.bandwidth <= 0):
            raise ValueError("Faults: latency must be >= 0 and bandwidth > 0")

    def with_(self, **changes: object) -> Faults:
        """Return a copy with some fields changed.

        Parameters
        ----------
        **changes : object
            New values of fields, by name (as the constructor takes them).

        Returns
        -------
        Faults
            The copy, checked as a new one is.
        """
        # the field names and values are checked at run time (an unknown name is a TypeError, a bad rate a ValueError)
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Decision:
    """The faults drawn for one request."""

    status: int | None = None  # an error status to answer instead of the real one
    cut: str | None = None  # "drop" or "truncate" the body


FAULT_KEY = web.RequestKey("vodaxa_fault", Decision)


@dataclass
class FaultInjector:
    """Draws decisions and applies them; one per server, counting what it injected."""

    faults: Faults = field(default_factory=Faults)
    attempts: Counter = field(default_factory=Counter)
    injected: Counter = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def decide(self, method: str, path: str) -> Decision:
        """The reproducible decision for this request."""
        f = self.faults
        if not any(path.startswith(p) for p in f.paths):
            return Decision()
        with self._lock:
            n = self.attempts[(method, path)]
            self.attempts[(method, path)] += 1
        rng = random.Random(zlib.crc32(f"{f.seed}\0{method}\0{path}\0{n}".encode()))
        draw = rng.random()
        status = None
        for code, rate in ((500, f.error_500), (503, f.error_503), (429, f.error_429)):
            if draw < rate:
                status = code
                break
            draw -= rate
        cut = None
        if status is None:
            draw = rng.random()
            if draw < f.drop:
                cut = "drop"
            elif draw < f.drop + f.truncate:
                cut = "truncate"
        decision = Decision(status, cut)
        if status or cut:
            with self._lock:
                self.injected[str(status or cut)] += 1
        return decision

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """aiohttp middleware: latency for all, error answers, the bandwidth cap both ways, and cut bodies."""
        if self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        decision = self.decide(request.method, request.path_qs)
        request[FAULT_KEY] = decision
        if decision.status:
            return _error_response(decision.status, self.faults.retry_after)
        bandwidth = self.faults.bandwidth
        if bandwidth and request.content_length:  # a link is slow both ways: the body takes its time to arrive
            await asyncio.sleep(request.content_length / bandwidth)
        response = await handler(request)
        if bandwidth and request.content_length is None and request.body_exists:  # chunked: known once read
            await asyncio.sleep(request.content.total_bytes / bandwidth)
        body = getattr(response, "body", None)
        if isinstance(response, web.Response) and isinstance(body, bytes) and (decision.cut or self.faults.bandwidth):
            return await self.send(request, response.status, dict(response.headers), _chunks(body), len(body))
        return response

    async def send(
        self,
        request: web.Request,
        status: int,
        headers: dict[str, str],
        chunks: AsyncIterator[bytes],
        length: int,
    ) -> web.StreamResponse:
        """Stream a body of ``length`` bytes, honouring the bandwidth cap and any drawn cut."""
        decision: Decision = request.get(FAULT_KEY, Decision())
        headers = {k: v for k, v in headers.items() if k.lower() not in ("content-length", "transfer-encoding")}
        response = web.StreamResponse(status=status, headers=headers)
        response.content_length = length
        await response.prepare(request)
        if request.method == "HEAD":
            return response
        stop_at = length // 2 if decision.cut else None
        bandwidth = self.faults.bandwidth
        piece = max(1024, int(bandwidth / 20)) if bandwidth else 1 << 30  # ~50 ms of data per write
        sent = 0
        async for chunk in chunks:
            for start in range(0, len(chunk), piece):
                part = chunk[start : start + piece]
                if stop_at is not None and sent + len(part) >= stop_at:
                    part = part[: max(stop_at - sent, 1)]
                if bandwidth:
                    await asyncio.sleep(len(part) / bandwidth)
                await response.write(part)
                sent += len(part)
                if stop_at is not None and sent >= stop_at:
                    await _cut(request, response, decision.cut or "drop")
                    return response
        await response.write_eof()
        return response


async def _chunks(body: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def _cut(request: web.Request, response: web.StreamResponse, how: str) -> None:
    """End the connection mid-body: an RST (drop) or a clean FIN after a short body (truncate)."""
    transport = request.transport
    if transport is None:
        return
    if how == "drop":
        transport.abort()
    else:
        await asyncio.sleep(0)  # let the written bytes reach the socket buffer
        transport.close()
    # aiohttp must not try to finish the message on the closed connection
    raise asyncio.CancelledError


def _error_response(status: int, retry_after: int) -> web.Response:
    reason = {500: "Internal Server Error", 503: "Service Unavailable", 429: "Too Many Requests"}[status]
    headers = {"Retry-After": str(retry_after)} if status in (429, 503) else {}
    page = (
        f'<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head><title>{status} {reason}'
        f"</title></head><body><h1>{reason}</h1><p>The server is having a bad day (injected fault)."
        "</p></body></html>\n"
    )
    return web.Response(status=status, text=page, content_type="text/html", headers=headers)


def make_app(injector: FaultInjector) -> web.Application:
    """An aiohttp application with the fault middleware and limits fit for big uploads and ID lists."""
    options: dict[str, Any] = {"client_max_size": 200 * 1024**2}  # keyword arguments of web.Application
    if "client_max_fields" in inspect.signature(web.Application).parameters:  # aiohttp >= 3.13
        options["client_max_fields"] = 1_000_000
    return web.Application(middlewares=[injector.middleware], **options)
