"""vodaxa is a typed package (PEP 561) whose public type aliases are real typing objects."""

from __future__ import annotations

import typing
from pathlib import Path

import pandas as pd

import vodaxa
import vodaxa.typing as vt

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_the_package_ships_its_marker():
    assert (Path(vodaxa.__file__).parent / "py.typed").is_file()
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "py.typed" in data["tool"]["setuptools"]["package-data"]["vodaxa"]


def test_aliases_are_typing_objects_a_users_annotations_can_use():
    def plan(source: vt.ObservationSource, when: vt.TimeLike, where: vt.PositionsLike) -> vt.ManifestSource:
        raise NotImplementedError

    hints = typing.get_type_hints(plan)
    assert pd.DataFrame in typing.get_args(hints["source"]) and vodaxa.Mission in typing.get_args(hints["source"])
    assert str in typing.get_args(hints["when"])
    assert set(vt.__all__) <= {name for name in dir(vt) if not name.startswith("_")}
    for name in vt.__all__:
        assert typing.get_args(getattr(vt, name)), name  # a union of the types it names, not a string
