"""pytest fixtures for code that talks to archives: ``vodaxa_sandbox`` runs one for the test session.

Registered through the ``pytest11`` entry point, so any project with vodaxa installed can write
``def test_x(vodaxa_sandbox): ...``; vodaxa's endpoints point at the sandbox during the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .server import Sandbox

# Nothing heavy at import: pytest loads this plugin in every run of every project where vodaxa is installed; the
# sandbox (DuckDB, sqlglot, the web apps) loads only when a test asks for the fixture.


@pytest.fixture(scope="session")
def vodaxa_sandbox_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """One sandbox (200 rows per table, no faults) shared by the session; files in a temp cache."""
    from .server import Sandbox
    from .settings import SandboxConfig

    with Sandbox(SandboxConfig(cache=tmp_path_factory.mktemp("vodaxa-sandbox"))) as sandbox:
        yield sandbox


@pytest.fixture
def vodaxa_sandbox(vodaxa_sandbox_session: Sandbox) -> Iterator[Sandbox]:
    """The session's sandbox, with vodaxa's endpoints overridden to it for this test."""
    from ..config import endpoints

    with endpoints.override(vodaxa_sandbox_session.endpoints):
        yield vodaxa_sandbox_session
