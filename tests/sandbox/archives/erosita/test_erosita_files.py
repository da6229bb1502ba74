"""eROSITA files in the sandbox: Cal-PV field tarballs and DR1 sky-tile directories, real names, stable bytes."""

from __future__ import annotations

import gzip
import io
import re
import tarfile
from collections.abc import Iterator

import numpy as np
import pytest
import requests
from astropy.io import fits

from vodaxa.resolvers.listing import parse_listing
from vodaxa.sandbox import Sandbox, SandboxConfig
from vodaxa.sandbox.archives.erosita.files import calpv_member, calpv_tarball, tile_directory, tile_files, tile_versions

SEED = 3
DR1_NAME = re.compile(
    r"e[mb]01_(\d{6})_02[0-7]_(EventList|Image|ExposureMap|BackgrImage|ApeSensMap[13]B|SensMap[13]Blik5|"
    r"AreaTab[13]Blik5)_c(\d{3})\.fits\.gz"
)


@pytest.fixture(scope="module")
def sb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """An eROSITA-only sandbox with its own cache."""
    config = SandboxConfig(seed=SEED, archives=("erosita",), cache=tmp_path_factory.mktemp("ero"))
    with Sandbox(config) as sandbox:
        yield sandbox


def _fields(sb: Sandbox) -> dict[str, list]:
    """The shape's Cal-PV observations by field (tarball stem)."""
    out: dict[str, list] = {}
    for obs in sb.archives["erosita"].observations:
        out.setdefault(obs.field, []).append(obs)
    return out


def _tile(sb: Sandbox, versions: int, owner: int = 2) -> str:
    """A tile id published in ``versions`` pipeline versions, of the given OWNER."""
    tiles = sb.archives["erosita"].tiles()
    return next(t for t in sorted(tiles) if len(tile_versions(t, SEED)) == versions and tiles[t].owner == owner)


# ------------------------------------------------------------------------------------------- Cal-PV
def test_endpoints_name_the_file_areas(sb: Sandbox):
    ep = sb.endpoints["erosita"]
    assert ep["calpv"].endswith("/edr/eROSITAObservations/CalPvObs/")
    assert ep["dr1"].endswith("/dr1/erodat/data/download/")


def test_field_tarball_holds_one_event_list_per_obsid(sb: Sandbox):
    observations = _fields(sb)["SMC_1E0102"]
    body = requests.get(sb.endpoints["erosita"]["calpv"] + "SMC_1E0102.tar.gz", timeout=30).content
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        members = {m.name: m for m in tar.getmembers() if m.isfile()}
        assert set(members) == {calpv_member("SMC_1E0102", o.obsid, nested=False) for o in observations}
        for obs in observations:
            name = f"SMC_1E0102/fm00_{obs.obsid}_020_EventList_c001.fits"
            with fits.open(io.BytesIO(tar.extractfile(members[name]).read()), checksum=True) as hdus:
                events = hdus["EVENTS"].data
                tms = {int(n[2:]) for n in obs.active_insts}
                assert set(np.unique(events["TM_NR"])) <= tms and len(events) >= 200
                assert {h.name for h in hdus[2:]} == {f"GTI{k}" for k in tms}
                assert hdus[0].header["OBS_ID"] == obs.obsid
                assert hdus["GTI" + str(min(tms))].data["START"][0] <= events["TIME"].min()


def test_survey_tarballs_nest_one_folder_deeper(sb: Sandbox):
    body = requests.get(sb.endpoints["erosita"]["calpv"] + "eFEDS.tar.gz", timeout=30).content
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        files = [m.name for m in tar.getmembers() if m.isfile()]
    assert files and all(f.startswith("eFEDS/eFEDS/fm00_") for f in files)


def test_tarball_range_etag_and_stable_bytes(sb: Sandbox):
    url = sb.endpoints["erosita"]["calpv"] + "Puppis_A.tar.gz"
    whole = requests.get(url, timeout=30)
    assert whole.status_code == 200 and int(whole.headers["Content-Length"]) == len(whole.content)
    assert whole.content[:2] == b"\x1f\x8b" and whole.content[4:8] == b"\0\0\0\0"  # gzip, mtime 0
    tag = whole.headers["ETag"]
    part = requests.get(url, headers={"Range": "bytes=100-299", "If-Range": tag}, timeout=30)
    assert part.status_code == 206 and part.content == whole.content[100:300]
    assert part.headers["Content-Range"] == f"bytes 100-299/{len(whole.content)}"
    head = requests.head(url, timeout=30)
    assert head.headers["ETag"] == tag and int(head.headers["Content-Length"]) == len(whole.content)
    rebuilt = calpv_tarball("Puppis_A", _fields(sb)["Puppis_A"], seed=SEED, nested=False)
    assert rebuilt == whole.content
    assert calpv_tarball("Puppis_A", _fields(sb)["Puppis_A"], seed=SEED + 1, nested=False) != rebuilt


def test_unknown_tarballs_are_404(sb: Sandbox):
    base = sb.endpoints["erosita"]["calpv"]
    assert requests.get(base + "Nowhere.tar.gz", timeout=30).status_code == 404
    assert requests.get(base + "Crab.zip", timeout=30).status_code == 404


# ------------------------------------------------------------------------------------------- DR1 tiles
def test_tile_directories_list_every_pipeline_version(sb: Sandbox):
    for versions in (1, 2):
        tile = _tile(sb, versions)
        url = sb.endpoints["erosita"]["dr1"] + tile_directory(tile)
        assert url.endswith(f"/{tile[3:]}/{tile[:3]}/")
        dirs, files = parse_listing(requests.get(url, timeout=30).text)
        assert not files
        assert set(dirs) == {f"{kind}_{v}" for v in tile_versions(tile, SEED) for kind in ("EXP", "DET")}


def test_tile_listings_are_erodat_pages_not_apache_ones(sb: Sandbox):
    """MPE's eRODat writes its own listing: a files table, isdir/isfile rows, exact sizes, an unclosed date cell."""
    tile = _tile(sb, 1)
    url = sb.endpoints["erosita"]["dr1"] + tile_directory(tile) + "EXP_010/"
    page = requests.get(url, timeout=30).text
    assert '<table id="files"' in page and "Index of" not in page and "?C=N;O=D" not in page
    assert '<a href="../">Parent directory</a>' in page and "class='matomo_download'" in page
    rows = re.findall(r'<tr class="isfile">.*?</tr>', page)
    assert rows and all(re.search(r"<td>File</td><td>[0-9: -]+<td>[0-9]+</td></tr>$", r) for r in rows)
    _, files = parse_listing(page)
    sizes = {n: int(s) for n, s in re.findall(r"href=\"([^\"]+)\" class='matomo_download'.*?<td>(\d+)</td>", page)}
    assert set(files) == set(sizes) and all(requests.head(url + n, timeout=30).headers["Content-Length"] == str(v)
                                            for n, v in list(sizes.items())[:2])  # fmt: skip


def test_tile_files_carry_real_dr1_names(sb: Sandbox):
    tile = _tile(sb, 2)
    base = sb.endpoints["erosita"]["dr1"] + tile_directory(tile)
    for version in ("010", "020"):
        _, exp = parse_listing(requests.get(f"{base}EXP_{version}/", timeout=30).text)
        _, det = parse_listing(requests.get(f"{base}DET_{version}/", timeout=30).text)
        for name in exp + det:
            match = DR1_NAME.fullmatch(name)
            assert match and match.group(1) == tile and match.group(3) == version, name
        assert sorted(exp) == [f"em01_{tile}_020_EventList_c{version}.fits.gz"] + [
            f"em01_{tile}_02{b}_Image_c{version}.fits.gz" for b in range(1, 8)
        ]
        assert sum("_ExposureMap_" in n for n in det) == 7 and sum("_BackgrImage_" in n for n in det) == 4


def test_tile_event_list_opens_and_is_stable(sb: Sandbox):
    tile = _tile(sb, 1, owner=0)  # a shared tile: MPE+IKI ownership, "eb01"
    name = f"EXP_010/eb01_{tile}_020_EventList_c010.fits.gz"
    url = sb.endpoints["erosita"]["dr1"] + tile_directory(tile) + name
    answer = requests.get(url, timeout=30)
    assert answer.status_code == 200 and "Content-Encoding" not in answer.headers
    with fits.open(io.BytesIO(gzip.decompress(answer.content)), checksum=True) as hdus:
        events = hdus["EVENTS"].data
        assert set(np.unique(events["TM_NR"])) <= set(range(1, 8)) and len(events) >= 400
        assert {"TIME", "RA", "DEC", "PI", "TM_NR"} <= set(events.columns.names)
    t = sb.archives["erosita"].tiles()[tile]
    assert tile_files(t, "010", seed=SEED)[name] == answer.content
    image = requests.get(url.replace("020_EventList", "023_Image"), timeout=30).content
    with fits.open(io.BytesIO(gzip.decompress(image)), checksum=True) as hdus:
        assert hdus[0].data.shape == (32, 32) and hdus[0].header["CTYPE1"] == "RA---SIN"


def test_unknown_tiles_are_404(sb: Sandbox):
    base = sb.endpoints["erosita"]["dr1"]
    assert requests.get(base + "999/999/", timeout=30).status_code == 404
    tile = _tile(sb, 1)
    assert requests.get(base + tile_directory(tile) + "EXP_020/", timeout=30).status_code == 404
