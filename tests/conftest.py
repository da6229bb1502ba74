"""Every test stays on this machine: a connection or name lookup for any host but loopback fails loudly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from vodaxa.sandbox.offline import loopback_only


@pytest.fixture(autouse=True, scope="session")
def _loopback_only() -> Iterator[None]:
    """Refuse real archive hosts in tests (they must use the sandbox or DaCHS on 127.0.0.1)."""
    with loopback_only("tests"):
        yield


@pytest.fixture
def live(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """The test module's ``sb`` sandbox, with vodaxa's endpoints pointed at it and the query cache off."""
    from vodaxa.config import endpoints

    sb = request.getfixturevalue("sb")
    monkeypatch.setenv("VODAXA_QUERY_CACHE", "0")
    with endpoints.override(sb.endpoints):
        yield sb
