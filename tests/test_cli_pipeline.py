"""Every ``vodaxa`` command on the sandbox: missions, search, resolve, download, demo, and bad input
ending in one readable line and a non-zero exit code."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from vodaxa.cli import build_parser, main
from vodaxa.manifest import Manifest


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("VODAXA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("VODAXA_QUERY_CACHE", "0")
    monkeypatch.delenv("VODAXA_ENDPOINTS", raising=False)
    for name in ("VODAXA_ESO_USERNAME", "VODAXA_ESO_PASSWORD", "VODAXA_ESO_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def _one_line_error(capsys, code: int, *needles: str) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("vodaxa: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_every_command_has_help(capsys):
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"missions", "search", "resolve", "download", "process", "login", "logout", "whoami", "config",
            "sandbox", "demo"} <= set(commands)  # fmt: skip
    for name in commands:
        with pytest.raises(SystemExit) as done:
            main([name, "--help"])
        assert done.value.code == 0
        assert "usage: vodaxa " + name in capsys.readouterr().out


def test_missions_as_table_and_csv(capsys):
    assert main(["missions"]) == 0
    out = capsys.readouterr().out
    assert "nustar_pointed" in out and "xmm_pointed" in out and "eso_products" in out
    assert main(["missions", "--format", "csv"]) == 0
    frame = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    assert {"name", "archive", "instruments"} <= set(frame.columns) and len(frame) >= 14


def test_search_by_name_to_csv_then_resolve_then_download(vodaxa_sandbox, tmp_path, capsys):
    obs = tmp_path / "obs.csv"
    assert main(["search", "nustar_pointed", "chandra", "--name", "3C 105", "--end", "2030-01-01", "-o", str(obs)]) == 0
    err = capsys.readouterr().err
    assert "nustar_pointed:" in err and "written to" in err
    table = pd.read_csv(obs, dtype={"obs_id": str})
    assert len(table) and set(table["mission"]) <= {"nustar_pointed", "chandra"}
    public = table[table["proprietary_usable"] & table["science_usable"]].head(2)
    public.to_csv(obs, index=False)

    manifest = tmp_path / "m.json"
    assert main(["resolve", str(obs), "-o", str(manifest)]) == 0
    out = capsys.readouterr().out
    assert "manifest written to" in out
    files = Manifest.from_json(manifest).files
    assert len(files) > 3

    dest = tmp_path / "data"
    assert main(["download", str(manifest), str(dest), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"{len(files)} downloaded, 0 already complete, 0 failed" in out
    assert all((dest / p).is_file() for p in files["local_path"])
    assert main(["download", str(manifest), str(dest), "--no-progress"]) == 0  # complete files: no network
    assert f"0 downloaded, {len(files)} already complete" in capsys.readouterr().out


def test_search_by_position_and_positions_file_formats(vodaxa_sandbox, tmp_path, capsys):
    assert main(["search", "nustar_pointed", "--ra", "61.8232", "--dec", "3.7099", "--format", "json"]) == 0
    by_position = json.loads(capsys.readouterr().out)
    assert by_position and all(row["mission"] == "nustar_pointed" for row in by_position)
    plain = tmp_path / "pos.txt"
    plain.write_text("# ra dec\n61.8232 3.7099\n194.9531 27.9806  # Coma\n")
    as_csv = tmp_path / "pos.csv"
    as_csv.write_text("name,ra,dec\n3C 105,61.8232,3.7099\nComa,194.9531,27.9806\n")
    outputs = []
    for path in (plain, as_csv):
        assert main(["search", "nustar_pointed", "--positions", str(path), "--format", "csv"]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] and len(outputs[0].splitlines()) > len(by_position)
    vot = tmp_path / "obs.xml"
    assert main(["search", "nustar_pointed", "--ra", "61.8232", "--dec", "3.7099", "-o", str(vot)]) == 0
    from astropy.table import Table

    assert len(Table.read(vot, format="votable")) == len(by_position)


def test_resolve_by_mission_and_obs_ids(vodaxa_sandbox, tmp_path, capsys):
    from vodaxa import Mission

    ids = list(Mission("chandra").filtered_obs_info.query("proprietary_usable")["obs_id"][:1])
    manifest = tmp_path / "acis.parquet"
    assert main(["resolve", "--mission", "chandra", "--obs-id", *ids, "--filetypes", "evt2", "-o", str(manifest)]) == 0
    files = Manifest.from_parquet(manifest).files
    assert len(files) and files["local_path"].str.contains("evt2").all()


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["search", "nustar_pointd", "--ra", "1", "--dec", "2"], ["nustar_pointd", "nustar_pointed"]),
        (["search", "chandra", "--ra", "10"], ["--ra and --dec"]),
        (["search", "chandra", "--ra", "400", "--dec", "0"], ["not on the sky"]),
        (["search", "chandra", "--ra", "1", "--dec", "2", "--radius", "-1"], ["radius must be positive"]),
        (["resolve"], ["observation table", "--obs-id"]),
        (["download", "no-such-manifest.json"], ["no-such-manifest.json does not exist", "vodaxa resolve"]),
        (["download", "m.json", "--mirror", "nonsense"], ["ARCHIVE=URL"]),
        (["login", "eso", "--no-prompt"], ["no ESO credentials found", "VODAXA_ESO_PASSWORD"]),
        (["demo", "--max-obs", "0"], ["at least one"]),
        (["process", "no-such-folder"], ["not a folder of downloaded data"]),
    ],
)
def test_bad_input_is_one_line_and_non_zero(vodaxa_sandbox, tmp_path, monkeypatch, capsys, argv, needles):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.json").write_text(Manifest().to_json())
    assert main(argv) == 2
    _one_line_error(capsys, 2, *needles)


def test_malformed_positions_files(vodaxa_sandbox, tmp_path, capsys):
    cases = {
        "three.txt": ("10 20\n30 40 50\n", "line 2: expected 'ra dec'"),
        "words.txt": ("ten twenty\n", "are not numbers"),
        "nocols.csv": ("x,y\n1,2\n", "needs 'ra' and 'dec' columns"),
        "empty.txt": ("# nothing\n", "no positions found"),
        "polar.txt": ("10 95\n", "not on the sky"),
    }
    for name, (text, needle) in cases.items():
        (tmp_path / name).write_text(text)
        assert main(["search", "chandra", "--positions", str(tmp_path / name)]) == 2
        _one_line_error(capsys, 2, name, needle)
    assert main(["search", "chandra", "--positions", str(tmp_path / "missing.txt")]) == 2
    _one_line_error(capsys, 2, "does not exist")


def test_broken_manifest_and_observation_tables(vodaxa_sandbox, tmp_path, capsys):
    (tmp_path / "bad.json").write_text("{not json")
    assert main(["download", str(tmp_path / "bad.json"), str(tmp_path / "d")]) == 2
    _one_line_error(capsys, 2, "bad.json")
    (tmp_path / "obs.csv").write_text("a,b\n1,2\n")
    assert main(["resolve", str(tmp_path / "obs.csv")]) == 2
    _one_line_error(capsys, 2, "mission and obs_id")


def test_a_failed_download_exits_1_and_says_how_to_resume(vodaxa_sandbox, tmp_path, capsys):
    base = vodaxa_sandbox.endpoints["heasarc"]["ftp"]
    manifest = Manifest([{"mission": "nustar_pointed", "obs_id": "1", "url": base + "nustar/no/such/file.fits",
                          "local_path": "nustar_pointed/1/file.fits"}])  # fmt: skip
    path = tmp_path / "m.json"
    manifest.to_json(path)
    assert main(["download", str(path), str(tmp_path / "d"), "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert "1 failed" in captured.out and "404" in captured.err and "run the same command again" in captured.err


def test_demo_runs_the_whole_pipeline_offline(tmp_path, capsys):
    dest = tmp_path / "demo"
    assert main(["demo", "--dest", str(dest), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "Sgr A* is at RA 266.4168" in out and "Summary:" in out
    manifest = Manifest.from_json(dest / "manifest.json")
    assert set(manifest.files["mission"]) == {"nustar_pointed", "chandra", "eso"}
    unpacked = lambda p: (dest / p).with_name((dest / p).name.removesuffix(".Z"))  # noqa: E731  (.Z: unpacked)
    assert all((dest / p).is_file() or unpacked(p).is_file() for p in manifest.files["local_path"])
    for mission in ("nustar_pointed", "chandra", "eso"):
        assert f"{dest}/{mission}" in out
    assert not list(dest.rglob("*.part*"))
    summary = out[out.index("Summary:"):].splitlines()
    counted = {line.split()[0]: int(line.split()[3]) for line in summary[2:5]}  # mission found fetched files ...
    landed = {m: sum(1 for p in (dest / m).rglob("*") if p.is_file() and not p.name.startswith(".")) for m in counted}
    assert counted == landed  # unpacked ESO frames count as the files they became (found by a new-user walk)
    assert f"{sum(landed.values())} files downloaded" in out
    assert "5. Processing" in out and " 0 failed" in out
    assert list((dest / "processed" / "chandra").rglob("native/*-ratemap.fits"))
    assert list((dest / "processed" / "nustar_pointed").rglob("native/*-image.fits"))

    # the same folder through 'vodaxa process': everything already done
    assert main(["process", str(dest)]) == 0
    assert "0 done" in capsys.readouterr().out


def test_the_demo_summary_counts_files_with_a_relative_destination(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # 'vodaxa demo --dest demo', as a user types it (found by a check of the summary)
    assert main(["demo", "--dest", "demo", "--no-progress"]) == 0
    out = capsys.readouterr().out
    summary = out[out.index("Summary:"):].splitlines()
    counted = {line.split()[0]: int(line.split()[3]) for line in summary[2:5]}
    landed = {m: sum(1 for p in (tmp_path / "demo" / m).rglob("*") if p.is_file() and not p.name.startswith("."))
              for m in counted}  # fmt: skip
    assert counted == landed and all(counted.values())
