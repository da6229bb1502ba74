"""Issue 15: tables an astronomer can read at a terminal: a default set of columns fitted to its width,
--columns to choose, every column in files, wide characters measured as the terminal shows them."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from rich.cells import cell_len

from vodaxa.cli import main
from vodaxa.cli.screen import choose_columns, render
from vodaxa.errors import InputError


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VODAXA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("VODAXA_ENDPOINTS", raising=False)


def _widest(text: str) -> int:
    return max(cell_len(line) for line in text.splitlines())


@pytest.mark.parametrize("width", [60, 80, 132])
def test_missions_fit_the_terminal_and_say_what_they_leave_out(capsys, monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    assert main(["missions"]) == 0
    out, err = capsys.readouterr()
    assert _widest(out) <= width
    assert "xmm_pointed" in out and "erosita_all_sky_de_dr1" in out  # every row, whatever the width
    if width < 132:
        assert "more column" in err and "--columns" in err and "-o file.csv" in err


def test_columns_choose_and_all_shows_everything(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["missions", "--columns", "name,archive"]) == 0
    out = capsys.readouterr().out
    assert out.split()[:2] == ["name", "archive"] and "pretty_name" not in out
    monkeypatch.delenv("COLUMNS")
    assert main(["missions", "--columns", "all"]) == 0  # not a terminal: no width limit, cells whole
    out = capsys.readouterr().out
    assert ("default_instruments" in out and "TM7 0.517" in out.replace("\n", " ").replace("  ", " ")) or "TM7" in out


def test_an_unknown_column_is_one_error_naming_the_real_ones(capsys):
    assert main(["missions", "--columns", "name,colour"]) == 2
    err = capsys.readouterr().err
    assert "'colour'" in err and "pretty_name" in err and len(err.strip().splitlines()) == 1


def test_wide_characters_and_long_cells_fit():
    frame = pd.DataFrame({
        "mission": ["chandra", "eso"],
        "obs_id": ["0057", "ADP.2020-01-01T00:00:00.000"],
        "targets": ["銀河 中心 Sgr A* 銀河 中心 Sgr A* 銀河 中心", "[bold]not markup[/bold]"],
        "ra": [266.41683, float("nan")],
        "dec": [-29.00781, 0.0],
    })  # fmt: skip
    out, notes = io.StringIO(), io.StringIO()
    render(frame, stream=out, notes=notes, fit=80)
    text = out.getvalue()
    assert _widest(text) <= 80 and "targets" in text
    assert "0057" in text and "…" in text  # identifiers as text; a long cell cut visibly
    render(frame, stream=(whole := io.StringIO()), notes=notes, fit=False)
    assert "[bold]not markup[/bold]" in whole.getvalue()  # shown as sent, never read as markup
    assert "銀河 中心 Sgr A* 銀河 中心 Sgr A* 銀河 中心" in whole.getvalue()


def test_observation_tables_default_to_the_reader_columns():
    frame = pd.DataFrame(columns=["mission", "obs_id", "ra", "dec", "start", "xrt_exposure", "separation", "in_fov"])
    assert choose_columns(frame, None) == ["mission", "obs_id", "separation", "in_fov", "start", "ra", "dec"]
    assert choose_columns(frame, "all") == list(frame.columns)
    assert choose_columns(frame, "obs_id,nope") == ["obs_id", "nope"]  # no rows: the headers asked for
    with pytest.raises(InputError, match="no column 'nope'"):
        choose_columns(pd.DataFrame({"obs_id": ["1"]}), "obs_id,nope")


def test_search_prints_a_fitted_table_and_files_get_every_column(vodaxa_sandbox, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["search", "swift", "--name", "Crab"]) == 0
    out, err = capsys.readouterr()
    header = out.splitlines()[0].split()
    assert _widest(out) <= 80 and header[:4] == ["mission", "obs_id", "separation", "in_fov"]
    assert "instrument" not in header  # empty for every Swift row: not worth a column
    assert "searched within" in err
    assert main(["search", "swift", "--name", "Crab", "-o", str(tmp_path / "s.txt")]) == 0
    whole = (tmp_path / "s.txt").read_text()
    assert "xrt_exposure" in whole and "in_fov" in whole  # the file has every column
    assert main(["search", "swift", "--name", "Crab", "--columns", "obs_id,separation", "-o",
                 str(tmp_path / "s.csv")]) == 0  # fmt: skip
    assert (tmp_path / "s.csv").read_text().splitlines()[0] == "obs_id,separation"


def test_ciao_advice_is_a_command_that_works(tmp_path, monkeypatch, capsys):
    (tmp_path / "data" / "chandra" / "0057").mkdir(parents=True)
    monkeypatch.setenv("PATH", str(tmp_path / "no-ciao"))  # no ciaover anywhere
    assert main(["process", str(tmp_path / "data"), "--ciao"]) == 2
    err = capsys.readouterr().err
    assert f"run 'vodaxa process {tmp_path / 'data'}' without --ciao" in err and "vodaxa.process.native" not in err


def test_sandbox_port_places_every_archive(tmp_path):
    from vodaxa.cli.sandbox import consecutive_ports
    from vodaxa.sandbox import Sandbox, SandboxConfig

    ports = consecutive_ports(21310)
    assert ports["heasarc"] == 21310 and sorted(ports.values()) == list(range(21310, 21310 + len(ports)))
    with Sandbox(SandboxConfig(cache=tmp_path, ports=ports)) as sb:
        used = {url.split("/")[2] for services in sb.endpoints.values() for url in services.values() if "//" in url}
    assert all(host.startswith("127.0.0.1:213") for host in used), used
    with pytest.raises(InputError, match="consecutive ports"):
        consecutive_ports(65535)


def test_a_server_text_never_drives_the_terminal(capsys):
    hostile = "Sgr\x1b]0;owned\x07 A*\x1b[2J\u202eevil\r"
    frame = pd.DataFrame({"mission": ["chandra", "chandra"], "obs_id": ["0057", "0058"], "targets": [hostile, "M87"]})
    out = io.StringIO()
    render(frame, stream=out, notes=io.StringIO(), fit=False)
    text = out.getvalue()
    assert "\x1b" not in text and "\u202e" not in text and "\r" not in text and "\x07" not in text
    assert "\\x1b]0;owned\\x07" in text  # shown, escaped: the reader sees what the server sent


    from vodaxa.cli import _one_line

    _one_line(UserWarning(hostile), UserWarning)
    err = capsys.readouterr().err
    assert "\x1b" not in err and err.count("\n") == 1


def test_columns_asked_for_are_all_shown_and_missions_write_files(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["missions", "--columns", "name,instruments,default_instruments,fov"]) == 0
    out = capsys.readouterr().out
    assert out.split()[:4] == ["name", "instruments", "default_instruments", "fov"] and _widest(out) <= 80
    assert main(["missions", "-o", str(tmp_path / "m.csv")]) == 0
    table = pd.read_csv(tmp_path / "m.csv")
    assert len(table) >= 14 and set(table.columns) >= {"name", "fov", "default_instruments"}
    import json

    assert json.loads(table.set_index("name").loc["chandra", "fov"])["HRC"] == pytest.approx(0.825)  # JSON, not repr


def test_an_unknown_name_is_bad_input_and_writes_nothing(vodaxa_sandbox, capsys, tmp_path):
    out = tmp_path / "x.csv"
    assert main(["search", "swift", "chandra", "--name", "Crab", "--name", "NoSuchObjectXYZ", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "NoSuchObjectXYZ" in err and len([ln for ln in err.splitlines() if ln.startswith("vodaxa: error")]) == 1
    assert not out.exists()
    assert main(["search", "swift", "--name", "Crab", "--name", "Cas A", "-o", str(out)]) == 0
    assert "Crab, Cas A: RA 83.63" in capsys.readouterr().err and out.exists()


def test_server_text_cannot_split_a_csv_row_or_break_a_votable(tmp_path):
    import warnings

    from vodaxa.cli.io import read_observations, write_table

    frame = pd.DataFrame({"mission": ["chandra", "chandra"], "obs_id": ["0057", "0058"],
                          "target_name": ["Sgr A*\rchandra,9999", "esc\x1b[2J nul\x00"]})  # fmt: skip
    write_table(frame, "csv", tmp_path / "x.csv")
    back = read_observations(tmp_path / "x.csv")
    assert len(back) == 2 and list(back["obs_id"]) == ["0057", "0058"]
    assert back["target_name"].iloc[0] == "Sgr A*\rchandra,9999"  # the cell as sent, in its own row
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        write_table(frame, "votable", tmp_path / "x.xml")
    assert any("XML cannot carry" in str(w.message) for w in caught)
    again = read_observations(tmp_path / "x.xml")  # a VOTable that reads back (it did not, with raw ESC or NUL)
    assert list(again["obs_id"]) == ["0057", "0058"] and "\\x1b[2J" in again["target_name"].iloc[1]


def test_empty_column_lists_and_empty_answers(vodaxa_sandbox, capsys, tmp_path):
    assert main(["missions", "--columns", ""]) == 2
    assert "give column names" in capsys.readouterr().err
    out = tmp_path / "none.csv"
    args = ["search", "nustar_pointed", "--ra", "10", "--dec", "-80", "--radius", "0.01", "--columns",
            "obs_id,separation,in_fov", "-o", str(out)]  # fmt: skip
    assert main(args) == 0
    assert out.read_text().splitlines()[0] == "obs_id,separation,in_fov"


def test_a_sandbox_that_cannot_start_leaves_no_port_open(tmp_path):
    import socket

    from vodaxa.cli.sandbox import consecutive_ports
    from vodaxa.errors import SandboxError
    from vodaxa.sandbox import Sandbox, SandboxConfig

    first = 21410  # below the ephemeral range, so no other test's sandbox holds it by chance
    ports = consecutive_ports(first)
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", ports["cxc"]))  # the fifth archive's port is taken
    blocker.listen()
    try:
        with pytest.raises(SandboxError, match="could not start"):
            Sandbox(SandboxConfig(cache=tmp_path, ports=ports)).start()
        for name in ("heasarc", "erosita", "eso", "xsa"):  # started before the failure: closed again
            with socket.socket() as probe:
                assert probe.connect_ex(("127.0.0.1", ports[name])) != 0, name
    finally:
        blocker.close()
    assert consecutive_ports(65536 - len(ports))["registry"] == 65535


def test_an_unknown_mission_is_refused_before_any_name_is_looked_up(monkeypatch, capsys):
    import vodaxa.query.names as names

    def never(*args, **kwargs):
        raise AssertionError("a name was looked up")

    monkeypatch.setattr(names, "resolve_names", never)
    assert main(["search", "nosuch", "--name", "3C 105"]) == 2
    assert "unknown mission 'nosuch'" in capsys.readouterr().err
