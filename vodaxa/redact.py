"""Secrets never stringified: one redaction function for every text vodaxa writes (exception messages, log
records, reports, manifests) and the query parameters that carry credentials stripped from URLs.

Credentials register here when they are used (:func:`register`); :func:`redact` then replaces each of them,
also URL-encoded, and the value of any credential-like query parameter, with ``***``.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

__all__ = ["SECRET_PARAMS", "redact", "register", "strip_secret_params"]

#: Query parameters that carry credentials (the XSA's AIO servlet, OAuth-style services).
SECRET_PARAMS = frozenset({"aiopwd", "password", "passwd", "pwd", "token", "access_token", "id_token", "secret"})
_PARAM = re.compile(r"(?i)\b(" + "|".join(sorted(SECRET_PARAMS)) + r")=([^&\s'\"<>]*)")
_USERINFO = re.compile(r"(//[^/@\s:'\"<>]*):[^/@\s'\"<>]*@")
_LOCK = threading.Lock()
_SECRETS: set[str] = set()
_MIN = 6  # shorter strings would blank out ordinary words (URL parameters are redacted by name anyway)


def register(secret: str | None) -> None:
    """Remember a secret (a password or token) so that :func:`redact` removes it from any text."""
    if not secret or len(secret) < _MIN:
        return
    with _LOCK:
        _SECRETS.update({secret, quote(secret, safe=""), quote_plus(secret)})


def redact(text: str) -> str:
    """``text`` with every registered secret and every credential query parameter's value replaced by ``***``."""
    if not isinstance(text, str):
        text = str(text)
    if not _SECRETS and "=" not in text and "@" not in text:
        return text  # no secret registered, no parameter, no user:password@: nothing to hide (the usual note)
    with _LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "***")
    text = _USERINFO.sub(r"\1:***@", text)  # http://user:password@host
    return _PARAM.sub(lambda m: f"{m.group(1)}=***", text)


def strip_secret_params(url: str) -> str:
    """``url`` without credential query parameters (a redirect may echo them towards another host)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    drop = SECRET_PARAMS | {"aiouser"}  # the XSA's user name goes with its password
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() not in drop]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept), parts.fragment))


#: Loggers whose records are redacted: vodaxa's own and those of the HTTP libraries under it (urllib3 logs
#: every request line, query string included).
REDACTED_LOGGERS = ("vodaxa", "urllib3", "aiohttp", "requests", "pyvo", "astroquery")


def _redact_record(record: logging.LogRecord) -> None:
    parts = [str(record.msg), *(str(a) for a in (record.args or ()) if isinstance(a, str))]
    if _SECRETS or any("=" in p or "@" in p for p in parts):  # parameters, or a user:password@ in a URL
        record.msg = redact(record.getMessage())
        record.args = ()


class RedactingFilter(logging.Filter):
    """Redacts a record (message and arguments) before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


def _ours(name: str) -> bool:
    return any(name == root or name.startswith(root + ".") for root in REDACTED_LOGGERS)


def install_log_filter() -> None:
    """Redact every record of :data:`REDACTED_LOGGERS` and their children where it is made.

    A filter on a parent logger is not consulted for records logged on its children (``urllib3.connectionpool``,
    ``vodaxa.http``), so the redaction sits in the log record factory, wrapped once around whatever factory is
    installed; a filter on ``vodaxa`` stays for records created by other means (``makeLogRecord``).
    """
    logger = logging.getLogger("vodaxa")  # only vodaxa's own: creating another library's logger before it does
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):  # breaks its logger class (astroquery's)
        logger.addFilter(RedactingFilter())
    previous = logging.getLogRecordFactory()
    if getattr(previous, "vodaxa_redacting", False):
        return

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if _ours(record.name):
            _redact_record(record)
        return record

    factory.vodaxa_redacting = True  # type: ignore[attr-defined]  # a mark on the function: installed once
    logging.setLogRecordFactory(factory)
