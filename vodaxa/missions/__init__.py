"""Missions: one short declarative spec per mission, and the registry that finds them."""

from .registry import TAXONOMY, MissionSpec, get, names, register, specs

__all__ = ["TAXONOMY", "MissionSpec", "get", "names", "register", "specs"]
