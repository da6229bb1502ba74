"""ESO's resolution shapes in the sandbox: DataLink, calSelector (VOTable, XML, multipart) and the dataportal."""

from __future__ import annotations

import email
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import pyvo
import requests
from astropy.io import fits
from astropy.io.votable import parse as parse_votable

from vodaxa import lzw
from vodaxa.config import validate
from vodaxa.resolvers.datalink import LinkRow as Link
from vodaxa.sandbox import Sandbox, SandboxConfig
from vodaxa.sandbox.archives.eso import shape as eso
from vodaxa.sandbox.archives.eso.links import (
    ESO_SEMANTICS,
    KINDS,
    calibration_frame,
    cascade_kind,
    night_calibrations,
    night_of,
)
from vodaxa.sandbox.protocols.vo import FieldMeta, links_document

ROWS = 300
SEED = 11
NOW_MJD = 61000.0
MAX_IDS = 25
IVO = "ivo://eso.org/ID?"
RAW2RAW = f"{ESO_SEMANTICS}calSelector_raw2raw"
RAW2MASTER = f"{ESO_SEMANTICS}calSelector_raw2master"
NIGHT_LOG = f"{ESO_SEMANTICS}night_log"
SIBLING = f"{ESO_SEMANTICS}sibling_raw"


def _config(cache: Path) -> SandboxConfig:
    return SandboxConfig(
        rows=ROWS, seed=SEED, now_mjd=NOW_MJD, archives=("eso",), cache=cache, datalink_max_ids=MAX_IDS
    )


@pytest.fixture(scope="module")
def sb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(_config(tmp_path_factory.mktemp("eso-links"))) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def base(sb: Sandbox) -> str:
    return sb.urls["eso"]


@pytest.fixture(scope="module")
def raw() -> dict[str, np.ndarray]:
    return eso.generate("raw", ROWS, seed=SEED, now_mjd=NOW_MJD)


@pytest.fixture(scope="module")
def science(raw) -> list[str]:
    """Public science frames: proprietary ones need a token (test_eso_auth)."""
    now = np.datetime64(round((NOW_MJD - 40587.0) * 86400), "s")
    return [str(d) for d, c, r in zip(raw["dp_id"], raw["dp_cat"], raw["release_date"]) if c == "SCIENCE" and r <= now]


def _of_kind(science: list[str], kind: str) -> str:
    return next(d for d in science if cascade_kind(d) == kind)


def _links(url: str) -> pyvo.dal.adhoc.DatalinkResults:
    return pyvo.dal.adhoc.DatalinkResults.from_result_url(url)


def _one(results, semantics: str):
    rows = list(results.bysemantics(semantics, include_narrower=False))
    assert len(rows) == 1, (semantics, [r.semantics for r in results])
    return rows[0]


def _summary(description: str) -> dict[str, str]:
    """The cascade summary parsed the way ESO's own helper reads it (one regex per attribute)."""
    keys = ("category", "complete", "certified", "mode", "messages")
    return {k: re.search(rf'{k}="([^"]*)"', description).group(1) for k in keys}


# ------------------------------------------------------------------------------ wiring


def test_endpoints_name_every_eso_service(sb, base):
    assert sb.endpoints["eso"] == {
        "tap_obs": f"{base}/tap_obs",
        "datalink": f"{base}/datalink/links",
        "calselector": f"{base}/calselector/v1/associations",
        "dataportal": f"{base}/dataPortal/file/",
        "token": f"{base}/sso/oidc/token",
    }
    assert validate(sb.endpoints, "sandbox") == sb.endpoints


def test_tap_rows_lead_to_the_services(sb, base):
    tap = pyvo.dal.TAPService(sb.endpoints["eso"]["tap_obs"])
    row = tap.run_sync("SELECT TOP 1 dp_id, access_url, datalink_url FROM dbo.raw WHERE dp_cat = 'SCIENCE'").to_table()[
        0
    ]
    assert row["access_url"] == f"{sb.endpoints['eso']['dataportal']}{row['dp_id']}"
    assert row["datalink_url"].startswith(sb.endpoints["eso"]["datalink"] + "?ID=")
    assert requests.head(row["access_url"], timeout=30).status_code == 200
    links = _links(row["datalink_url"])
    assert _one(links, "#this").access_url == row["access_url"]
    product = tap.run_sync("SELECT TOP 1 access_url FROM ivoa.ObsCore").to_table()[0]
    assert _one(_links(product["access_url"]), "#this").access_url.startswith(f"{base}/dataPortal/file/ADP.")


# ------------------------------------------------------------------------------ DataLink


def test_raw_science_frame_links_as_eso_gives_them(base, science):
    dp_id = science[0]
    links = _links(f"{base}/datalink/links?ID={IVO}{dp_id}")
    table = links.to_table()
    assert {"eso_origfile", "eso_category", "eso_datalink"} <= set(table.colnames)
    assert sorted(r.semantics for r in links) == sorted(["#this", RAW2RAW, RAW2MASTER, NIGHT_LOG])
    assert {str(i) for i in table["ID"]} == {f"{IVO}{dp_id}"}
    this = _one(links, "#this")
    assert this.access_url == f"{base}/dataPortal/file/{dp_id}" and this.content_type == "application/fits"
    assert this["eso_origfile"] == f"{dp_id}.fits.Z"
    assert this["eso_datalink"] == f"{base}/datalink/links?ID={IVO}{dp_id}"
    got = requests.get(this.access_url, timeout=30)
    assert got.status_code == 200 and len(got.content) == this.content_length
    for semantics, mode in ((RAW2RAW, "Raw2Raw"), (RAW2MASTER, "Raw2Master")):
        url = _one(links, semantics).access_url
        assert url == f"{base}/calselector/v1/associations?dp_id={dp_id}&mode={mode}&responseformat=votable"
    log = _one(links, NIGHT_LOG)
    assert log["eso_category"] == "Night Log" and log["eso_origfile"] == f"{dp_id}.NL.txt"
    page = requests.get(log.access_url, timeout=30)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/plain")
    assert page.headers["Content-Disposition"] == f"attachment; filename={dp_id}.NL.txt"


def test_night_logs_are_per_instrument_and_night(base, raw, science):
    by_night: dict[tuple[str, int], list[str]] = {}
    for dp_id, inst, mjd in zip(raw["dp_id"], raw["instrument"], raw["mjd_obs"]):
        by_night.setdefault((str(inst), night_of(float(mjd))), []).append(str(dp_id))
    a, b = next(ids for ids in by_night.values() if len(ids) > 1)[:2]
    text_a = requests.get(f"{base}/dataPortal/file/{a}.NL", timeout=30).text
    assert text_a == requests.get(f"{base}/dataPortal/file/{b}.NL", timeout=30).text
    assert "ESO NIGHT LOG" in text_a


def test_calibration_frames_link_only_to_themselves_and_their_night_log(base, raw):
    dp_id = str(raw["dp_id"][np.flatnonzero(raw["dp_cat"] == "CALIB")[0]])
    links = _links(f"{base}/datalink/links?ID={IVO}{dp_id}")
    assert sorted(r.semantics for r in links) == sorted(["#this", NIGHT_LOG])


def test_product_links_this_and_preview(base):
    obscore = eso.generate("ObsCore", ROWS, seed=SEED, now_mjd=NOW_MJD)
    dp_id = str(obscore["dp_id"][3])
    links = _links(f"{base}/datalink/links?ID={IVO}{dp_id}")
    assert sorted(r.semantics for r in links) == ["#preview", "#this"]
    this = _one(links, "#this")
    got = requests.get(this.access_url, timeout=30)
    assert got.headers["Content-Disposition"] == f"attachment; filename={dp_id}.fits"
    assert len(got.content) == this.content_length
    with fits.open(io.BytesIO(got.content), checksum=True) as hdul:
        assert hdul[0].header["ARCFILE"] == f"{dp_id}.fits" and hdul[0].header["PRODCATG"].startswith("SCIENCE.")
    preview = requests.get(_one(links, "#preview").access_url, timeout=30)
    assert preview.status_code == 200 and dp_id in preview.text
    assert preview.url == f"{base}/dataset/{dp_id}" == obscore["preview_html"][3].replace(eso.PLACEHOLDER, base)


def test_unknown_ids_get_not_found_rows(base, science):
    ids = [f"{IVO}{science[1]}", f"{IVO}FORS2.1999-01-01T00:00:00.000", science[1], "ivo://eso.org/ID?"]
    links = pyvo.dal.adhoc.DatalinkResults.from_result_url(f"{base}/datalink/links?" + "&".join(f"ID={i}" for i in ids))
    errors = {str(r["ID"]): r.error_message for r in links if r.error_message}
    assert set(errors) == set(ids[1:])
    assert all(message.startswith("NotFoundFault") for message in errors.values())


def _votable(response: requests.Response):
    assert response.status_code == 200, response.text
    return parse_votable(io.BytesIO(response.content)).resources[0]


def test_batched_post_caps_ids_with_overflow(base, science):
    ids = [f"{IVO}{d}" for d in science[: MAX_IDS + 7]]
    resource = _votable(requests.post(f"{base}/datalink/links", data={"ID": ids}, timeout=60))
    statuses = [(i.name, i.value) for i in resource.infos]
    assert ("QUERY_STATUS", "OVERFLOW") in statuses
    answered = [str(v) for v in resource.tables[0].array["ID"]]
    assert list(dict.fromkeys(answered)) == ids[:MAX_IDS]  # in order, each ID's rows together, none split
    assert len(answered) == 4 * MAX_IDS
    exact = _votable(requests.post(f"{base}/datalink/links", data={"ID": ids[:MAX_IDS]}, timeout=60))
    assert ("QUERY_STATUS", "OVERFLOW") not in [(i.name, i.value) for i in exact.infos]


def test_eso_download_returns_the_file(base, science):
    dp_id = science[2]
    got = requests.get(f"{base}/datalink/links?ID={IVO}{dp_id}&eso_download=file", timeout=30)
    assert got.status_code == 200 and got.content[:2] == lzw.MAGIC
    assert got.content == requests.get(f"{base}/dataPortal/file/{dp_id}", timeout=30).content
    assert requests.get(f"{base}/datalink/links?ID={IVO}NOPE.1&eso_download=file", timeout=30).status_code == 404


# ------------------------------------------------------------------------------ calSelector VOTable


def _calselector(base: str, dp_id: str, mode: str) -> pyvo.dal.adhoc.DatalinkResults:
    return _links(f"{base}/calselector/v1/associations?dp_id={dp_id}&mode={mode}&responseformat=votable")


@pytest.mark.parametrize(
    ("kind", "mode", "expected"),
    [
        ("complete", "Raw2Raw", {"complete": "true", "certified": "true", "mode": "Raw2Raw"}),
        ("complete", "Raw2Master", {"complete": "true", "certified": "true", "mode": "Raw2Master"}),
        ("incomplete", "Raw2Raw", {"complete": "false", "certified": "true", "mode": "Raw2Raw"}),
        ("uncertified", "Raw2Master", {"complete": "true", "certified": "false", "mode": "Raw2Master"}),
        ("no_masters", "Raw2Master", {"complete": "true", "certified": "true", "mode": "Raw2Raw"}),
    ],
)
def test_calselector_votable_summarises_each_cascade_kind(base, science, kind, mode, expected):
    dp_id = _of_kind(science, kind)
    links = _calselector(base, dp_id, mode.lower())  # the mode is case-insensitive
    assert {str(r["ID"]) for r in links} == {f"{IVO}{dp_id}"}
    info = _summary(_one(links, "#this").description)
    assert {k: info[k] for k in expected} == expected
    assert info["category"].startswith("SCI_")
    assert bool(info["messages"]) == (kind == "incomplete")
    calibrations = list(links.bysemantics("#calibration", include_narrower=False))
    assert calibrations and all(r["eso_category"] for r in calibrations)
    masters = [str(r["eso_datalink"]).rsplit("?", 1)[1].startswith("M.") for r in calibrations]
    assert all(masters) if expected["mode"] == "Raw2Master" else not any(masters)
    if kind == "incomplete":
        assert not any("STANDARD" in r["eso_category"] for r in calibrations)
    tree = [r for r in links if r["eso_category"] == "ASSOCIATION_TREE"]
    assert len(tree) == 1 and tree[0].semantics == (RAW2MASTER if expected["mode"] == "Raw2Master" else RAW2RAW)
    root = ET.fromstring(requests.get(tree[0].access_url, timeout=30).content)
    assert root.get("mode") == expected["mode"] and root.get("complete") == expected["complete"]


def test_calselector_rows_are_downloadable_and_siblings_are_the_ob(base, raw, science):
    ob_of = {str(d): int(o) for d, o in zip(raw["dp_id"], raw["ob_id"])}
    dp_id = next(d for d in science if sum(ob_of[s] == ob_of[d] for s in science) >= 3)
    links = _calselector(base, dp_id, "Raw2Raw")
    siblings = {r["eso_datalink"].rsplit("?", 1)[1] for r in links.bysemantics(SIBLING, include_narrower=False)}
    assert siblings == {s for s in science if ob_of[s] == ob_of[dp_id]} - {dp_id}
    this = _one(links, "#this")
    assert this.access_url == f"{base}/datalink/links?ID={IVO}{dp_id}&eso_download=file"
    calibration = next(iter(links.bysemantics("#calibration", include_narrower=False)))
    got = requests.get(calibration.access_url, timeout=30)
    assert got.status_code == 200 and len(got.content) == calibration.content_length
    assert got.headers["Content-Disposition"].startswith("attachment; filename=")
    again = _links(calibration["eso_datalink"])  # a calibration is a dataset of its own
    assert sorted(r.semantics for r in again) == sorted(["#this", NIGHT_LOG])


def test_calselector_votable_batches_and_reports_unknown(base, science):
    url = f"{base}/calselector/v1/associations?dp_id={science[0]}&dp_id={science[1]}&dp_id=FORS2.1&mode=Raw2Raw"
    links = _links(url + "&responseformat=votable")
    ids = list(dict.fromkeys(str(r["ID"]) for r in links))
    assert ids == [f"{IVO}{science[0]}", f"{IVO}{science[1]}", f"{IVO}FORS2.1"]
    assert next(r.error_message for r in links if r.error_message).startswith("NotFoundFault")


# ------------------------------------------------------------------------------ calSelector XML


def _check_association(node: ET.Element, top: bool = False) -> list[str]:
    """Assert the fixture-shaped structure recursively; return every file name below ``node``."""
    assert node.tag == "association"
    assert {"category", "certified", "complete", "type"} <= set(node.attrib)
    assert ("mode" in node.attrib) == top and ("match" in node.attrib) != top
    assert [child.tag for child in node] == ["mainFiles", "messages", "associatedFiles"]
    names = [f.get("name") for f in node.find("mainFiles")]
    assert all(f.get("category") for f in node.find("mainFiles"))
    for child in node.find("associatedFiles"):
        names += _check_association(child)
    return names


def test_single_xml_tree(base, science):
    dp_id = _of_kind(science, "complete")
    got = requests.get(f"{base}/calselector/v1/associations", params={"dp_id": dp_id, "mode": "Raw2Raw"}, timeout=30)
    assert got.headers["Content-Type"] == "application/xml; content=calselector"
    assert got.headers["Content-Disposition"] == f'filename="{dp_id}_raw2raw.xml"'
    root = ET.fromstring(got.content)
    names = _check_association(root, top=True)
    assert root.find("mainFiles/file").get("name") == dp_id and root.get("mode") == "Raw2Raw"
    calibrations = set(names) - {f.get("name") for f in root.find("mainFiles")}
    assert calibrations and all(calibration_frame(n) and not calibration_frame(n).master for n in calibrations)
    for name in sorted(calibrations)[:2]:
        assert requests.head(f"{base}/dataPortal/file/{name}", timeout=30).status_code == 200


def test_incomplete_tree_carries_messages(base, science):
    dp_id = _of_kind(science, "incomplete")
    root = ET.fromstring(
        requests.post(f"{base}/calselector/v1/associations", data={"dp_id": dp_id}, timeout=30).content
    )
    assert root.get("complete") == "false"
    empty = [a for a in root.iter("association") if a.get("complete") == "false" and a is not root]
    assert empty and all(not list(a.find("mainFiles")) and list(a.find("messages")) for a in empty)


def test_multipart_xml_trees(base, science):
    dp_ids = science[:3]
    got = requests.post(f"{base}/calselector/v1/associations", data={"dp_id": dp_ids, "mode": "RAW2MASTER"}, timeout=60)
    assert got.status_code == 200 and got.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    message = email.message_from_bytes(f"Content-Type: {got.headers['Content-Type']}\r\n\r\n".encode() + got.content)
    assert message.is_multipart()
    parts = message.get_payload()
    assert len(parts) == 3
    for dp_id, part in zip(dp_ids, parts):
        root = ET.fromstring(part.get_payload(decode=True))
        _check_association(root, top=True)
        mode = root.get("mode").lower()
        assert part["Content-Disposition"] == f'attachment; filename="{dp_id}_{mode}.xml"'
        assert part.get_content_type() == "application/xml" and part.get_param("content") == "calselector"
        assert root.find("mainFiles/file").get("name") == dp_id
        assert mode == ("raw2raw" if cascade_kind(dp_id) == "no_masters" else "raw2master")


def test_calselector_rejects_bad_requests(base, science):
    url = f"{base}/calselector/v1/associations"
    assert requests.get(url, timeout=30).status_code == 400
    assert requests.get(url, params={"dp_id": science[0], "mode": "raw2cooked"}, timeout=30).status_code == 400
    assert requests.get(url, params={"dp_id": science[0], "responseformat": "fits"}, timeout=30).status_code == 400
    assert requests.get(url, params={"dp_id": "FORS2.1999-01-01T00:00:00.000"}, timeout=30).status_code == 404


# ------------------------------------------------------------------------------ dataportal


def test_dataportal_sends_compressed_fits_with_eso_headers(base, science, raw):
    dp_id = science[4]
    got = requests.get(f"{base}/dataPortal/file/{dp_id}", timeout=30)
    assert got.status_code == 200
    assert got.headers["Content-Disposition"] == f"attachment; filename={dp_id}.fits.Z"
    assert int(got.headers["Content-Length"]) == len(got.content) and got.headers["ETag"]
    data = lzw.decompress(got.content)
    with fits.open(io.BytesIO(data), checksum=True) as hdul:
        header = hdul[0].header
        i = list(raw["dp_id"]).index(dp_id)
        assert header["ARCFILE"] == f"{dp_id}.fits" and header["INSTRUME"] == raw["instrument"][i]
        assert header["HIERARCH ESO DPR CATG"] == "SCIENCE" and hdul[0].data.shape == (32, 32)
    part = requests.get(f"{base}/dataPortal/file/{dp_id}", headers={"Range": "bytes=10-99"}, timeout=30)
    assert part.status_code == 206 and part.content == got.content[10:100]
    assert part.headers["Content-Range"] == f"bytes 10-99/{len(got.content)}"
    assert part.headers["Content-Disposition"] == got.headers["Content-Disposition"]
    head = requests.head(f"{base}/dataPortal/file/{dp_id}", timeout=30)
    assert head.headers["ETag"] == got.headers["ETag"]


def test_dataportal_serves_calibrations_and_masters(base, science):
    dp_id = _of_kind(science, "complete")
    url = f"{base}/calselector/v1/associations?dp_id={dp_id}&mode=Raw2Master"
    root = ET.fromstring(requests.get(url, timeout=30).content)
    master = root.find("associatedFiles/association/mainFiles/file").get("name")
    frame = calibration_frame(master)
    assert frame is not None and frame.master and master in night_calibrations(frame.instrument, frame.night).by_id
    got = requests.get(f"{base}/dataPortal/file/{master}", timeout=30)
    assert got.headers["Content-Disposition"] == f"attachment; filename={master}.fits"
    with fits.open(io.BytesIO(got.content), checksum=True) as hdul:
        assert hdul[0].header["HIERARCH ESO PRO CATG"].startswith(("MASTER", "PHOT", "DISP", "RESPONSE"))


def test_unknown_files_are_404(base, science):
    master_like = "M.FORS2.2021-01-03T13:00:00.000"
    for name in ("FORS2.1999-01-01T00:00:00.000", "nonsense", master_like, "ADP.2020-01-01T00:00:00.000.NL"):
        assert requests.get(f"{base}/dataPortal/file/{name}", timeout=30).status_code == 404, name


# ------------------------------------------------------------------------------ determinism, auth hook, vo


def test_same_bytes_every_time_and_in_every_sandbox(base, science, tmp_path):
    dp_id = science[5]
    paths = [f"/dataPortal/file/{dp_id}", f"/calselector/v1/associations?dp_id={dp_id}&mode=Raw2Master"]
    paths.append(f"/datalink/links?ID={IVO}{dp_id}")
    first = [requests.get(base + p, timeout=30).content for p in paths]
    assert first == [requests.get(base + p, timeout=30).content for p in paths]
    with Sandbox(_config(tmp_path)) as other:
        fresh = [requests.get(other.urls["eso"] + p, timeout=30).content for p in paths]
    assert fresh[:2] == first[:2]
    assert fresh[2].replace(other.urls["eso"].encode(), base.encode()) == first[2]


def test_cascade_kinds_all_occur(science):
    assert {cascade_kind(d) for d in science} == set(KINDS)
    with pytest.raises(ValueError):
        cascade_kind("NOT.A-DP-ID")


def test_authorization_hook_guards_every_service(sb, base, science, monkeypatch):
    links = sb.archives["eso"].links
    monkeypatch.setattr(links, "authorized", lambda request, dp_id: False)
    dp_id = science[0]
    login = requests.get(f"{base}/dataPortal/file/{dp_id}", timeout=30)  # ESO's login page, status 200
    assert login.status_code == 200 and login.headers["Content-Type"].startswith("text/html")
    rows = _links(f"{base}/datalink/links?ID={IVO}{dp_id}")
    assert [r.error_message.split(":")[0] for r in rows] == ["NotFoundFault"]
    assert requests.get(f"{base}/calselector/v1/associations?dp_id={dp_id}", timeout=30).status_code == 401


def test_links_document_extra_columns():
    extra = FieldMeta("eso_category", "char")
    size = FieldMeta("x_size", "long")
    links = [Link("a", access_url="u", extra={"eso_category": "BIAS"}), Link("b", error_message="NotFoundFault: b")]
    table = parse_votable(io.BytesIO(links_document(links, extra_fields=[extra]))).get_first_table().to_table()
    assert table.colnames[-1] == "eso_category" and list(table["eso_category"].filled("")) == ["BIAS", ""]
    explicit = parse_votable(io.BytesIO(links_document(links, extra_fields=[size, extra]))).get_first_table()
    assert [f.name for f in explicit.fields][-2:] == ["x_size", "eso_category"]
    plain = parse_votable(io.BytesIO(links_document([Link("c", access_url="u")]))).get_first_table()
    assert len(plain.fields) == 8  # no extras: the standard columns only, as before
    undescribed = parse_votable(io.BytesIO(links_document(links))).get_first_table()  # a name alone: text
    assert [(f.name, f.datatype) for f in undescribed.fields][-1] == ("eso_category", "char")
