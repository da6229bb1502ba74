"""Checked by mypy in the lint environment, never run: how users call vodaxa's public API type-checks, and the
mistakes mypy can see are reported (each marked ``type: ignore[code]``; with ``warn_unused_ignores`` a mistake
that stops being reported fails the check too)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import vodaxa
from vodaxa.process import Workspace, native
from vodaxa.query.state import Changes
from vodaxa.typing import ObservationSource


def everyday_use(tmp: Path) -> None:
    found: pd.DataFrame = vodaxa.search(["3C 105"], missions=["nustar_pointed", "chandra"], radius=0.2)
    mission = vodaxa.mission("nustar_pointed")
    mission.filter_on_name("3C 105")
    matched = mission.filter_on_positions([[68.2, 20.0]], return_pos_obs_info=True)
    print(matched["pos_ind"])  # a DataFrame when asked for: no "None is not indexable"
    nothing = mission.filter_on_positions([[68.2, 20.0]])
    assert nothing is None
    again: Changes = mission.update()
    for obs_id in again["new_obs_ids"]:  # a list, not "list | bool"
        print(obs_id.upper())
    source: ObservationSource = found
    manifest: vodaxa.Manifest = vodaxa.resolve(source)
    report = vodaxa.download(manifest, tmp)
    first: Path = report.ok[0]
    print(first, native.reduce(Workspace(tmp)).ok)


def mistakes_mypy_reports(tmp: Path) -> None:
    vodaxa.mission(42)  # type: ignore[arg-type]
    vodaxa.download(vodaxa.Manifest(), 42)  # type: ignore[arg-type]
    mission = vodaxa.mission("chandra")
    mission.filter_on_name(3.14)  # type: ignore[arg-type]
    count: int = vodaxa.resolve(mission)  # type: ignore[assignment]
    print(count)
