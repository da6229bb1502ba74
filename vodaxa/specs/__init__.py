"""Missions: one short declarative spec per mission, and the registry that finds them."""

from .registry import OBS_COLUMNS, TAXONOMY, MissionSpec, get, names, register, specs

__all__ = ["OBS_COLUMNS", "TAXONOMY", "MissionSpec", "get", "names", "register", "specs"]
