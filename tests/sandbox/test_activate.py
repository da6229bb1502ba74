"""``vodaxa.sandbox.activate``: a sandbox for a notebook session, endpoints given back on stop()."""

from __future__ import annotations

import requests

import vodaxa.sandbox
from vodaxa.config import endpoints


def test_activate_points_endpoints_until_stop(tmp_path):
    before = endpoints.get("heasarc", "tap")
    sandbox = vodaxa.sandbox.activate(rows=20, cache=tmp_path, archives=("heasarc",))
    try:
        tap = endpoints.get("heasarc", "tap")
        assert tap.startswith("http://127.0.0.1:") and tap != before
        assert requests.get(tap + "/availability", timeout=10).status_code == 200
    finally:
        sandbox.stop()
    assert endpoints.get("heasarc", "tap") == before
    sandbox.stop()  # idempotent
    assert endpoints.get("heasarc", "tap") == before
