"""Issue 14 items 17 and 18: bad input to the public API is a typed vodaxa error (also a ValueError/TypeError
where that fits) saying what was wrong, and the CLI exits 2; nothing is skipped silently."""

from __future__ import annotations

import pandas as pd
import pytest

import vodaxa
from vodaxa.cli import main
from vodaxa.errors import ConfigError, InputError, ResolveError, UnknownColumnError, VodaxaError
from vodaxa.manifest import Manifest


@pytest.fixture(scope="module")
def sb(tmp_path_factory):
    from vodaxa.sandbox import Sandbox, SandboxConfig

    config = SandboxConfig(rows=60, archives=("heasarc", "eso"), cache=tmp_path_factory.mktemp("bad"))
    with Sandbox(config) as sandbox:
        yield sandbox


@pytest.mark.parametrize("distance", ["0.1; DROP", -1, float("nan"), float("inf"), [0.1, "x"], object()])
def test_search_distance(live, distance):
    with pytest.raises(InputError, match="search_distance"):
        vodaxa.mission("nustar_pointed").filter_on_positions([(10.0, 10.0)], search_distance=distance)


@pytest.mark.parametrize("ids", [None, 3.5, {"a": 1}, b"123"])
def test_obs_ids(live, ids):
    with pytest.raises(InputError, match="ObsID"):
        vodaxa.mission("nustar_pointed").filter_on_obs_ids(ids)


@pytest.mark.parametrize("source", [None, 5, "http://x/y", pd.DataFrame({"a": [1]})])
def test_resolve_sources(live, source):
    with pytest.raises(InputError, match="resolve takes"):
        vodaxa.resolve(source)


def test_an_eso_table_without_its_proprietary_column(live):
    frame = vodaxa.mission("eso").filtered_obs_info.head(2).drop(columns=["proprietary_usable"])
    with pytest.raises(InputError, match="proprietary_usable"):
        vodaxa.resolve(frame)


@pytest.mark.parametrize("source", [5, "http://127.0.0.1:9/one-url", [5], [None]])
def test_download_sources(source, tmp_path):
    with pytest.raises(InputError, match="download"):
        vodaxa.download(source, tmp_path, progress=False)


def test_a_destination_that_is_a_file(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(InputError, match="is a file"):
        vodaxa.download(["http://127.0.0.1:9/x"], target, progress=False)


@pytest.mark.parametrize(("name", "value"), [("max_per_host", -1), ("max_per_host", 0), ("max_total", -3),
                                             ("max_per_host", 2.5), ("max_per_host", True)])  # fmt: skip
def test_connection_limits(name, value, tmp_path):
    with pytest.raises(InputError, match=name):
        vodaxa.download(["http://127.0.0.1:9/x"], tmp_path, progress=False, **{name: value})


def test_the_cli_exits_2_on_a_bad_limit(tmp_path, capsys):
    manifest = vodaxa.Manifest([{"url": "http://127.0.0.1:9/x", "local_path": "x"}])
    manifest.to_json(tmp_path / "m.json")
    assert main(["download", str(tmp_path / "m.json"), str(tmp_path / "d"), "--max-per-host", "-1"]) == 2
    assert "max_per_host=-1" in capsys.readouterr().err


def test_typed_errors_are_also_value_errors():
    assert issubclass(InputError, ValueError) and issubclass(InputError, VodaxaError)


@pytest.mark.parametrize("options", [{"budget": float("nan")}, {"budget": 0}, {"budget": -3}, {"budget": "5"},
                                     {"retries": -1}, {"retries": 1.5}])  # fmt: skip
def test_download_refuses_nonsense_budgets_and_retries(tmp_path, options):
    with pytest.raises(InputError, match=next(iter(options))):
        vodaxa.download(["http://127.0.0.1:9/a.fits"], tmp_path, progress=False, **options)


@pytest.mark.parametrize("argv", [["download", "m.json", "--budget", "nan"], ["resolve", "--mission", "nustar",
                                  "--obs-id", "60001001002", "--budget", "-1"]])  # fmt: skip
def test_the_cli_exits_2_on_a_nonsense_budget(tmp_path, monkeypatch, capsys, argv):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2 and "--budget" in capsys.readouterr().err


def test_download_takes_a_table_of_rows_not_its_column_names(tmp_path):
    frame = pd.DataFrame({"url": ["http://127.0.0.1:9/a.fits"], "local_path": [None], "size": [float("nan")]})
    report = vodaxa.download(frame, tmp_path, retries=0, progress=False)
    assert list(report.failed["url"]) == ["http://127.0.0.1:9/a.fits"]  # one row tried, not three column names
    with pytest.raises(InputError, match="no 'url' column"):
        vodaxa.download(pd.DataFrame({"href": ["x"]}), tmp_path, progress=False)


# ------------------------------------------------------------------------------ download: template, mirrors, dest
@pytest.mark.parametrize("template", ["{url!z}", "{", "}", "{0}", "{}", "{url.__class__}", "{url[0]}", "{url:d}",
                                      "", 5, None])  # fmt: skip
def test_download_refuses_a_template_it_cannot_use(tmp_path, template):
    with pytest.raises(InputError, match="template"):
        vodaxa.download(["http://127.0.0.1:9/a.fits"], tmp_path, progress=False, template=template)


@pytest.mark.parametrize("mirrors", ["notadict", {"heasarc": 5}, {"heasarc": [None]}, {5: "/tmp"}, ["heasarc"]])
def test_download_refuses_mirrors_that_are_not_a_mapping_of_places(tmp_path, mirrors):
    with pytest.raises(ConfigError, match="mirror"):
        vodaxa.download(["http://127.0.0.1:9/a.fits"], tmp_path, progress=False, mirrors=mirrors)


def test_download_refuses_a_destination_under_a_file(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InputError, match="afile is a file"):
        vodaxa.download(["http://127.0.0.1:9/a.fits"], tmp_path / "afile" / "sub" / "deeper", progress=False)
    assert not (tmp_path / "afile").is_dir()


@pytest.mark.parametrize("dest", [None, 5, b"/tmp/x"])
def test_download_refuses_a_destination_that_is_not_a_path(dest):
    with pytest.raises(InputError, match="dest"):
        vodaxa.download(["http://127.0.0.1:9/a.fits"], dest, progress=False)


@pytest.mark.parametrize("splits", [True, False, 2.0])
def test_download_refuses_splits_that_are_not_a_whole_number(tmp_path, splits):
    with pytest.raises(ConfigError, match="splits"):
        vodaxa.download(["http://127.0.0.1:9/a.fits"], tmp_path, progress=False, splits=splits)


# ------------------------------------------------------------------------------ Manifest
def test_selecting_an_unknown_column_names_the_columns():
    manifest = Manifest([{"url": "http://x/a", "local_path": "a"}])
    with pytest.raises(UnknownColumnError, match=r"no manifest column 'colour'.*local_path") as caught:
        manifest.select(colour="red")
    assert isinstance(caught.value, KeyError) and isinstance(caught.value, InputError)  # as pandas, and typed


@pytest.mark.parametrize("text", ['{"vodaxa_manifest": 1}', '{"vodaxa_manifest": 1, "rows": 5}',
                                  '{"vodaxa_manifest": 1, "rows": [5]}', '{"vodaxa_manifest": 1, "rows": {"a": 1}}',
                                  '{"vodaxa_manifest": 1, "rows": [], "columns": 5}'])  # fmt: skip
def test_a_json_manifest_of_the_wrong_shape(text):
    with pytest.raises(ResolveError, match="not a vodaxa manifest"):
        Manifest.from_json(text)


@pytest.mark.parametrize("read", [Manifest.from_json, Manifest.from_parquet])
def test_a_manifest_file_that_is_missing_or_not_a_path(tmp_path, read):
    with pytest.raises(InputError, match=r"nope\.\w+ does not exist"):
        read(tmp_path / ("nope.json" if read == Manifest.from_json else "nope.parquet"))
    with pytest.raises(InputError, match="manifest"):
        read(5)


def test_a_parquet_manifest_that_is_not_parquet(tmp_path):
    (tmp_path / "m.parquet").write_text("x")
    with pytest.raises(ResolveError, match=r"m\.parquet: not a vodaxa manifest"):
        Manifest.from_parquet(tmp_path / "m.parquet")


@pytest.mark.parametrize("size", [float("inf"), float("-inf"), 1e30, 1.5, -1, True, "big", [1]])
def test_manifest_sizes_are_whole_byte_counts(size):
    with pytest.raises(ResolveError, match=r"row 1: size .* is not a byte count"):
        Manifest([{"url": "http://x/a", "local_path": "a", "size": 3}, {"url": "http://x/b", "local_path": "b",
                                                                           "size": size}])  # fmt: skip


def test_manifest_sizes_that_are_fine():
    rows = [{"url": f"http://x/{n}", "local_path": str(n), "size": size}
            for n, size in enumerate([None, float("nan"), 0, 7.0, "12", "", 2**62])]  # fmt: skip
    assert Manifest(rows).frame["size"].tolist()[2:] == [0, 7, 12, pd.NA, 2**62]


def test_only_a_manifest_adds_to_a_manifest():
    with pytest.raises(InputError, match="only another Manifest"):
        Manifest() + 5


# ------------------------------------------------------------------------------ resolve, search, filters
@pytest.mark.parametrize("instruments", [5, {"ACIS": 1}, [5], b"ACIS", [["ACIS"]]])
def test_resolve_refuses_instruments_that_are_not_names(instruments):
    with pytest.raises(InputError, match="instruments"):
        vodaxa.resolve(pd.DataFrame({"mission": ["chandra"], "obs_id": ["1"]}), instruments=instruments)


@pytest.mark.parametrize("targets", [[], 5, [(float("nan"), 5.0)], [(10.0, 95.0)], [(10.0, float("inf"))],
                                     [[1, 2, 3]], [(10.0, "x")], [[[10.0, 10.0]]]])  # fmt: skip
def test_search_refuses_targets_that_are_not_on_the_sky(live, targets):
    with pytest.raises(InputError, match="targets"):
        vodaxa.search(targets, missions=["nustar_pointed"])


def test_search_refuses_an_empty_or_unfinished_skycoord(live):
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    for coords in (SkyCoord([] * u.deg, [] * u.deg), SkyCoord([10, float("nan")] * u.deg, [5, 5] * u.deg)):
        with pytest.raises(InputError, match="targets"):
            vodaxa.search(coords, missions=["nustar_pointed"])


@pytest.mark.parametrize("radius", [float("nan"), -1, 0, "big", float("inf"), 500, 180.5, [0.1, -1],
                                    {"nustar_pointed": -1}, {"nustar_pointed": {"FPMA": float("nan")}}])  # fmt: skip
def test_search_refuses_a_radius_no_mission_could_use(live, radius):
    with pytest.raises(InputError, match="radius"):
        vodaxa.search([(10.0, 10.0)], missions=["nustar_pointed"], radius=radius)


def test_a_quantity_radius_is_checked_as_degrees(live):
    import astropy.units as u

    for radius in (-1 * u.deg, 200 * u.deg, 5 * u.s):
        with pytest.raises(InputError, match="radius"):
            vodaxa.search([(10.0, 10.0)], missions=["nustar_pointed"], radius=radius)
    with pytest.raises(InputError, match="search_distance"):
        vodaxa.mission("nustar_pointed").filter_on_positions([(10.0, 10.0)], search_distance=-3 * u.arcmin)


@pytest.mark.parametrize("types", [5, None, {"AGN": 1}, [5], [], b"AGN"])
def test_target_types_are_names(live, types):
    with pytest.raises(InputError, match="target_type"):
        vodaxa.mission("nustar_pointed").filter_on_target_type(types)


# ------------------------------------------------------------------------------ the CLI: exit 2, nothing written
def _cli_error(capsys, *needles: str) -> None:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("vodaxa: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_cli_download_into_a_folder_under_a_file(tmp_path, capsys):
    Manifest([{"url": "http://127.0.0.1:9/x", "local_path": "x"}]).to_json(tmp_path / "m.json")
    (tmp_path / "afile").write_text("x")
    assert main(["download", str(tmp_path / "m.json"), str(tmp_path / "afile" / "sub"), "--no-progress"]) == 2
    _cli_error(capsys, "afile is a file")


def test_cli_download_of_a_manifest_without_files(tmp_path, capsys):
    Manifest().to_json(tmp_path / "empty.json")
    assert main(["download", str(tmp_path / "empty.json"), str(tmp_path / "d"), "--no-progress"]) == 2
    _cli_error(capsys, "empty.json", "no files to download")
    closed = [{"mission": "chandra", "obs_id": "1", "url": None, "note": "proprietary until 2031"}]
    Manifest(closed).to_json(tmp_path / "closed.json")
    assert main(["download", str(tmp_path / "closed.json"), str(tmp_path / "d"), "--no-progress"]) == 2
    _cli_error(capsys, "no files to download", "only 1 unavailable observation:")
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize(
    ("options", "needles"),
    [
        (["--radius", "nan"], ["--radius nan", "positive"]),
        (["--radius", "inf"], ["--radius inf", "at most 180"]),
        (["--radius", "1e400"], ["--radius inf"]),
        (["--radius", "500"], ["--radius 500", "at most 180"]),
        (["--start", "yesterday-ish"], ["--start 'yesterday-ish'", "ISO"]),
        (["--end", "99999-99-99"], ["--end '99999-99-99'", "ISO"]),
        (["--start", "2020-01-01", "--end", "2010-01-01"], ["starts (2020-01-01) after it ends (2010-01-01)"]),
        (["--start", "2200-01-01"], ["after it ends"]),
        (["-o", "obs.weird"], ["obs.weird", ".csv", ".json", "--format"]),
        (["-o", "obs.weird", "--radius", "-1"], ["--radius -1"]),
    ],
)
def test_cli_search_refuses_bad_input_and_writes_nothing(live, tmp_path, monkeypatch, capsys, options, needles):
    monkeypatch.chdir(tmp_path)
    output = [] if "-o" in options else ["-o", "obs.csv"]
    assert main(["search", "nustar_pointed", "--ra", "61.8232", "--dec", "3.7099", *options, *output]) == 2
    _cli_error(capsys, *needles)
    assert not (tmp_path / "obs.csv").exists() and not (tmp_path / "obs.weird").exists()


@pytest.mark.parametrize("name", ["", "   "])
def test_cli_search_refuses_an_empty_name(live, tmp_path, capsys, name):
    assert main(["search", "nustar_pointed", "--name", "3C 105", "--name", name, "-o", str(tmp_path / "o.csv")]) == 2
    _cli_error(capsys, "--name", "object name")
    assert not (tmp_path / "o.csv").exists()


def test_cli_search_output_suffixes_that_are_fine(live, tmp_path, capsys):
    for name in ("obs.txt", "obs"):
        assert main(["search", "nustar_pointed", "--ra", "61.8232", "--dec", "3.7099", "-o", str(tmp_path / name)]) == 0
        assert "obs_id" in (tmp_path / name).read_text()  # a text table
    assert main(["search", "nustar_pointed", "--ra", "61.8232", "--dec", "3.7099", "-o", str(tmp_path / "obs.dat"),
                 "--format", "csv"]) == 0  # fmt: skip
    assert (tmp_path / "obs.dat").read_text().startswith("mission,")


def test_python_dash_m_vodaxa_is_the_cli(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "PYTHONPATH": str(Path(vodaxa.__file__).parents[1])}
    run = lambda *argv: subprocess.run([sys.executable, "-m", "vodaxa", *argv], capture_output=True, text=True,  # noqa: E731
                                       timeout=120, env=env, cwd=tmp_path)  # fmt: skip
    assert run("--version").stdout.startswith("vodaxa ")
    done = run("download", "nope.json")
    assert done.returncode == 2 and "nope.json does not exist" in done.stderr


def test_search_with_no_missions_says_so():
    with pytest.raises(InputError, match="missions is empty"):
        vodaxa.search([(10.0, 10.0)], missions=[])
