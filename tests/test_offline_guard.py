"""The loopback guard in conftest.py holds for sync and async clients alike (no test can reach a real archive)."""

from __future__ import annotations

import pytest
import requests

import vodaxa
from vodaxa.errors import ServiceError
from vodaxa.http import HttpClient, HttpConfig, run_sync


def test_requests_cannot_leave_loopback():
    with pytest.raises(requests.ConnectionError, match="only resolve loopback"):
        requests.get("https://heasarc.gsfc.nasa.gov/xamin/vo/tap/capabilities", timeout=5)
    with pytest.raises(requests.ConnectionError, match="loopback"):
        requests.get("http://10.0.0.1:80/", timeout=5)


def test_the_async_core_cannot_leave_loopback(tmp_path):
    async def fetch() -> None:
        async with HttpClient(HttpConfig(retries=0)) as http:
            await http.get("https://archive.eso.org/tap_obs/capabilities")

    with pytest.raises(ServiceError, match="loopback"):
        run_sync(fetch())
    report = vodaxa.download(["https://nxsa.esac.esa.int/x.tar"], tmp_path, retries=0, progress=False)
    assert "loopback" in report.failed["reason"][0] and not list(tmp_path.iterdir())


def test_the_guard_nests_and_names_who_tripped_it():
    import socket

    from vodaxa.sandbox.offline import is_local, loopback_only

    before = socket.getaddrinfo
    with loopback_only("this demo"):
        assert socket.getaddrinfo is not before
        with pytest.raises(socket.gaierror, match="this demo may only resolve loopback names"):
            socket.getaddrinfo("archive.eso.org", 443)
        assert socket.getaddrinfo("127.0.0.1", 80)
    assert socket.getaddrinfo is before  # the outer (session) guard is back, not the raw socket
    assert is_local("::1") and is_local("localhost") and not is_local("10.0.0.1")


def test_old_style_lookups_and_udp_are_refused_too():
    import socket

    import pytest

    from vodaxa.sandbox.offline import loopback_only

    with loopback_only("this test"):
        with pytest.raises(socket.gaierror, match="loopback"):
            socket.gethostbyname("example.org")
        with pytest.raises(socket.gaierror, match="loopback"):
            socket.gethostbyname_ex("example.org")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, pytest.raises(ConnectionRefusedError):
            udp.sendto(b"x", ("192.0.2.1", 53))
        assert socket.gethostbyname("localhost").startswith("127.")
