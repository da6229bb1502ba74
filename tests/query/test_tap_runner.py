"""TapRunner on the sandbox: sync and async, overflow never silent, retries, job clean-up, the cache."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from vodaxa.errors import QueryError, ServiceError
from vodaxa.net import HttpConfig
from vodaxa.query.cache import QueryCache
from vodaxa.query.tap import TapRunner, TruncatedResultError
from vodaxa.sandbox import Faults, Sandbox, SandboxConfig

QUERY = "SELECT obsid, ra, dec FROM numaster WHERE ra < 180"


@pytest.fixture(scope="module")
def sb(tmp_path_factory) -> Iterator[Sandbox]:
    config = SandboxConfig(rows=300, archives=("heasarc",), default_maxrec=100, cache=tmp_path_factory.mktemp("tap"))
    with Sandbox(config) as sandbox:
        yield sandbox


@pytest.fixture
def tap(sb) -> str:
    sb.set_faults(Faults())
    return sb.endpoints["heasarc"]["tap"]


def test_sync_and_async_agree_and_jobs_are_deleted(sb, tap):
    sync = TapRunner(tap, mode="sync").run(QUERY)
    before = set(sb.heasarc.tap.jobs)
    asyn = TapRunner(tap, mode="async").run(QUERY)
    assert sorted(sync["obsid"]) == sorted(asyn["obsid"]) and len(sync) > 100
    assert set(sb.heasarc.tap.jobs) == before  # the job was deleted


def test_hard_limit_is_requested_so_default_maxrec_does_not_truncate(tap):
    assert len(TapRunner(tap).run("SELECT obsid FROM numaster")) == 300  # server default MAXREC is 100


def test_overflow_is_an_error_not_a_short_answer(tap):
    with pytest.raises(TruncatedResultError, match="truncated the answer at 50 rows"):
        TapRunner(tap, maxrec=50).run("SELECT obsid FROM numaster")
    with pytest.raises(TruncatedResultError):
        TapRunner(tap, maxrec=50, mode="async").run("SELECT obsid FROM numaster")


def test_refused_query_is_a_query_error(tap):
    with pytest.raises(QueryError, match="nope"):
        TapRunner(tap).run("SELECT nope FROM numaster")
    with pytest.raises(QueryError, match="nope"):
        TapRunner(tap, mode="async").run("SELECT nope FROM numaster")


def test_transient_errors_are_retried(sb, tap):
    sb.set_faults(Faults(error_503=0.5, seed=3, retry_after=0, paths=("/xamin/vo/tap/sync",)))
    runner = TapRunner(tap, maxrec=1000, retries=8)
    for _ in range(4):
        assert len(runner.run(QUERY)) > 100
    assert sb.injector.injected["503"] > 0


@pytest.mark.parametrize("cut", ["truncate", "drop"])
def test_an_answer_cut_short_is_retried_not_called_a_wrong_url(sb, tap, cut):
    sb.set_faults(Faults(**{cut: 0.5}, seed=4, paths=("/xamin/vo/tap/sync",)))
    runner = TapRunner(tap, maxrec=1000, retries=10, config=HttpConfig(backoff=0.01))
    for _ in range(4):
        assert len(runner.run(QUERY)) > 100
    assert sum(sb.injector.injected.values()) > 0
    sb.set_faults(Faults(**{cut: 1.0}, paths=("/xamin/vo/tap/sync",)))
    with pytest.raises(ServiceError, match="cut short") as caught:
        TapRunner(tap, maxrec=1000, retries=1, config=HttpConfig(backoff=0.01)).run(QUERY)
    assert "is the URL right" not in str(caught.value)


def test_persistent_failure_gives_up_with_a_clear_error(sb, tap):
    sb.set_faults(Faults(error_500=1.0, paths=("/xamin/vo/tap/sync",)))
    with pytest.raises(ServiceError, match="failed 3 times"):
        TapRunner(tap, maxrec=1000, retries=2).run(QUERY)


def test_unreachable_and_wrong_urls():
    with pytest.raises(ServiceError):
        TapRunner("http://127.0.0.1:9/tap", retries=0, maxrec=10).run(QUERY)


def test_not_a_tap_service(sb):
    with pytest.raises(ServiceError):
        TapRunner(sb.url + "/FTP", retries=0, maxrec=10).run(QUERY)


def test_cache_hits_skip_the_network(sb, tap, tmp_path):
    cache = QueryCache(tmp_path, ttl=3600)
    runner = TapRunner(tap, cache=cache, maxrec=1000)
    first = runner.run(QUERY)
    sb.set_faults(Faults(error_500=1.0))  # the server is now broken: only the cache can answer
    again = runner.run(QUERY)
    assert list(again["obsid"]) == list(first["obsid"])
    assert cache.clear() == 1
    expired = QueryCache(tmp_path, ttl=0)
    expired.put(expired.key(tap, QUERY), first)
    assert expired.get(expired.key(tap, QUERY)) is None
    off = QueryCache(tmp_path, enabled=False)
    off.put("k", first)
    assert off.get("k") is None and not (tmp_path / "k.xml").exists()
    requests.get(sb.url + "/FTP/", timeout=10)  # keep the sandbox used after the fault
