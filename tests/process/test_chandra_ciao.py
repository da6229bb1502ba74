"""The CIAO chain on sandbox data with fake CIAO tools: command lines, products, ledger, reruns, failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from astropy.io import fits

from vodaxa.errors import CiaoNotFoundError, ProcessingError
from vodaxa.process import Workspace, chandra

from .conftest import ACIS, ALTERNATING, HRC, MULTI_OBI


def _calls(log) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_without_ciao_the_error_says_what_to_do(data, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    ws = Workspace(data)
    chandra.prepare_chandra_info(ws)  # pure Python: works without CIAO
    with pytest.raises(CiaoNotFoundError, match=r"install CIAO.*native"):
        chandra.chandra_repro(ws)


def test_a_missing_caldb_is_named(data, ciao, monkeypatch):
    monkeypatch.setenv("FAKE_CIAO_NO_CALDB", "1")
    with pytest.raises(CiaoNotFoundError, match="CALDB"):
        chandra.find_ciao()
    monkeypatch.delenv("FAKE_CIAO_NO_CALDB")
    assert chandra.find_ciao() == {"ciao": "4.17.0", "caldb": "4.11.5"}


def test_oif_parsing_marks_what_can_be_processed(data):
    ws = Workspace(data)
    report = chandra.prepare_chandra_info(ws)
    assert not len(report.failed)
    info = {e.uid: e.extra for e in ws.ledger.entries("prepare_chandra_info")}
    for obs in ACIS:
        assert info[obs]["process"] and info[obs]["instrument"] == "ACIS" and info[obs]["sub_exp_ids"] == ["E001"]
    assert info[HRC]["instrument"] == "HRC" and info[HRC]["process"]
    assert info[MULTI_OBI]["multi_obi"] and not info[MULTI_OBI]["process"]
    assert info[MULTI_OBI]["sub_exp_ids"] == ["E000", "E001"] and "multiple OBIs" in info[MULTI_OBI]["reason"]
    assert info[ALTERNATING]["alt_exp_mode"] and not info[ALTERNATING]["process"]
    assert sorted(o[0] for o in chandra.observations(ws)) == sorted([*ACIS, HRC])


def test_full_chain_command_lines_and_products(data, ciao):
    ws = Workspace(data)
    report = chandra.full_process_chandra(ws)
    assert not len(report.failed), report.summary()
    calls = _calls(ciao)
    tools = [c["tool"] for c in calls]
    for tool in ("ciaover", "chandra_repro", "dmextract", "deflare", "dmcopy", "fluximage"):
        assert tool in tools
    repro = [c for c in calls if c["tool"] == "chandra_repro"]
    assert len(repro) == 3  # the multi-OBI and alternating-exposure observations are not processed
    first = dict(a.split("=", 1) for a in repro[0]["argv"])
    assert first["destreak"] == "yes" and first["check_vf_pha"] == "no" and first["pix_adj"] == "default"
    assert first["asol_update"] == "yes" and first["pi_filter"] == "yes" and first["outdir"] == repro[0]["cwd"]
    assert len({c["pfiles"].split(";")[0] for c in repro}) == 3  # a private PFILES per task
    extract = [c for c in calls if c["tool"] == "dmextract"]
    acis_lc = [c for c in extract if "[energy=500:7000][bin time=::200]" in c["argv"][0]]
    hrc_lc = [c for c in extract if "[energy" not in c["argv"][0]]
    assert len(acis_lc) == 2 and len(hrc_lc) == 1 and all("opt=ltc1" in c["argv"] for c in extract)
    flare = next(c for c in calls if c["tool"] == "deflare")["argv"]
    assert "method=sigma" in flare and "nsigma=3" in flare and "minlength=3" in flare
    copies = [c["argv"][0] for c in calls if c["tool"] == "dmcopy"]
    assert sum("[EVENTS][grade=0,2,3,4,6,status=0]" in c for c in copies) == 2
    assert sum("[EVENTS][status=0]" in c for c in copies) == 1 and sum("[@" in c for c in copies) == 3
    flux = [c for c in calls if c["tool"] == "fluximage"]
    assert {a for c in flux for a in c["argv"] if a.startswith("units=")} == {"units=default", "units=time"}
    assert any("bands=0.5:7:2.3,0.5:1.2:0.92,1.2:2:1.56,2:7:3.8,0.2:0.4:0.4" in c["argv"] for c in flux)

    obs = ACIS[0]
    base = data / "processed" / "chandra" / obs
    prefix = f"obsid{obs}-instACIS-subexpE001"
    for rel in (f"events/{prefix}-en-events.fits", f"cleaning/{prefix}-flaringGTI.fits",
                f"events/{prefix}-en-cleanevents.fits", f"misc/{prefix}-aspectsolution.fits",
                f"images/{prefix}-en0.5_7keV-image.fits", f"images/{prefix}-en0.5_7keV-fluxmap.fits",
                f"images/{prefix}-en0.5_7keV-ratemap.fits", f"images/{prefix}-en2_7keV-expmap.fits",
                f"misc/{prefix}-en0.2_0.4keV-psfmap.fits"):  # fmt: skip
        assert (base / rel).is_file(), rel
    with fits.open(base / "events" / f"{prefix}-en-cleanevents.fits") as hdul:
        events = hdul["EVENTS"].data
        assert len(events) and set(events["GRADE"]) <= {0, 2, 3, 4, 6} and not events["STATUS"].any()
    hrc = data / "processed" / "chandra" / HRC / "images" / f"obsid{HRC}-instHRC-subexpE001-en-ratemap.fits"
    assert hrc.is_file()
    log = data / "processed" / "logs" / f"chandra_repro_{obs}ACISE001.log"
    assert "$ chandra_repro indir=" in log.read_text() and "# ok" in log.read_text()
    assert ws.summary()["ok"].all()


def test_a_rerun_skips_what_is_done(data, ciao):
    ws = Workspace(data)
    chandra.full_process_chandra(ws)
    before = len(_calls(ciao))
    again = chandra.full_process_chandra(ws)
    tools = [c["tool"] for c in _calls(ciao)[before:]]
    assert set(tools) <= {"ciaover"}  # only the CIAO check; every step skipped
    assert not again.ok and len(again.skipped) == 5 + 3 * 5  # prepare (5 ObsIDs) + 5 CIAO steps x 3
    ws2 = Workspace(data)  # a new session reads the ledger back
    assert ws2.ledger.succeeded("rate_image", f"{ACIS[0]}ACISE001")


def test_a_failing_step_is_recorded_and_the_others_continue(data, ciao, monkeypatch):
    bad, good = ACIS
    monkeypatch.setenv("FAKE_CIAO_FAIL", f"deflare:{bad}")
    ws = Workspace(data)
    report = chandra.full_process_chandra(ws)
    failed = report.failed
    assert list(failed["uid"]) == [f"{bad}ACISE001"] and list(failed["step"]) == ["deflare"]
    assert "deflare exited with status 1" in failed["error"].iloc[0] and "injected failure" in failed["error"].iloc[0]
    assert "injected failure" in Path(failed["log"].iloc[0]).read_text()
    assert ws.ledger.succeeded("rate_image", f"{good}ACISE001")
    assert ws.ledger.get("cleaned_chandra_evts", f"{bad}ACISE001") is None  # later steps skip it
    assert f"deflare {bad}ACISE001" in report.summary()

    monkeypatch.delenv("FAKE_CIAO_FAIL")
    before = len(_calls(ciao))
    fixed = ws.update()  # replays every recorded step: only the failed observation runs
    assert not len(fixed.failed), fixed.summary()
    ran = {(c["tool"], bad in " ".join(c["argv"])) for c in _calls(ciao)[before:] if c["tool"] != "ciaover"}
    assert ran and all(mentions_bad for _, mentions_bad in ran)
    assert ws.ledger.succeeded("rate_image", f"{bad}ACISE001")


def test_update_replays_the_exact_arguments(data, ciao):
    ws = Workspace(data)
    chandra.prepare_chandra_info(ws)
    chandra.chandra_repro(ws, destreak=False, pix_adj="edser")
    assert ws.ledger.steps["chandra_repro"] == {"destreak": False, "check_very_faint": False, "pix_adj": "edser",
                                               "asol_update": True, "grating_pi_filter": True}  # fmt: skip
    target = data / "processed" / "chandra" / ACIS[0] / "events" / f"obsid{ACIS[0]}-instACIS-subexpE001-en-events.fits"
    target.unlink()  # a product lost: update() redoes that one, with the recorded arguments
    before = len(_calls(ciao))
    ws.update()
    repro = [c for c in _calls(ciao)[before:] if c["tool"] == "chandra_repro"]
    assert len(repro) == 1 and "destreak=no" in repro[0]["argv"] and "pix_adj=edser" in repro[0]["argv"]
    assert target.is_file()


def test_timeouts_and_bad_parameters(data, ciao, monkeypatch, tmp_path):
    ws = Workspace(data)
    chandra.prepare_chandra_info(ws)
    with pytest.raises(ProcessingError, match="pix_adj"):
        chandra.chandra_repro(ws, pix_adj="sideways")
    with pytest.raises(ProcessingError, match="deflare needs chandra_repro"):
        chandra.deflare(ws)
    with pytest.raises(ProcessingError, match="chandra_repro"):
        chandra.cleaned_chandra_evts(ws, allowed_grades=[0, 1])
    slow = tmp_path / "slow-bin"
    slow.mkdir()
    (slow / "chandra_repro").write_text("#!/bin/sh\nsleep 30\n")
    (slow / "chandra_repro").chmod(0o755)
    monkeypatch.setenv("PATH", f"{slow}:{__import__('os').environ['PATH']}")
    report = chandra.chandra_repro(ws, timeout=0.5)
    assert len(report.failed) == 3 and report.failed["error"].str.contains("timed out after 0.5 s").all()
