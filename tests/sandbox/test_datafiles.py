"""Issue 16: the sandbox's data are package data (CSV and TOML under each archive's ``data/``), every file is
read, none is left out of the wheel, and what the data repeat of the code (service paths) agrees with it."""

from __future__ import annotations

import fnmatch
import sys
from importlib.resources import files
from pathlib import Path

from vodaxa.sandbox import datafiles
from vodaxa.sandbox.archives.cxc import shape as cxc
from vodaxa.sandbox.archives.heasarc import shape as heasarc
from vodaxa.sandbox.registry import resources
from vodaxa.sandbox.shapes import SHAPES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _data_files() -> list[str]:
    root = files("vodaxa.sandbox")
    found = []
    for archive in root.joinpath("archives").iterdir():
        data = archive.joinpath("data")
        if data.is_dir():
            found += [f"archives/{archive.name}/data/{f.name}" for f in data.iterdir()]
    return sorted(found)


def test_every_data_file_is_shipped_in_the_wheel():
    with open(Path(__file__).parents[2] / "pyproject.toml", "rb") as handle:
        patterns = tomllib.load(handle)["tool"]["setuptools"]["package-data"]["vodaxa.sandbox"]
    found = _data_files()
    assert len(found) >= 20
    assert [f for f in found if not any(fnmatch.fnmatch(f, p) for p in patterns)] == []


def test_every_data_file_parses_and_every_shape_reads_its_own():
    for path in _data_files():
        _, archive, _, name = path.split("/")
        package = f"vodaxa.sandbox.archives.{archive}"
        assert (datafiles.toml if name.endswith(".toml") else datafiles.rows)(package, name), path
        assert any(v.startswith(f"{package}.") for v in SHAPES.values()), path


def test_registry_records_name_the_paths_the_shapes_serve():
    cones: dict[str, list[str]] = {}
    for record in resources(SHAPES):
        cones.setdefault(record.archive, []).extend(p for std, p, _ in record.capabilities if "conesearch" in std)
    assert cones["heasarc"] and all(p.startswith(heasarc.SCS_PATH + "?table=") for p in cones["heasarc"])
    assert cones["cxc"] == [cxc.SCS_PATH]
