"""The one network core.  Every HTTP request vodaxa makes goes through it: :class:`HttpClient` (async,
aiohttp) for DataLink, listings and downloads, :class:`Session` (sync, requests) for pyvo's TAP, Sesame,
registry, table fetches and the ESO login.  Both apply one policy (:mod:`.policy`): redirects with
credentials re-decided per hop, one retry rule with a clamped ``Retry-After``, the deadline model, and a
cap on bodies read into memory.  :func:`run_sync` bridges async code to plain and Jupyter callers.  Under the
async client sits a swappable transport (:mod:`.transport`): :class:`MockTransport` answers from a function, and
:class:`HttpClient.stream` hands over an :class:`Answer` unread.
"""

from __future__ import annotations

from .bridge import run_sync
from .client import HttpClient, Response
from .policy import (
    RETRY_STATUSES,
    BodyTooLarge,
    Deadline,
    HttpConfig,
    is_loopback,
    pause,
    retry_after_seconds,
    same_origin,
    unknown_host,
)  # fmt: skip
from .sync import Session
from .transport import AiohttpTransport, Answer, MockTransport, Reply, Request, Transport

__all__ = [
    "RETRY_STATUSES", "AiohttpTransport", "Answer", "BodyTooLarge", "Deadline", "HttpClient", "HttpConfig",
    "MockTransport", "Reply", "Request", "Response", "Session", "Transport", "is_loopback", "pause",
    "retry_after_seconds", "run_sync", "same_origin", "session", "unknown_host",
]  # fmt: skip


def session(config: HttpConfig | None = None, *, credentials: bool = True) -> Session:
    """Make a sync session under the network policy, carrying the active credentials.

    Parameters
    ----------
    config : HttpConfig, optional
        Limits and patience (``HttpConfig()`` by default).
    credentials : bool, optional
        When True (the default) the session carries each active credential to its own realm only
        (``vodaxa.auth.scope()``); False sends none (a login's own request).

    Returns
    -------
    Session
        A ``requests.Session`` for pyvo and plain sync calls.

    Examples
    --------
    >>> import vodaxa
    >>> from vodaxa import net
    >>> answer = net.session().get(vodaxa.endpoints.get("heasarc", "tap") + "/availability")
    >>> answer.status_code
    200
    """
    if not credentials:
        return Session(config)
    from ..auth import scope  # the core knows no archive: credentials come in as callbacks

    scoped = scope()
    return Session(config, headers_for=scoped.headers_for, params_for=scoped.params_for)
