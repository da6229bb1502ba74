"""The docs build writes its tutorials into docs/tutorials without harming anything else there."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _conf():
    spec = importlib.util.spec_from_file_location("vodaxa_docs_conf", ROOT / "docs" / "conf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    (notebooks / "one.md").write_text("# One\n\n```python\nprint(1)\n```\n", encoding="utf-8")
    return notebooks


def test_importing_the_configuration_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in (ROOT / "docs").iterdir())
    _conf()
    assert sorted(p.name for p in (ROOT / "docs").iterdir()) == before


def test_tutorials_are_written_marked_and_guarded(tmp_path, sources):
    conf = _conf()
    written = conf.write_tutorials(tmp_path / "tutorials", sources)
    assert [p.name for p in written] == ["one.ipynb"]
    notebook = json.loads(written[0].read_text(encoding="utf-8"))
    assert notebook["metadata"][conf.MARK] == "notebooks/one.md"
    assert "forbid_remote" in "".join(notebook["cells"][0]["source"])
    assert notebook["cells"][0]["metadata"]["tags"] == ["remove-cell"]


def test_a_users_own_notebook_is_neither_removed_nor_replaced(tmp_path, sources):
    conf = _conf()
    tutorials = tmp_path / "tutorials"
    tutorials.mkdir()
    mine = tutorials / "my_analysis.ipynb"
    mine.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', encoding="utf-8")
    conf.write_tutorials(tutorials, sources)
    assert mine.exists()
    clash = tutorials / "one.ipynb"
    clash.unlink()
    clash.write_text(mine.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(RuntimeError, match="not written by the docs build"):
        conf.write_tutorials(tutorials, sources)
    assert conf.MARK not in json.loads(clash.read_text(encoding="utf-8"))["metadata"]


def test_a_stale_generated_notebook_is_removed(tmp_path, sources):
    conf = _conf()
    tutorials = tmp_path / "tutorials"
    conf.write_tutorials(tutorials, sources)
    (sources / "one.md").rename(sources / "two.md")
    conf.write_tutorials(tutorials, sources)
    assert sorted(p.name for p in tutorials.iterdir()) == ["two.ipynb"]


def test_symlinks_are_never_written_through_or_followed(tmp_path, sources):
    conf = _conf()
    outside = tmp_path / "outside"
    outside.mkdir()
    precious = outside / "precious.ipynb"
    precious.write_text("keep me", encoding="utf-8")
    linked = tmp_path / "linked"
    linked.symlink_to(outside, target_is_directory=True)
    with pytest.raises(RuntimeError, match="plain folder"):
        conf.write_tutorials(linked, sources)
    tutorials = tmp_path / "tutorials"
    tutorials.mkdir()
    (tutorials / "one.ipynb").symlink_to(precious)
    conf.write_tutorials(tutorials, sources)
    assert precious.read_text(encoding="utf-8") == "keep me"
    assert not (tutorials / "one.ipynb").is_symlink()


def test_no_page_takes_a_name_sphinx_writes_itself():
    """Sphinx writes search.html, genindex.html and py-modindex.html itself, over a page of the same name."""
    pages = {p.stem for p in (ROOT / "docs").glob("*.md")}
    assert not pages & {"search", "genindex", "py-modindex", "modindex"}
