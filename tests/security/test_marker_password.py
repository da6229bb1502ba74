"""Issue 14: a full command-line flow (log in, resolve, download) for ESO and the XSA with DEBUG logging, and
every file it writes, every log line and all its output grepped for the password, also URL-encoded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import pandas as pd
import pytest

from vodaxa import Mission
from vodaxa.config import endpoints
from vodaxa.sandbox import Sandbox, SandboxConfig
from vodaxa.sandbox.archives.eso import shape as eso

pytestmark = pytest.mark.timeout(240)
MARKER = "Mk7-pass word&=+q"  # spaces and URL-special characters, so every encoding is tried
ROWS, SEED = 200, 5
CLI = (
    "import logging, sys; logging.basicConfig(level=logging.DEBUG); "
    "from vodaxa.cli import main; from vodaxa.sandbox.offline import loopback_only\n"
    "with loopback_only('the test CLI'):\n    code = main(sys.argv[1:])\nsys.exit(code)"
)


@pytest.fixture(scope="module")
def sb(tmp_path_factory):
    config = SandboxConfig(rows=ROWS, seed=SEED, archives=("eso", "xsa"), accounts={"astro": MARKER},
                           cache=tmp_path_factory.mktemp("marker"))  # fmt: skip
    with Sandbox(config) as sandbox:
        yield sandbox


def _ids(sb: Sandbox) -> tuple[str, str]:
    raw = pd.DataFrame(eso.generate("raw", ROWS, seed=SEED, now_mjd=sb.now_mjd))
    now = pd.Timestamp((sb.now_mjd - 40587.0) * 86400, unit="s")
    private = raw[(raw["dp_cat"] == "SCIENCE") & (raw["release_date"] > now)]["dp_id"].iloc[0]
    with endpoints.override(sb.endpoints):
        info = Mission("xmm_pointed").filtered_obs_info
    locked = info[~info["proprietary_usable"]]["obs_id"].iloc[0]
    return str(private), str(locked)


def test_no_trace_of_the_password_anywhere(sb, tmp_path):
    dp_id, obs_id = _ids(sb)
    env = {**os.environ, "VODAXA_ENDPOINTS": str(sb.write_endpoints(tmp_path / "endpoints.json")),
           "VODAXA_CACHE_DIR": str(tmp_path / "cache"), "VODAXA_QUERY_CACHE": "0",
           "VODAXA_ESO_USERNAME": "astro", "VODAXA_ESO_PASSWORD": MARKER,
           "VODAXA_XSA_USERNAME": "astro", "VODAXA_XSA_PASSWORD": MARKER}  # fmt: skip
    steps = [
        ["resolve", "--mission", "eso", "--obs-id", dp_id, "--login", "-o", "eso.json"],
        ["resolve", "--mission", "xmm_pointed", "--obs-id", obs_id, "--login", "-o", "xmm.json"],
        ["download", "eso.json", "data", "--no-progress"],
        ["download", "xmm.json", "data", "--no-progress"],
        ["whoami"],
    ]
    for n, step in enumerate(steps):
        run = subprocess.run([sys.executable, "-c", CLI, *step], cwd=tmp_path, env=env, capture_output=True,
                             text=True, timeout=200)  # fmt: skip
        (tmp_path / f"step{n}.log").write_text(run.stdout + run.stderr)
        assert run.returncode == 0, (step, run.stderr[-2000:])
    downloaded = [p for p in (tmp_path / "data").rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert len(downloaded) >= 2  # the proprietary frame and the proprietary tarball came with the password
    forms = {MARKER, quote(MARKER, safe=""), quote_plus(MARKER), MARKER.replace(" ", "%20")}
    for path in Path(tmp_path).rglob("*"):
        if path.is_file():
            blob = path.read_bytes()
            assert not any(form.encode() in blob for form in forms), path
