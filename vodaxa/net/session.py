"""The sync side of the core: a ``requests.Session`` (pyvo takes one) that applies the same policy as the
async client: credentials chosen per URL and re-decided at every redirect hop, a credential-bearing body
never replayed to another origin, connect/read timeouts, idempotent requests retried by :func:`~.policy.pause`,
and answers read into memory capped in size and time.  Every sync HTTP call in vodaxa goes through one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import requests

from ..errors import ServiceError
from .policy import (
    MAX_REDIRECTS,
    REDIRECTS,
    RETRY_STATUSES,
    HttpConfig,
    declared_length,
    next_hop,
    pause,
    redacted,
    refuse_replay,
    too_big,
)

__all__ = ["Session"]

log = logging.getLogger("vodaxa.http")

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})
_CHUNK = 1 << 16


class Session(requests.Session):
    """A requests session under vodaxa's network policy (see the module docstring).

    ``headers_for`` and ``params_for`` give a URL's credentials (``vodaxa.auth.scope()``'s methods); extra
    keyword ``secret_body=True`` on a request marks its body as a credential (a login form).
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

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Send ``method url`` under the policy; the answer's body is capped (``stream=True`` reads too)."""
        secret_body = bool(kwargs.pop("secret_body", False))
        stream = bool(kwargs.pop("stream", False))
        follow = kwargs.pop("allow_redirects", True)
        headers, params = dict(kwargs.pop("headers", None) or {}), kwargs.pop("params", None)
        kwargs.setdefault("timeout", (self.config.connect_timeout, self.config.read_timeout))
        attempts = self.config.retries + 1 if method.upper() in IDEMPOTENT else 1
        for attempt in range(attempts):
            try:
                answer = self._follow(method, url, args, dict(kwargs), headers, params, follow=follow,
                                      secret_body=secret_body)  # fmt: skip
            except (requests.ConnectionError, requests.Timeout) as err:
                if attempt + 1 >= attempts:
                    raise
                log.info("%s %s: %s; retrying", method, redacted(url), type(err).__name__)
                time.sleep(pause(self.config, attempt))
                continue
            if answer.status_code in RETRY_STATUSES and attempt + 1 < attempts:
                wait = pause(self.config, attempt, answer.headers.get("Retry-After"))
                answer.close()
                log.info("%s %s answered %s; retrying in %.1f s", method, redacted(url), answer.status_code, wait)
                time.sleep(wait)
                continue
            break
        if stream:
            _cap_stream(answer, self.config)
        else:
            _read_capped(answer, self.config)
        return answer

    def _follow(
        self,
        method: str,
        url: str,
        args: tuple,
        kwargs: dict,
        explicit: dict,
        params: Any,
        *,
        follow: bool,
        secret_body: bool,
    ) -> requests.Response:
        """One exchange, redirects followed hop by hop with credentials re-decided for each URL."""
        current, hops = url, 0
        while True:
            headers = {**(self.headers_for(current) if self.headers_for else {}), **explicit}
            secret_params = dict(self.params_for(current)) if self.params_for else {}
            sent = _with_params(params, secret_params)
            answer = super().request(method, current, *args, params=sent, headers=headers, stream=True,
                                     allow_redirects=False, **kwargs)  # fmt: skip
            location = answer.headers.get("Location")
            if not follow or answer.status_code not in REDIRECTS or not location or hops >= MAX_REDIRECTS:
                return answer
            answer.close()
            hop = next_hop(method, answer.status_code, answer.url, location, sent_params=bool(secret_params))
            refused = refuse_replay(hop, current, secret_body)
            if refused:
                raise ServiceError(refused, url=current)
            if not hop.same_origin:
                explicit = {k: v for k, v in explicit.items() if k.lower() not in ("authorization", "cookie")}
            if not hop.keeps_body:
                for key in ("data", "json", "files"):
                    kwargs.pop(key, None)
            method, current, params, hops = hop.method, hop.url, None, hops + 1


def _with_params(params: Any, extra: Mapping[str, str]) -> Any:
    """The caller's query parameters plus credential ones (appended, whatever form the caller used)."""
    if not extra:
        return params
    if params is None:
        return dict(extra)
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
    return [*pairs, *extra.items()]


def _read_capped(answer: requests.Response, config: HttpConfig) -> None:
    """Read the body whole, at most ``max_body`` bytes within ``body_timeout`` seconds."""
    cap, url = config.max_body, redacted(answer.url)
    declared = declared_length(answer.headers)
    if declared is not None and declared > cap:
        answer.close()
        raise too_big(url, cap, declared)
    started, parts, size = time.monotonic(), [], 0
    try:
        for block in answer.iter_content(_CHUNK):
            size += len(block)
            if size > cap:
                raise too_big(url, cap)
            if time.monotonic() - started > config.body_timeout:
                raise _slow(url, config)
            parts.append(block)
    except BaseException:
        answer.close()
        raise
    answer._content = b"".join(parts)  # what requests itself sets when it reads the body
    answer._content_consumed = True


def _cap_stream(answer: requests.Response, config: HttpConfig) -> None:
    """Cap a streamed body where it is read (``raw.read``, as pyvo does, or ``raw.read_chunked``)."""
    raw = answer.raw
    if raw is None:
        return
    cap, url, started, count = config.max_body, redacted(answer.url), time.monotonic(), [0]

    def account(size: int) -> None:
        count[0] += size
        if count[0] > cap:
            raise too_big(url, cap)
        if time.monotonic() - started > config.body_timeout:
            raise _slow(url, config)

    declared = declared_length(answer.headers)
    if declared is not None and declared > cap:
        answer.close()
        raise too_big(url, cap, declared)
    read, read_chunked = raw.read, getattr(raw, "read_chunked", None)

    def capped_read(*args: Any, **kwargs: Any) -> bytes:
        data = read(*args, **kwargs)
        account(len(data or b""))
        return data

    raw.read = capped_read
    if read_chunked is not None:

        def capped_chunks(*args: Any, **kwargs: Any) -> Iterator[bytes]:
            for chunk in read_chunked(*args, **kwargs):
                account(len(chunk))
                yield chunk

        raw.read_chunked = capped_chunks


def _slow(url: str, config: HttpConfig) -> ServiceError:
    return ServiceError(f"{url} did not finish its answer within {config.body_timeout:.0f} s "
                        "(HttpConfig(body_timeout=...) gives slow services longer)", url=url)  # fmt: skip
