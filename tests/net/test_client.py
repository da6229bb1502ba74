"""The async HTTP core: retries with Retry-After, per-host limits, and run_sync inside a running loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from vodaxa.errors import ServiceError
from vodaxa.net import HttpClient, HttpConfig, run_sync
from vodaxa.sandbox import Faults, Sandbox, SandboxConfig


@pytest.fixture(scope="module")
def sb(tmp_path_factory) -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(rows=20, archives=("heasarc",), cache=tmp_path_factory.mktemp("http"))) as sandbox:
        yield sandbox


async def _get(url: str, config: HttpConfig | None = None):
    async with HttpClient(config) as http:
        return await http.get(url), http.requests


def test_retry_after_is_honoured(sb):
    sb.set_faults(Faults(error_503=0.6, retry_after=1, seed=2, paths=("/FTP/",)))
    started = time.monotonic()
    response, requests = run_sync(_get(sb.url + "/FTP/", HttpConfig(retries=6)))
    assert response.status == 200 and requests > 1
    assert time.monotonic() - started >= requests - 1 - 0.05  # one second per Retry-After
    sb.set_faults(Faults())


def test_last_status_is_returned_and_dead_hosts_raise(sb):
    sb.set_faults(Faults(error_500=1.0, paths=("/FTP/",)))
    response, requests = run_sync(_get(sb.url + "/FTP/", HttpConfig(retries=2, backoff=0.01)))
    assert response.status == 500 and requests == 3
    sb.set_faults(Faults())
    with pytest.raises(ServiceError, match="failed after 2 attempts"):
        run_sync(_get("http://127.0.0.1:9/x", HttpConfig(retries=1, backoff=0.01)))


def test_per_host_limit_bounds_concurrency(sb):
    sb.set_faults(Faults(latency=0.2))

    async def many() -> float:
        async with HttpClient(HttpConfig(per_host=2)) as http:
            started = time.monotonic()
            await asyncio.gather(*(http.get(sb.url + "/FTP/") for _ in range(6)))
            return time.monotonic() - started

    elapsed = run_sync(many())
    sb.set_faults(Faults())
    assert elapsed >= 0.6 - 0.05  # 6 requests, 2 at a time, 0.2 s each


def test_run_sync_inside_a_running_loop(sb):
    async def notebook_cell() -> int:
        # what a Jupyter cell does: call the sync API while the kernel's loop is running
        response, _ = run_sync(_get(sb.url + "/FTP/"))
        return response.status

    assert asyncio.run(notebook_cell()) == 200


def test_bodies_are_not_decoded(sb):
    body_url = sb.url + "/xamin/vo/tap/availability"
    response, _ = run_sync(_get(body_url))
    assert b"available" in response.body and response.content_type.startswith("text/xml")


@pytest.mark.parametrize("url", ["file:///etc/hostname", "ftp://127.0.0.1/x", "http:///nohost"])
def test_a_url_no_retry_can_mend_fails_at_once(url):
    async def run():
        async with HttpClient(HttpConfig(retries=5, backoff=5.0)) as http:
            with pytest.raises(ServiceError, match="not a URL vodaxa can request"):
                await http.get(url)
            return http.requests

    assert run_sync(run()) == 0
