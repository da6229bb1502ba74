"""Kept for code written against vodaxa 0.x: the network core now lives in :mod:`vodaxa.net`."""

from __future__ import annotations

from .net import HttpClient, HttpConfig, Response, run_sync
from .net.policy import MAX_REDIRECTS, REDIRECTS, RETRY_STATUSES, retry_after_seconds

__all__ = ["MAX_REDIRECTS", "REDIRECTS", "RETRY_STATUSES", "HttpClient", "HttpConfig", "Response",
           "retry_after_seconds", "run_sync"]  # fmt: skip
