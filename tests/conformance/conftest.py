"""Other clients against the sandbox: one sandbox for the module's session, clients repointed at it.

Each client is pointed at the sandbox the way a user would point it elsewhere (astroquery's
configuration items and instance attributes, a TapPlus handler, pyvo URLs); nothing of astroquery's
is patched.  The loopback guard of tests/conftest.py stays on, so any call that would still reach a
real archive fails loudly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from astropy.config import paths

from vodaxa.sandbox import Sandbox, SandboxConfig

ROWS = 300
SEED = 11
USER, PASSWORD = "astro", "correct horse"

#: The HEASARC DataLink shape astroquery's locate_data and pyvo's iter_datalinks understand (#this rows with
#: content_type 'directory', IDs echoed): SandboxConfig.heasarc_datalink="legacy".  HEASARC's 2026 shape
#: ("current", the sandbox's default) is tested on its own, where these clients' limits are documented.
LEGACY_DATALINK = {"heasarc_datalink": "legacy"}


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """Every shape, 300 rows per table, real lifetimes (8-hour ESO tokens), files in a temporary cache."""
    config = SandboxConfig(rows=ROWS, seed=SEED, cache=tmp_path_factory.mktemp("conformance"), **LEGACY_DATALINK)
    with Sandbox(config) as sb:
        yield sb


@pytest.fixture(scope="session", autouse=True)
def _astropy_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """astroquery and astropy cache downloads under a temporary directory, not the user's ~/.astropy."""
    with paths.set_temp_cache(str(tmp_path_factory.mktemp("astropy-cache"))):
        yield


@pytest.fixture
def memory_keyring() -> Iterator[object]:
    """The keyring astroquery sees during the test: empty, in memory (the machine's keyring is never touched)."""
    keyring = pytest.importorskip("keyring")
    from keyring.backend import KeyringBackend

    class MemoryKeyring(KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def __init__(self) -> None:
            super().__init__()
            self.passwords: dict[tuple[str, str], str] = {}

        def get_password(self, service: str, username: str) -> str | None:
            return self.passwords.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.passwords[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            self.passwords.pop((service, username), None)

    before = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    try:
        yield ring
    finally:
        keyring.set_keyring(before)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary working directory (astroquery's XMM-Newton client writes into the current one)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
