"""Issue 14 items 1 and 2: the XSA password (sent as AIOUSER/AIOPWD query parameters) never shows in an error,
a log record, a download report or a manifest, and a redirect echoing it is not followed with it."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiohttp import web

import vodaxa
from vodaxa import auth
from vodaxa.config import endpoints
from vodaxa.errors import ServiceError
from vodaxa.http import HttpClient
from vodaxa.redact import redact

from ..servers import AppThread

MARKER = "Marker-Pw-7q2ZK"


@pytest.fixture
def hosts():
    stolen: list[str] = []

    async def steal(request: web.Request) -> web.Response:
        stolen.append(request.query_string)
        return web.Response(status=500, text=f"oops at {request.url}")

    other_app = web.Application()
    other_app.router.add_get("/steal", steal)
    other = AppThread(other_app)

    async def aio(request: web.Request) -> web.Response:
        if request.query.get("obsno") == "0000000001":  # echoes the query, credentials included, to another port
            raise web.HTTPFound(f"{other.base}/steal?{request.query_string}")
        return web.Response(status=500, text=f"internal error while serving {request.url}")

    app = web.Application()
    app.router.add_get("/aio", aio)
    main = AppThread(app)
    yield main.base, stolen
    for server in (main, other):
        server.close()


@pytest.fixture
def xsa_login(hosts):
    base, _ = hosts
    with endpoints.override({"xsa": {"aio": f"{base}/aio"}}):
        auth.use("xsa", credentials={"user": "pi", "password": MARKER}, allow_http_loopback=True)
        yield base
        auth.scope().remove("xsa")


def test_a_redirect_echoing_the_password_does_not_carry_it_on(xsa_login, hosts, tmp_path, caplog):
    _, stolen = hosts
    caplog.set_level(logging.DEBUG)
    report = vodaxa.download([f"{xsa_login}/aio?obsno=0000000001"], tmp_path, progress=False, retries=0)
    assert stolen and all(MARKER not in q and "AIOPWD" not in q and "AIOUSER" not in q for q in stolen)
    everything = " ".join([*report.errors, *(r.getMessage() for r in _ours(caplog))])
    assert MARKER not in everything


def test_errors_reports_and_logs_never_hold_the_password(xsa_login, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    report = vodaxa.download([f"{xsa_login}/aio?obsno=0000000002"], tmp_path, progress=False, retries=0)
    assert report.errors and MARKER not in " ".join(report.errors)

    async def get():
        scoped = auth.scope()
        async with HttpClient(headers_for=scoped.headers_for, params_for=scoped.params_for) as http:
            response = await http.get(f"{xsa_login}/aio?obsno=0000000002")
            raise ServiceError(f"the AIO servlet answered {response.status}: {response.text()}", url=response.url)

    with pytest.raises(ServiceError) as caught:
        asyncio.run(get())
    assert MARKER not in str(caught.value) and MARKER not in str(caught.value.url)
    assert all(MARKER not in r.getMessage() for r in _ours(caplog))
    manifest = vodaxa.Manifest([{"obs_id": "2", "note": f"failed at .../aio?obsno=2&AIOPWD={MARKER}"}])
    assert MARKER not in manifest.to_json()


def _ours(caplog):
    """Log records of the client side (the test servers' access logs are the archive's, not vodaxa's)."""
    return [r for r in caplog.records if not r.name.startswith("aiohttp.access")]


def test_redaction_by_value_and_by_parameter_name():
    auth.credentials.Credential("xsa", "pi", "Another-Secret-9", "password", "given")
    assert redact("x Another-Secret-9 y") == "x *** y"
    assert redact("https://h/aio?obsno=1&AIOPWD=abc&AIOUSER=u") == "https://h/aio?obsno=1&AIOPWD=***&AIOUSER=u"


def test_child_loggers_and_urllib3_request_lines_are_redacted(xsa_login, caplog):
    """urllib3 logs each request line with its query string on ``urllib3.connectionpool``, a child logger that a
    filter on ``urllib3`` would never see; vodaxa's own modules log on children of ``vodaxa`` too."""
    caplog.set_level(logging.DEBUG)
    vodaxa.net.session().get(f"{xsa_login}/aio?obsno=0000000002")
    for name in ("vodaxa.http", "vodaxa.downloader.fetch", "urllib3.connectionpool", "aiohttp.client", "pyvo.dal"):
        logging.getLogger(name).warning("a line holding AIOPWD=%s and %s", MARKER, MARKER)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "urllib3.connectionpool" in {r.name for r in caplog.records} and "GET /aio?obsno=0000000002" in text
    assert MARKER not in text and "AIOPWD=***" in text


def test_redaction_creates_no_other_librarys_logger():
    """astroquery sets its own logger class when it first makes its logger: vodaxa must not make it first."""
    import subprocess
    import sys

    code = "import logging, vodaxa; print('astroquery' in logging.root.manager.loggerDict)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == (
        "False"
    )
