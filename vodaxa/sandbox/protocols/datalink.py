"""The DataLink ``links`` endpoint shape shared by every sandbox archive: many IDs, GET or POST, a cap."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

from ...resolvers.datalink import LinkRow
from .vo import DATALINK_MIME, FieldMeta, error_document, links_document

__all__ = ["LinksEndpoint", "request_ids"]

Resolver = Callable[[web.Request, Sequence[str]], Awaitable[list[LinkRow]]]


async def request_ids(request: web.Request) -> list[str]:
    """Every ``ID`` value (name case-insensitive) from the query string and a POSTed form, in order."""
    ids = [v for k, v in request.query.items() if k.upper() == "ID"]
    if request.method == "POST":
        form = await request.post()
        ids += [str(v) for k, v in form.items() if k.upper() == "ID"]
    return ids


class LinksEndpoint:
    """Answers a links request: at most ``max_ids`` IDs per call, OVERFLOW flagged beyond that.

    DataLink 1.1 lets a service cap the IDs it handles per call; it must then say OVERFLOW and
    must never split one ID's rows across calls.  Rows of one ID stay consecutive.
    """

    def __init__(self, resolve: Resolver, *, max_ids: int = 1000, extra_fields: Sequence[FieldMeta] = ()) -> None:
        if max_ids < 1:
            raise ValueError("max_ids must be at least 1")
        self.resolve = resolve
        self.extra_fields = tuple(extra_fields)  # how the archive's own columns describe themselves
        self.max_ids = max_ids
        self.calls = 0  # requests answered, for tests and benchmarks

    async def __call__(self, request: web.Request) -> web.Response:
        self.calls += 1
        fmt = request.query.get("RESPONSEFORMAT", "").lower()
        if fmt and not fmt.startswith(("application/x-votable+xml", "votable", "text/xml")):
            return web.Response(
                body=error_document(f"UsageFault: RESPONSEFORMAT={fmt} is not supported"),
                status=400,
                content_type="application/x-votable+xml",
            )
        ids = await request_ids(request)
        overflow = len(ids) > self.max_ids
        links = await self.resolve(request, ids[: self.max_ids])
        body = links_document(links, overflow=overflow, extra_fields=self.extra_fields)
        return web.Response(body=body, headers={"Content-Type": DATALINK_MIME})
