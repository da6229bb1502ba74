"""Found by a new-user walk: a multi-mission search silenced every later warning of the session (TAP calls in
threads each wrapped in warnings.catch_warnings, which swaps process-wide state and so leaked a recorder).
After a search, a warning the user raises, and a mission that found nothing, must still be shown."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_warnings_still_show_after_a_search_of_many_missions(tmp_path):
    script = textwrap.dedent(f"""
        import pathlib, warnings
        import vodaxa
        from vodaxa.sandbox import Sandbox, SandboxConfig

        config = SandboxConfig(cache=pathlib.Path({str(tmp_path)!r}), archives=("heasarc", "cds", "xsa"))
        with Sandbox(config) as sb, vodaxa.config.endpoints.override(sb.endpoints):
            for _ in range(3):
                vodaxa.search(["Coma Cluster", "Perseus Cluster"],
                              missions=["chandra", "xmm_pointed", "nustar_pointed", "swift", "suzaku"])
        warnings.warn("the user's own warning")
    """)  # fmt: skip
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "the user's own warning" in done.stderr
    assert "no observations" in done.stderr and "nustar_pointed" in done.stderr  # the search's own warning too


def test_the_fits_checksum_check_reports_without_catching_warnings(tmp_path):
    import warnings

    import numpy as np
    from astropy.io import fits

    from vodaxa.downloader.fetch import fits_problem as fits_checksum_problem

    good, bad = tmp_path / "good.fits", tmp_path / "bad.fits"
    fits.HDUList([fits.PrimaryHDU(np.arange(100, dtype="i4"))]).writeto(good, checksum=True)
    data = bytearray(good.read_bytes())
    data[-8] ^= 0xFF  # one data byte changed: DATASUM fails
    bad.write_bytes(bytes(data))
    state = (warnings.filters[:], warnings.showwarning)
    assert fits_checksum_problem(good) is None
    assert "DATASUM verification failed" in fits_checksum_problem(bad)
    assert (warnings.filters[:], warnings.showwarning) == state


def test_a_host_that_cannot_be_looked_up_fails_at_once_and_says_so(monkeypatch, tmp_path):
    import pytest

    import vodaxa
    from vodaxa.errors import VodaxaError
    from vodaxa.net import sync as net_session

    calls: list[str] = []
    real = net_session.Session._follow

    def counted(self, method, url, *args, **kwargs):
        calls.append(url)
        return real(self, method, url, *args, **kwargs)

    monkeypatch.setattr(net_session.Session, "_follow", counted)
    monkeypatch.setenv("VODAXA_QUERY_CACHE", "0")
    with vodaxa.config.endpoints.override({"heasarc": {"tap": "https://no-such-host.invalid/xamin/vo/tap"}}):
        mission = vodaxa.mission("nustar_pointed")
        with pytest.raises(VodaxaError, match=r"'no-such-host\.invalid' could not be looked up.*Not retried"):
            mission.filter_on_positions([[83.63, 22.01]])
    assert len(calls) <= 3  # capabilities (once) and the query (once): no retries with backoff
