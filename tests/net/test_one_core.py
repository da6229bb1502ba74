"""Every HTTP request vodaxa makes goes through the network core (vodaxa.net): no module outside it opens a
connection itself, and every pyvo service is handed a core session (pyvo's own would bypass the policy)."""

from __future__ import annotations

import ast
from pathlib import Path

import vodaxa

PACKAGE = Path(vodaxa.__file__).parent
#: The core itself, and the sandbox (the server side, which the tests talk to as a client would).
EXEMPT = ("net", "sandbox")
DIRECT = {
    ("requests", "get"), ("requests", "post"), ("requests", "put"), ("requests", "delete"), ("requests", "head"),
    ("requests", "request"), ("requests", "Session"), ("aiohttp", "ClientSession"), ("aiohttp", "request"),
    ("request", "urlopen"), ("urllib", "urlopen"), ("client", "HTTPConnection"), ("client", "HTTPSConnection"),
    ("socket", "create_connection"),
}  # fmt: skip
PYVO_SERVICES = {"TAPService", "SCSService", "SIAService", "SIA2Service", "SSAService", "DatalinkService",
                 "RegistryQuery", "TAPQuery", "DatalinkResults"}  # fmt: skip


def _modules() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] not in EXEMPT]


def _dotted(node: ast.AST) -> tuple[str, ...]:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return tuple(reversed(parts))


def _direct(tree: ast.AST) -> list[str]:
    """Calls and imports in ``tree`` that would open a connection without the core."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _dotted(node.func)[-2:] in DIRECT:
            found.append(f"{node.lineno} {'.'.join(_dotted(node.func))}")
        if isinstance(node, ast.ImportFrom) and node.module in ("requests", "aiohttp", "urllib.request"):
            names = {a.name for a in node.names}
            if names & {"get", "post", "request", "Session", "ClientSession", "urlopen"}:
                found.append(f"{node.lineno} from {node.module} import {sorted(names)}")
    return found


def _sessionless(tree: ast.AST) -> list[str]:
    """pyvo services and queries created in ``tree`` without a session (pyvo's own would bypass the policy)."""
    return [
        f"{node.lineno} {'.'.join(_dotted(node.func))}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and _dotted(node.func)[-1:] in {(name,) for name in PYVO_SERVICES}
        and not any(k.arg == "session" for k in node.keywords)
    ]


def _scan(check) -> list[str]:
    return [f"{p.relative_to(PACKAGE)}:{hit}" for p in _modules() for hit in check(ast.parse(p.read_text(), str(p)))]


def test_no_module_outside_the_core_opens_a_connection():
    offenders = _scan(_direct)
    assert offenders == [], "HTTP outside vodaxa.net: " + "; ".join(offenders)


def test_every_pyvo_service_gets_a_core_session():
    offenders = _scan(_sessionless)
    assert offenders == [], "pyvo with its own session: " + "; ".join(offenders)


def test_the_checks_see_planted_offenders():
    """The checks above are not vacuous: the same walks flag planted code, and they read the whole package."""
    planted = ast.parse(
        "import requests, pyvo, aiohttp\nfrom requests import get\nrequests.get('http://x')\n"
        "aiohttp.ClientSession()\npyvo.dal.TAPService('u')\npyvo.dal.TAPService('u', session=s)\n"
    )
    assert len(_direct(planted)) == 3
    assert _sessionless(planted) == ["5 pyvo.dal.TAPService"]
    assert len(_modules()) > 50
