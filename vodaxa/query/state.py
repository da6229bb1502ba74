"""A mission's saved state: the JSON :meth:`Mission.save` writes and :meth:`Mission.load` reads back (mission, source
that answered, instruments, filter history, selection; never credentials), and what :meth:`Mission.update`
reports changed since.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import pandas as pd

from ..errors import InputError, VodaxaError
from .filters import Filter, from_json

if TYPE_CHECKING:
    from ..typing import PathLike

__all__ = ["STATE_VERSION", "Changes", "changes", "history", "read", "snapshot", "write"]

STATE_VERSION = 1


def snapshot(selection: pd.DataFrame) -> dict[str, list]:
    """The ObsIDs of a selection with their usability flags, as saved and as :func:`changes` compares them."""
    return {
        "selected_obs": list(selection["obs_id"]),
        "science_usable": selection["science_usable"].astype(bool).tolist(),
        "proprietary_usable": selection["proprietary_usable"].astype(bool).tolist(),
    }


def write(path: PathLike, *, mission: str, answered_by: str, spec_version: int, instruments: Sequence[str],
          explicit: bool, steps: Sequence[Filter], selection: pd.DataFrame) -> Path:  # fmt: skip
    """Write the state file; ``answered_by`` is the source whose answers the selection holds (the mission's own, or
    its fallback), so a load asks the same one."""
    state = {
        "vodaxa_state": STATE_VERSION,
        "mission": mission,
        "answered_by": answered_by,
        "spec_version": spec_version,
        "instruments": list(instruments),
        "instruments_chosen": explicit,  # chosen by name (a wide field is then searched too)
        "filtering_operations": [json.loads(json.dumps(s.to_json(), default=str)) for s in steps],
        **snapshot(selection),
        "saved": datetime.now(timezone.utc).isoformat(),
    }
    target = Path(path)
    target.write_text(json.dumps(state, indent=2) + "\n")
    return target


def _bad(path: PathLike, what: str) -> VodaxaError:
    return VodaxaError(f"{path}: {what}; save the mission again (Mission.save) rather than edit the file")


def read(path: PathLike) -> dict[str, Any]:
    """The state saved at ``path``; VodaxaError naming what is wrong when it is not one, or was edited into
    something a load would misread."""
    try:
        state = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise VodaxaError(f"{path}: not a readable vodaxa mission state ({err})") from None
    if not isinstance(state, dict) or state.get("vodaxa_state") != STATE_VERSION or "mission" not in state:
        version = state.get("vodaxa_state") if isinstance(state, dict) else None
        raise VodaxaError(f"{path}: not a vodaxa mission state file (version {version})")
    if not isinstance(state.get("instruments_chosen", True), bool):
        raise _bad(path, f"'instruments_chosen' must be true or false, not {state['instruments_chosen']!r}")
    instruments = state.get("instruments")
    if instruments is not None and not (isinstance(instruments, list) and all(isinstance(i, str) for i in instruments)):
        raise _bad(path, f"'instruments' must be a list of names, not {instruments!r}")
    if not isinstance(state.get("filtering_operations", []), list):
        raise _bad(path, "'filtering_operations' must be a list")
    if not isinstance(state.get("answered_by", state["mission"]), str):
        raise _bad(path, "'answered_by' must be a mission name")
    return state


def history(path: PathLike, state: Mapping[str, Any]) -> list[Filter]:
    """The saved filters, each read into its class; VodaxaError naming the first that cannot be."""
    steps = []
    for number, op in enumerate(state.get("filtering_operations", []), 1):
        try:
            steps.append(from_json(op))
        except InputError as err:
            name = op.get("name") if isinstance(op, Mapping) else op
            raise _bad(path, f"filter {number} ({name!r}): {err}") from None
    return steps


class Changes(TypedDict):
    """What :meth:`vodaxa.Mission.update` found changed since the last evaluation (DAXA's keys)."""

    new_obs_ids: list[str]
    removed_obs_ids: list[str]
    any_obs_add: bool
    any_obs_removed: bool
    which_changed_proprietary_usable: list[str]
    which_changed_science_usable: list[str]


def changes(before: Mapping[str, Any] | None, now: pd.DataFrame) -> Changes:
    """ObsIDs added and removed, and usability changes, from ``before`` (a :func:`snapshot`) to ``now``."""
    old_ids = list(before["selected_obs"]) if before else []
    old_prop = dict(zip(old_ids, before.get("proprietary_usable", []))) if before else {}
    old_sci = dict(zip(old_ids, before.get("science_usable", []))) if before else {}
    new_ids = list(now["obs_id"])
    added = sorted(set(new_ids) - set(old_ids))
    removed = sorted(set(old_ids) - set(new_ids))
    prop_changed = sorted(
        o for o, p in zip(now["obs_id"], now["proprietary_usable"]) if o in old_prop and bool(old_prop[o]) != bool(p)
    )
    sci_changed = sorted(
        o for o, s in zip(now["obs_id"], now["science_usable"]) if o in old_sci and bool(old_sci[o]) != bool(s)
    )
    return {
        "new_obs_ids": added,
        "removed_obs_ids": removed,
        "any_obs_add": bool(added),
        "any_obs_removed": bool(removed),
        "which_changed_proprietary_usable": prop_changed,
        "which_changed_science_usable": sci_changed,
    }
