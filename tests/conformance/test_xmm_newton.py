"""astroquery's XMMNewton (ESAC TapPlus on the XSA TAP, the AIO and postcard servlets) against the sandbox."""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("astroquery", reason="the conformance tests need astroquery (tox -e conformance installs it)")

from astroquery.esa.xmm_newton import XMMNewtonClass
from astroquery.exceptions import LoginError
from astroquery.utils.tap.core import TapPlus

from vodaxa.sandbox.archives.xsa.shape import ALL_COLUMNS, PUBLIC_COLUMNS, mjd_to_datetime64

from .conftest import PASSWORD, USER


@pytest.fixture
def xmm(sandbox) -> XMMNewtonClass:
    """A client on the sandbox: a TapPlus handler for its TAP, its servlet URLs as instance attributes."""
    base = sandbox.urls["xsa"]
    client = XMMNewtonClass(tap_handler=TapPlus(url=f"{base}/tap-server/tap"))
    client.data_url = f"{base}/nxsa-sl/servlet/data-action?"
    client.data_aio_url = f"{base}/nxsa-sl/servlet/data-action-aio?"
    return client


@pytest.fixture(scope="module")
def observations(sandbox) -> dict[str, np.ndarray]:
    return sandbox.archives["xsa"].data["v_all_observations"]


def _obsids(sandbox, observations, *, public: bool, science: bool = True) -> list[str]:
    now = mjd_to_datetime64(np.array([sandbox.now_mjd]))[0]
    end = observations["proprietary_end_date"]
    released = ~np.isnat(end) & (end <= now)
    has_pps = np.array([v is not None for v in observations["pps_version"]])
    pick = (released if public else (~np.isnat(end) & ~released)) & (has_pps if science else True)
    return [str(o) for o in observations["observation_id"][pick]]


def test_get_tables(xmm):
    names = xmm.get_tables()
    assert {"xsa.v_all_observations", "xsa.v_public_observations"} <= set(names)


def test_get_tables_with_metadata(xmm):
    """only_names=False parses the whole ESAC TAP+ tables document (esatapplus:flags on every column)."""
    tables = {t.name: t for t in xmm.get_tables(only_names=False)}
    assert tables["xsa.v_all_observations"].size_bytes > 0


def test_get_columns(xmm):
    assert xmm.get_columns("xsa.v_public_observations") == [c.name for c in PUBLIC_COLUMNS]
    columns = {c.name: c for c in xmm.get_columns("xsa.v_all_observations", only_names=False)}
    assert set(columns) == {c.name for c in ALL_COLUMNS}
    assert (columns["ra"].flags, columns["dec"].flags, columns["observation_id"].flags) == ("1", "2", "16")


def test_query_xsa_tap(xmm, observations):
    table = xmm.query_xsa_tap("SELECT observation_id, revolution FROM xsa.v_all_observations ORDER BY observation_id")
    assert list(table["observation_id"]) == sorted(str(o) for o in observations["observation_id"])


def test_query_xsa_tap_csv(xmm, tmp_path: Path):
    out = tmp_path / "obs.csv"
    table = xmm.query_xsa_tap(
        "SELECT TOP 4 observation_id FROM v_public_observations", output_format="csv", output_file=str(out)
    )
    assert len(table) == 4 and out.exists()


def test_get_postcard(xmm, sandbox, observations, workdir: Path):
    obsid = _obsids(sandbox, observations, public=True)[0]
    name = xmm.get_postcard(obsid)
    assert name == f"{obsid}.png" and (workdir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_download_data_odf(xmm, sandbox, observations, workdir: Path):
    """The AIO servlet: HEAD for the name (Content-Disposition), then GET; the ODF tarball holds one inner .TAR."""
    obsid = _obsids(sandbox, observations, public=True)[0]
    xmm.download_data(obsid, level="ODF")
    path = workdir / f"{obsid}.tar.gz"
    with tarfile.open(path) as tar:
        [inner] = tar.getnames()
    assert inner.endswith(f"_{obsid}.TAR")


def test_download_data_pps_filtered(xmm, sandbox, observations, workdir: Path):
    obsid = _obsids(sandbox, observations, public=True)[1]
    xmm.download_data(obsid, level="PPS", instname="PN", extension="FTZ", filename="pn_products")
    [path] = workdir.glob("pn_products*")
    with tarfile.open(path) as tar:
        names = [n for n in tar.getnames() if not n.endswith("/")]
    assert names and all(n.split("/")[-1][11:13] == "PN" and ".FTZ" in n for n in names if "/pps/" in n)


def test_download_proprietary_needs_credentials(xmm, sandbox, observations, workdir: Path, tmp_path_factory):
    private = _obsids(sandbox, observations, public=False)
    assert private
    with pytest.raises(LoginError):
        xmm.download_data(private[0], level="ODF")
    credentials = tmp_path_factory.mktemp("xmm-credentials") / "xmm.ini"
    credentials.write_text(f"[xmm_newton]\nusername={USER}\npassword={PASSWORD}\n")
    xmm.download_data(private[0], level="ODF", prop=True, credentials_file=str(credentials))
    assert (workdir / f"{private[0]}.tar.gz").stat().st_size > 0
