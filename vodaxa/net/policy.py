"""vodaxa's network policy, written once: limits and patience (:class:`HttpConfig`), which answers are
worth another try and how long to wait (:func:`pause`), the deadline model (:class:`Deadline`), how a
redirect is followed (:func:`next_hop`), and the cap on bodies read into memory.  The async client
(:mod:`.client`) and the sync session pyvo uses (:mod:`.session`) both apply it.
"""

from __future__ import annotations

import email.utils
import ipaddress
import math
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from ..errors import ServiceError
from ..redact import strip_secret_params

__all__ = [
    "MAX_REDIRECTS", "REDIRECTS", "RETRY_STATUSES", "BodyTooLarge", "Deadline", "Hop", "HttpConfig", "is_loopback",
    "next_hop", "pause", "retry_after_seconds", "same_origin", "url_problem",
]  # fmt: skip

#: Statuses worth another try (the server is busy, restarting or rate-limiting us).
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: Redirect statuses, followed by hand (at most MAX_REDIRECTS) so credentials are re-decided at each hop.
REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10


@dataclass(frozen=True)
class HttpConfig:
    """Limits and patience of the network core, shared by :class:`HttpClient` and :class:`Session`.

    The deadline model: ``connect_timeout`` to open a connection, ``read_timeout`` between two reads
    (a silent server), ``body_timeout`` to read an in-memory answer whole (a server trickling bytes), and
    the caller's budget over everything (``download(budget=...)``, ``resolve(budget=...)``).

    Parameters
    ----------
    per_host : int, optional
        Requests in flight to one host (8); overridden per host by ``host_limits`` (archives ask for politeness).
    total : int, optional
        Connections open at once, all hosts together (64).
    host_limits : collections.abc.Mapping of str to int, optional
        ``"host:port"`` or ``"host"`` -> the most requests in flight to it.
    connect_timeout : float, optional
        Seconds to open a connection (15).
    read_timeout : float, optional
        Seconds between two reads before a server counts as silent (120: the XSA's AIO assembles a tarball
        before its first byte).
    retries : int, optional
        Tries after the first, for connection errors and retryable statuses (4).
    backoff : float, optional
        The first pause between tries, in seconds (0.5), doubled each retry and jittered.
    max_backoff : float, optional
        The longest pause, in seconds (30); a server's ``Retry-After`` is clamped to it.
    user_agent : str, optional
        The User-Agent header sent.
    max_body : int, optional
        Bytes of an answer read whole (DataLink, listings, TAP, ...); more is a :class:`BodyTooLarge`
        (256 MiB).
    body_timeout : float, optional
        Seconds to read such an answer whole, however slowly the bytes trickle in (300).

    Raises
    ------
    ValueError
        If a time is not a finite number >= 0, or a count not a whole number >= 1 (``retries`` >= 0).
    """

    per_host: int = 8
    total: int = 64
    host_limits: Mapping[str, int] = field(default_factory=dict)  # "host:port" or "host" -> max connections
    connect_timeout: float = 15.0
    read_timeout: float = 120.0  # the XSA's AIO assembles a tarball before its first byte: be patient
    retries: int = 4
    backoff: float = 0.5  # first pause, doubled each retry, jittered
    max_backoff: float = 30.0
    user_agent: str = "vodaxa (https://github.com/vodaxa)"
    max_body: int = 256 << 20  # bytes of an answer read whole (DataLink, listings, TAP, ...): more is an error
    body_timeout: float = 300.0  # seconds to read such an answer whole, however slowly the bytes trickle in

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "read_timeout", "body_timeout", "backoff", "max_backoff"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"HttpConfig.{name} must be a finite number of seconds >= 0, not {value!r}")
        for name in ("per_host", "total", "max_body"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"HttpConfig.{name} must be a whole number >= 1, not {value!r}")
        if not isinstance(self.retries, int) or self.retries < 0:
            raise ValueError(f"HttpConfig.retries must be a whole number >= 0, not {self.retries!r}")


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Read a ``Retry-After`` header (seconds, or an HTTP date) as seconds from now.

    Parameters
    ----------
    value : str or None
        The header's value.
    now : float, optional
        The present as Unix time, for an HTTP date (``time.time()`` by default).

    Returns
    -------
    float or None
        Seconds to wait (0 for a date in the past), or None when the header is absent or not a sane wait
        ("nan", "inf", negative, garbage): the caller's own backoff applies then.
    """
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
        return max(0.0, seconds) if math.isfinite(seconds) else None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def pause(config: HttpConfig, attempt: int, retry_after: str | None = None) -> float:
    """Seconds to wait before retry ``attempt + 1``: the one retry rule of both clients.

    Parameters
    ----------
    config : HttpConfig
        Its ``backoff`` and ``max_backoff``.
    attempt : int
        The number of the try that failed, from 0.
    retry_after : str, optional
        The answer's ``Retry-After`` header, if any.

    Returns
    -------
    float
        The server's Retry-After when it is sane, else jittered exponential backoff (``backoff * 2**attempt``
        times a factor in [0.5, 1]); never more than ``max_backoff``, never NaN or negative.
    """
    asked = retry_after_seconds(retry_after)
    if asked is not None:
        return min(asked, config.max_backoff)
    base = min(config.backoff * 2**attempt, config.max_backoff)
    return base * random.uniform(0.5, 1.0)


class Deadline:
    """A total time budget on the monotonic clock, started when made.

    Parameters
    ----------
    seconds : float or None
        The budget; None for no budget.

    Attributes
    ----------
    seconds : float or None
        The budget given.
    at : float or None
        When it runs out, in ``time.monotonic()`` seconds (None without a budget).

    Raises
    ------
    ValueError
        If ``seconds`` is negative, infinite or NaN.
    """

    def __init__(self, seconds: float | None) -> None:
        if seconds is not None and (not math.isfinite(seconds) or seconds < 0):
            raise ValueError(f"a budget must be a finite number of seconds >= 0, not {seconds!r}")
        self.seconds = seconds
        self.at = None if seconds is None else time.monotonic() + seconds

    @classmethod
    def at_time(cls, when: float | None) -> Deadline:
        """Make a deadline that ends at a given moment.

        Parameters
        ----------
        when : float or None
            The moment, in ``time.monotonic()`` seconds; None for no deadline.

        Returns
        -------
        Deadline
            A deadline ending at ``when``.
        """
        deadline = cls(None)
        deadline.at = when
        return deadline

    def left(self) -> float | None:
        """Seconds remaining.

        Returns
        -------
        float or None
            What remains of the budget (0 when spent), or None without a budget.
        """
        return None if self.at is None else max(0.0, self.at - time.monotonic())

    @property
    def spent(self) -> bool:
        """Whether the budget has run out."""
        return self.at is not None and time.monotonic() >= self.at

    def allows(self, wait: float) -> bool:
        """Whether a pause of ``wait`` seconds still ends inside the budget.

        Parameters
        ----------
        wait : float
            The pause, in seconds.

        Returns
        -------
        bool
            True without a budget, or when the pause ends before the deadline.
        """
        return self.at is None or time.monotonic() + wait < self.at


# ------------------------------------------------------------------------------------------ origins
def is_loopback(host: str | None) -> bool:
    """Whether ``host`` is this machine (localhost or a loopback address).

    Parameters
    ----------
    host : str or None
        A host name or address (an IPv6 address may be in brackets).

    Returns
    -------
    bool
        True for ``localhost``, ``127.0.0.0/8`` and ``::1``; False for anything else, or None.
    """
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of ``url``, the unit credentials are scoped to (an ambiguous host is nobody's)."""
    if ambiguous(url):
        return "ambiguous", url, -1
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    port = port or {"http": 80, "https": 443}.get(parts.scheme.lower(), 0)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def same_origin(a: str, b: str) -> bool:
    """Whether two URLs have the same origin: scheme, host and port (the unit credentials are scoped to).

    Parameters
    ----------
    a, b : str
        The URLs.  A default port counts as given (``https://h/`` is ``https://h:443/``).

    Returns
    -------
    bool
        True when scheme, host and port agree; a URL whose host is ambiguous (a backslash or a control
        character in it) is nobody's origin.
    """
    return origin(a) == origin(b)


def ambiguous(url: str) -> str | None:
    """Why ``url``'s host is not certain, or None.  Python's URL parser and the HTTP libraries' (WHATWG-like)
    disagree about a backslash or a control character in the authority: ``http://B:2\\@A:1/`` is host A to
    ``urlsplit`` and host B to urllib3, so a credential scoped to A would go to B.  Such a URL is never sent."""
    head = url.split("://", 1)[-1]
    authority = re.split(r"[/?#]", head, maxsplit=1)[0]
    plain = authority.isascii() and authority.isprintable() and " " not in authority
    if "\\" in authority or (not plain and any(ord(ch) < 33 or ord(ch) == 127 for ch in authority)):
        return f"the URL {redacted_text(url)!r} has a backslash or a control character where its host is named"
    return None


def redacted_text(url: str) -> str:
    """``url`` for a message, without a password in its user part (whatever its shape)."""
    return re.sub(r"(//[^/@\s:]*):[^/@\s]*@", r"\1:***@", url)


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be requested as it stands (unparseable: a broken IPv6 host, a bad port, spaces or
    control characters; an ambiguous host; a password in its user part, which vodaxa never keeps in a manifest
    or a log), or None.  Which schemes are read is the caller's decision."""
    if not isinstance(url, str) or not url.strip():
        return "an empty URL"
    why = ambiguous(url)
    if why:
        return why
    plain = url.isascii() and url.isprintable() and " " not in url  # the common case, without a loop per character
    if not plain and any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return f"the URL {url!r} holds spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a port that is not a number in range)
    except ValueError as err:
        return f"the URL {url!r} cannot be parsed ({err})"
    if parts.scheme.lower() in ("http", "https") and not parts.hostname:
        return f"the URL {url!r} names no host"
    if parts.password:
        return (f"the URL {redacted_text(url)!r} carries a password; vodaxa keeps credentials in the keyring or the "
                "environment, never in URLs (see docs/auth.md)")  # fmt: skip
    return None


# ------------------------------------------------------------------------------------------ redirects
@dataclass(frozen=True)
class Hop:
    """Where a redirect leads and what goes with it."""

    url: str  # the target, without credential query parameters (they are re-decided for it)
    method: str
    keeps_body: bool  # 307/308 replay the body; 301/302 of a POST and 303 become a GET without it
    same_origin: bool  # explicit Authorization and Cookie headers go only to the same origin


def next_hop(method: str, status: int, current: str, location: str, *, sent_params: bool = False) -> Hop:
    """The request a redirect asks for.  When credentials went in the query (``sent_params``), a Location
    echoing them loses them: the caller adds those of the target's own realm, if any.  A body that carried
    credentials must not be replayed elsewhere (:func:`refuse_replay`)."""
    target = urljoin(current, location.strip())
    target = strip_secret_params(target) if sent_params else target
    keeps_body = not (status == 303 or (status in (301, 302) and method.upper() == "POST"))
    new_method = method if keeps_body or method.upper() == "HEAD" else "GET"
    return Hop(target, new_method, keeps_body and method.upper() not in ("GET", "HEAD"), same_origin(current, target))


def refuse_replay(hop: Hop, current: str, credentials_in_body: bool) -> str | None:
    """Why following ``hop`` would leak: a credential-bearing body replayed to another origin or from https
    to http.  None when the hop is safe."""
    if not (hop.keeps_body and credentials_in_body):
        return None
    if not hop.same_origin:
        return (f"{redacted(current)} redirected a request carrying credentials to {redacted(hop.url)}; vodaxa does "
                "not send credentials to another host (is the service URL right?)")  # fmt: skip
    return None


def redacted(url: str) -> str:
    """``url`` without credential parameters or a user:password part, for messages."""
    parts = urlsplit(strip_secret_params(url))
    if parts.password or parts.username:
        netloc = parts.hostname or ""
        url = parts._replace(netloc=netloc + (f":{parts.port}" if parts.port else "")).geturl()
        return url
    return parts.geturl()


# ------------------------------------------------------------------------------------------ bodies
class BodyTooLarge(ServiceError):
    """Raised when an answer read into memory is larger than ``HttpConfig.max_body`` (as declared, as read, or
    once its content coding is undone: a decompression bomb).

    Parameters
    ----------
    message : str
        What was too large, and by how much.
    url : str, optional
        The URL that answered.
    status : int, optional
        The HTTP status, if any.
    """


def too_big(url: str, cap: int, declared: int | None = None) -> BodyTooLarge:
    """The error for an answer over the in-memory cap."""
    size = f"{declared:,} bytes" if declared is not None else f"more than {cap:,} bytes"
    return BodyTooLarge(f"{url} answered {size}, over the {cap:,} vodaxa reads into memory "
                        "(HttpConfig(max_body=...) raises the limit if the answer is genuine)", url=url)  # fmt: skip


#: The content codings vodaxa reads in documents (DataLink, listings, TAP answers); it asks for no others.
ACCEPT_ENCODING = "gzip, deflate"


def decode_body(body: bytes, coding: str | None, cap: int, url: str) -> bytes:
    """A document's body with its ``Content-Encoding`` undone (DaCHS gzips its answers), at most ``cap`` bytes
    decoded: a small answer that inflates past the cap (a decompression bomb) is a :class:`BodyTooLarge`."""
    import zlib

    codings = [c.strip().lower() for c in (coding or "").split(",") if c.strip() and c.strip().lower() != "identity"]
    for name in reversed(codings):  # applied in the order listed: undone last first
        if name in ("gzip", "x-gzip"):
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif name == "deflate":
            inflater = zlib.decompressobj(zlib.MAX_WBITS if body[:1] == b"\x78" else -zlib.MAX_WBITS)
        else:
            raise ServiceError(f"{url} answered in the content coding '{name}', which vodaxa did not ask for and "
                               f"cannot read (it asks for {ACCEPT_ENCODING})", url=url)  # fmt: skip
        out, rest = bytearray(), body
        try:
            while rest:  # gzip allows several members one after another (RFC 1952); each is read
                out += inflater.decompress(rest, cap + 1 - len(out))
                if len(out) > cap:
                    raise too_big(url, cap)
                if inflater.unconsumed_tail:  # more to inflate than the cap allows
                    raise too_big(url, cap)
                if not inflater.eof:
                    raise zlib.error("the stream ends before its end (truncated)")
                rest = inflater.unused_data
                if rest and name != "deflate" and rest[:2] == b"\x1f\x8b":
                    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
                elif rest:
                    raise zlib.error(f"{len(rest)} bytes follow the end of the stream")
        except zlib.error as err:
            raise ServiceError(f"{url} answered a body labelled Content-Encoding: {name} that is not whole or not "
                               f"{name} ({err}); nothing of it was used", url=url) from None  # fmt: skip
        body = bytes(out)
    return body


def declared_length(headers: Mapping[str, str]) -> int | None:
    """The Content-Length header as a number, or None when absent or not a plain number."""
    value = (headers.get("Content-Length") or "").strip()
    return int(value) if value.isdigit() else None


def unknown_host(err: BaseException | None) -> str | None:
    """The host whose name could not be looked up, when that is what an error says.

    Such a failure is not retried: with no network, or a mistyped host, asking again only costs the reader time.

    Parameters
    ----------
    err : BaseException or None
        A connection error (aiohttp's, requests', urllib3's or a ``socket.gaierror``); the errors it wraps are
        read too.

    Returns
    -------
    str or None
        The host (``"?"`` when the error does not name it), or None when ``err`` is not a failed name lookup.
    """
    import socket

    seen = 0
    while err is not None and seen < 8:
        if isinstance(err, socket.gaierror) or type(err).__name__ in ("NameResolutionError", "ClientConnectorDNSError"):
            host = getattr(err, "_host", None) or getattr(getattr(err, "_conn_key", None), "host", None)
            return str(host or "?")
        err = getattr(err, "cause", None) or err.__cause__ or err.__context__ or (
            err.args[0] if err.args and isinstance(err.args[0], BaseException) else None)  # fmt: skip
        seen += 1
    return None
