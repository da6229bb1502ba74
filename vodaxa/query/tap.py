"""Run ADQL on a TAP service through pyvo: sync for small queries, UWS async for large or authenticated
ones, with a total time budget, retries on transient failures, jobs always deleted, and MAXREC
overflow detected (never a silently truncated answer).
"""

from __future__ import annotations

import contextlib
import http.client
import io
import logging
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import pyvo
import requests
import urllib3
from astropy.table import Table
from pyvo.dal.exceptions import DALFormatError, DALQueryError, DALServiceError

from .. import net
from ..compat import safe_votable_writer
from ..errors import QueryError, ServiceError, VodaxaError
from .cache import QueryCache
from .uploads import votable_bytes

__all__ = ["TapRunner", "TruncatedResultError"]

log = logging.getLogger(__name__)

safe_votable_writer()  # pyvo writes TAP uploads with astropy's VOTable writer (see vodaxa.compat)


class TruncatedResultError(QueryError):
    """The service cut the answer at MAXREC; the message says how to get all of it."""


@dataclass
class TapRunner:
    """Runs queries on one TAP service.

    ``mode`` is ``"sync"``, ``"async"``, or ``"auto"`` (async when uploads are large or a session
    with credentials is given).  ``budget`` bounds the whole call in seconds, polling included.
    """

    url: str
    session: requests.Session | None = None
    mode: str = "auto"
    budget: float = 600.0
    retries: int = 3
    config: net.HttpConfig = field(default_factory=lambda: net.HttpConfig(backoff=2.0))  # the pauses between tries
    maxrec: int | None = None  # None: ask for the service's hard limit, so overflow means "too big"
    cache: QueryCache | None = None

    def __post_init__(self) -> None:
        if self.mode not in ("auto", "sync", "async"):
            raise ValueError(f"mode must be 'auto', 'sync' or 'async', not {self.mode!r}")
        self._service: pyvo.dal.TAPService | None = None

    def _maxrec(self) -> int | None:
        """MAXREC to send: the configured one, else the service's hard limit (read once from VOSI)."""
        if self.maxrec is not None:
            return self.maxrec
        if not hasattr(self, "_hardlimit"):
            try:
                self._hardlimit = self.service.hardlimit
            except Exception as err:  # VOSI is optional; without it the server default applies
                log.info("no VOSI capabilities at %s (%s); using the server's default MAXREC", self.url, err)
                self._hardlimit = None
        return self._hardlimit

    @property
    def service(self) -> pyvo.dal.TAPService:
        """The pyvo service object (created lazily; VOSI is read only when needed)."""
        if self._service is None:
            session = self.session if self.session is not None else net.session()  # never pyvo's bare one
            self._service = pyvo.dal.TAPService(self.url, session=session)
        return self._service

    def run(self, adql: str, *, uploads: Mapping[str, Table] | None = None, authenticated: bool = False) -> Table:
        """The full answer of ``adql`` as an astropy Table; raises :class:`QueryError` on failure."""
        key = None
        encoded = {name: votable_bytes(table) for name, table in (uploads or {}).items()}  # once for all tries
        if self.cache is not None and not authenticated:
            key = self.cache.key(self.url, adql, encoded)
            cached = self.cache.get(key)
            if cached is not None:
                log.debug("TAP %s: %d rows from the query cache", self.url, len(cached))
                return cached
        use_async = self.mode == "async" or (
            self.mode == "auto" and (authenticated or sum(len(t) for t in (uploads or {}).values()) > 20_000)
        )
        deadline = net.Deadline(self.budget)
        attempt = 0
        started = time.monotonic()
        while True:
            try:
                table = self._run_async(adql, encoded, deadline) if use_async else self._run_sync(adql, encoded)
                break
            except (requests.ConnectionError, requests.Timeout, _Transient) as err:
                unknown = _unknown_host(err)  # no such host (or no network): asking again in seconds does not help
                if unknown is not None:
                    raise unknown from None
                wait = net.pause(self.config, attempt, getattr(err, "retry_after", None))
                attempt += 1
                if attempt > self.retries or not deadline.allows(wait):
                    raise ServiceError(f"TAP service {self.url} failed {attempt} times: {err}", url=self.url) from None
                log.warning("TAP %s: %s; retrying in %.1f s", self.url, err, wait)
                time.sleep(wait)
        log.info("TAP %s: %d rows (%s%s) in %.2f s", self.url, len(table), "async" if use_async else "sync",
                 f", {sum(len(t) for t in uploads.values())} positions uploaded" if uploads else "",
                 time.monotonic() - started)  # fmt: skip
        if key is not None:
            self.cache.put(key, table)  # type: ignore[union-attr]  # a key is made only when there is a cache
        return table

    # ------------------------------------------------------------------------------ sync
    def _run_sync(self, adql: str, uploads: Mapping[str, bytes]) -> Table:
        # No warnings.catch_warnings here: missions query in threads at once, and that context manager swaps the
        # process-wide warning state, so interleaved calls left every later warning of the session recorded
        # into a list nobody reads.  Overflow is read from the answer's status instead.
        try:
            result = self.service.run_sync(adql, uploads=_files(uploads), maxrec=self._maxrec())
        except DALQueryError as err:
            raise QueryError(f"the TAP service {self.url} refused the query: {err}", url=self.url) from None
        except DALFormatError as err:
            if (ours := _ours(err)) is not None:  # the network core's own verdict (a body over the cap, ...)
                raise ours from None
            if (unknown := _unknown_host(err)) is not None:
                raise unknown from None
            if _lost(err):  # the connection broke mid-answer: worth another try, not "is the URL right?"
                raise _Transient(f"the answer was cut short ({_lost(err)})") from None
            raise ServiceError(
                f"TAP service {self.url} did not answer with a VOTable ({err}); is the URL right?",
                url=self.url,
            ) from None
        except DALServiceError as err:
            raise _classify(err, self.url) from None
        self._check_overflow(result)
        return result.to_table()

    # ------------------------------------------------------------------------------ async
    def _run_async(self, adql: str, uploads: Mapping[str, bytes], deadline: net.Deadline) -> Table:
        try:
            job = self.service.submit_job(adql, uploads=_files(uploads), maxrec=self._maxrec())
        except DALServiceError as err:
            raise _classify(err, self.url) from None
        try:
            remaining = max(1.0, deadline.left() or 0.0)
            with contextlib.suppress(DALServiceError):  # some services fix it; not worth failing for
                job.execution_duration = int(min(remaining, 3600))
            job.run()
            job.wait(phases={"COMPLETED", "ERROR", "ABORTED"}, timeout=remaining)
            if job.phase != "COMPLETED":
                try:
                    job.raise_if_error()
                    reason = f"it ended {job.phase}"
                except DALQueryError as err:
                    reason = str(err)
                raise QueryError(f"the TAP job at {job.url} failed: {reason}", url=self.url)
            result = job.fetch_result()
            self._check_overflow(result)
            return result.to_table()
        except DALFormatError as err:
            if _lost(err) and _ours(err) is None:
                raise _Transient(f"the answer was cut short ({_lost(err)})") from None
            raise _ours(err) or ServiceError(f"TAP job on {self.url} gave no readable VOTable ({err})",
                                             url=self.url) from None  # fmt: skip
        except DALServiceError as err:
            if "timeout" in str(err).lower() or "timed out" in str(err).lower():
                raise QueryError(
                    f"TAP job on {self.url} did not finish within the {self.budget:.0f} s budget",
                    url=self.url,
                ) from None
            raise _classify(err, self.url) from None
        finally:
            try:
                job.delete()
            except Exception as err:  # the answer matters more than the clean-up; say so
                log.warning("could not delete TAP job %s: %s", job.url, err)

    # ------------------------------------------------------------------------------ overflow
    def _check_overflow(self, result: pyvo.dal.DALResults) -> None:
        status = str(getattr(result, "status", ("OK", ""))[0]).upper()
        if status == "OVERFLOW":  # what pyvo's DALOverflowWarning says, read from the answer itself
            raise TruncatedResultError(
                f"the TAP service {self.url} truncated the answer at {len(result)} rows (MAXREC); "
                "narrow the query (filters, positions) or raise maxrec if the service allows",
                url=self.url,
            )


def _files(uploads: Mapping[str, bytes]) -> dict[str, io.BytesIO] | None:
    """The uploads as pyvo sends them: fresh file objects for each try (a retry must not find them read)."""
    return {name: io.BytesIO(body) for name, body in uploads.items()} or None


class _Transient(Exception):
    """A server error worth retrying (5xx, 429)."""


def _classify(err: DALServiceError, url: str) -> Exception:
    """Transient server errors become retryable; the rest a ServiceError naming the service."""
    if (ours := _ours(err)) is not None:
        return ours
    code = getattr(err, "code", None)
    if code in (429, 500, 502, 503, 504):
        return _Transient(f"HTTP {code}: {err.reason if hasattr(err, 'reason') else err}")
    return ServiceError(f"TAP service {url} failed: {err}", url=url, status=code)


_LOST = (ConnectionError, TimeoutError, http.client.IncompleteRead, urllib3.exceptions.ProtocolError,
         urllib3.exceptions.ReadTimeoutError, requests.ConnectionError, requests.Timeout,
         requests.exceptions.ChunkedEncodingError)  # fmt: skip


def _chain(err: BaseException) -> list[BaseException]:
    """``err`` and what it wraps (pyvo's ``cause``, Python's ``__cause__``/``__context__``), a few levels deep."""
    out: list[BaseException] = []
    cause: BaseException | None = err
    while cause is not None and len(out) < 8:
        out.append(cause)
        cause = getattr(cause, "cause", None) or cause.__cause__ or cause.__context__
    return out


def _lost(err: BaseException) -> str | None:
    """What broke, when ``err`` comes from a connection lost or timed out mid-answer; else None."""
    lost = next((e for e in _chain(err) if isinstance(e, _LOST)), None)
    return None if lost is None else type(lost).__name__


def _unknown_host(err: BaseException) -> ServiceError | None:
    """A ServiceError saying the host's name could not be looked up, when that is what ``err`` comes from."""
    host = net.unknown_host(err)
    if host is None:
        return None
    why = next((str(e) for e in _chain(err) if isinstance(e, socket.gaierror)), "")
    return ServiceError(f"the name of the host '{host}' could not be looked up"
                        f"{f' ({why})' if why else ''}: is this machine online, and is the endpoint right "
                        "('vodaxa config show')? Not retried", url=None)  # fmt: skip


def _ours(err: BaseException) -> VodaxaError | None:
    """The vodaxa error (from the network core) that pyvo wrapped into ``err``, if any."""
    return next((e for e in _chain(err) if isinstance(e, VodaxaError)), None)
