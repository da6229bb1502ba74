"""Issue 17 item 5: typed warnings users can filter, one 'vodaxa' logger hierarchy, and -v/-q on the command line."""

from __future__ import annotations

import ast
import logging
import pathlib
import warnings

import pytest

import vodaxa
from vodaxa.cli import main
from vodaxa.errors import AdjustedInputWarning, FallbackWarning, PartialResultWarning, RegistryWarning, VodaxaWarning

PACKAGE = pathlib.Path(vodaxa.__file__).parent


def _calls(name: str):
    for path in PACKAGE.rglob("*.py"):
        if "sandbox" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == name:
                yield path, node


def test_every_warning_vodaxa_gives_has_a_vodaxa_category():
    calls = list(_calls("warnings.warn"))
    assert len(calls) >= 11
    for path, call in calls:
        category = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "category"),
                                                               None)  # fmt: skip
        assert category is not None, f"{path}:{call.lineno} warns without a category"
        assert issubclass(getattr(vodaxa.errors, ast.unparse(category)), VodaxaWarning), f"{path}:{call.lineno}"
    for kind in (PartialResultWarning, FallbackWarning, AdjustedInputWarning, RegistryWarning):
        assert issubclass(kind, UserWarning)  # shown by default, as before
    assert vodaxa.VodaxaWarning is VodaxaWarning


def test_no_print_in_library_code_and_every_logger_is_under_vodaxa():
    assert [f"{p}:{c.lineno}" for p, c in _calls("print") if "cli" not in p.parts] == []
    for path, call in _calls("logging.getLogger"):
        name = ast.unparse(call.args[0]) if call.args else ""
        assert name == "__name__" or name.strip("'\"").startswith("vodaxa"), f"{path}:{call.lineno} {name}"


def test_a_kind_of_warning_can_be_filtered_out(vodaxa_sandbox):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", PartialResultWarning)
        vodaxa.search(["3C 105"], missions=["nustar_pointed", "swift"], end="1990-01-01")
    assert not [w for w in seen if issubclass(w.category, PartialResultWarning)]
    with pytest.warns(PartialResultWarning, match="no observations found by"):
        vodaxa.search(["3C 105"], missions=["nustar_pointed"], end="1990-01-01")


def test_the_corners_swapped_warning_is_an_adjusted_input_warning(vodaxa_sandbox):
    mission = vodaxa.mission("nustar_pointed")
    with pytest.warns(AdjustedInputWarning, match="corners were swapped"):
        mission.filter_on_rect_region([70, -90], [50, 90])


def test_quiet_hides_warnings_and_verbose_shows_what_vodaxa_does(monkeypatch, capsys):
    from vodaxa.specs import registry

    table = registry.missions_table

    def noisy():
        warnings.warn("a partial answer", PartialResultWarning, stacklevel=2)
        logging.getLogger("vodaxa.query").warning("a slow service")
        logging.getLogger("vodaxa.query").info("asked the registry")
        logging.getLogger("vodaxa.query").debug("the ADQL")
        return table()

    monkeypatch.setattr(registry, "missions_table", noisy)
    logger = logging.getLogger("vodaxa")
    monkeypatch.setattr(logger, "level", logging.NOTSET)  # as in a fresh process, whatever tests ran before
    monkeypatch.setattr(logger, "disabled", False)
    logger.manager._clear_cache()
    said = {}
    for flags in ([], ["-q"], ["-v"], ["-vv"]):
        assert main([*flags, "missions"]) == 0
        said[" ".join(flags)] = [line for line in capsys.readouterr().err.splitlines() if line.startswith("vodaxa:")]
    assert said[""] == ["vodaxa: warning: a partial answer", "vodaxa: warning: a slow service"]
    assert said["-q"] == []
    assert said["-v"] == [*said[""], "vodaxa: info: asked the registry"]
    assert said["-vv"] == [*said["-v"], "vodaxa: debug: the ADQL"]
    assert logger.level == logging.NOTSET  # restored after each command


def test_verbose_log_lines_are_one_line_each(vodaxa_sandbox, capsys):
    assert main(["-v", "search", "swift", "--name", "Crab"]) == 0
    err = capsys.readouterr().err
    info = [line for line in err.splitlines() if line.startswith("vodaxa: info:")]
    assert info, err  # e.g. Swift's narrow instruments chosen for the default radius
    with pytest.raises(SystemExit):
        main(["-q", "-v", "missions"])  # one or the other


def test_quiet_leaves_only_results_and_errors_and_verbose_says_what_was_asked(vodaxa_sandbox, capsys, tmp_path,
                                                                              monkeypatch):  # fmt: skip
    monkeypatch.setenv("VODAXA_QUERY_CACHE", "0")
    out = tmp_path / "obs.csv"
    assert main(["-q", "search", "chandra", "--name", "3C 105", "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and out.stat().st_size > 0  # no Sesame line, no counts, no "written to"
    assert main(["search", "chandra", "--name", "3C 105", "-o", str(out)]) == 0
    assert "written to" in capsys.readouterr().err  # without -q the status lines are there
    assert main(["-q", "search", "chandra", "--name", "No Such Thing Anywhere"]) != 0
    assert "vodaxa: error:" in capsys.readouterr().err  # errors always show
    assert main(["-v", "search", "chandra", "--name", "3C 105", "-o", str(out)]) == 0
    said = capsys.readouterr().err.splitlines()
    assert any(line.startswith("vodaxa: info: TAP ") and " rows " in line for line in said)
    manifest = tmp_path / "m.json"
    assert main(["-v", "resolve", str(out), "-o", str(manifest)]) == 0
    assert any(line.startswith("vodaxa: info: chandra: ") and " files" in line
               for line in capsys.readouterr().err.splitlines())  # fmt: skip
    assert main(["-vv", "resolve", str(out), "-o", str(manifest)]) == 0
    assert any(line.startswith("vodaxa: debug: POST ") for line in capsys.readouterr().err.splitlines())
