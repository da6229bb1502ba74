"""A sandbox shared by the sandbox tests, and brute-force helpers to check its answers."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from vodaxa.sandbox import Sandbox, SandboxConfig
from vodaxa.sandbox.archives.heasarc.tables import generate

ROWS = 400
SEED = 7
NOW_MJD = 61000.0  # a fixed "today" (2025-11-21) so public/proprietary splits are stable


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """One HEASARC-shaped sandbox for the session (400 rows per table), answering DataLink in HEASARC's older
    shape (``#this`` directories, IDs echoed, error rows); tests/resolve covers today's shape."""
    config = SandboxConfig(
        rows=ROWS, seed=SEED, now_mjd=NOW_MJD, heasarc_datalink="legacy", cache=tmp_path_factory.mktemp("sb")
    )
    with Sandbox(config) as sb:
        yield sb


@pytest.fixture(scope="session")
def tables() -> dict[str, dict[str, np.ndarray]]:
    """The same synthetic content the sandbox serves, computed independently of the server."""
    cache: dict[str, dict[str, np.ndarray]] = {}

    class Lazy(dict):
        def __missing__(self, name: str) -> dict[str, np.ndarray]:
            cache[name] = generate(name, ROWS, seed=SEED, now_mjd=NOW_MJD)
            return cache[name]

    return Lazy()


def separation(ra1, dec1, ra2, dec2) -> np.ndarray:
    """Great-circle distance in degrees (Vincenty form, independent of the server's haversine)."""
    ra1, dec1, ra2, dec2 = (np.radians(np.asarray(x, dtype=float)) for x in (ra1, dec1, ra2, dec2))
    dra = ra2 - ra1
    num = np.hypot(np.cos(dec2) * np.sin(dra), np.cos(dec1) * np.sin(dec2) - np.sin(dec1) * np.cos(dec2) * np.cos(dra))
    den = np.sin(dec1) * np.sin(dec2) + np.cos(dec1) * np.cos(dec2) * np.cos(dra)
    return np.degrees(np.arctan2(num, den))
