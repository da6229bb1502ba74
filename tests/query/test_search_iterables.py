"""Targets may come as any iterable: a generator of names is read once and searched like the list."""

from __future__ import annotations

import vodaxa


def test_a_generator_of_names_searches_like_the_list(vodaxa_sandbox):
    names = ["3C 105", "Crab"]
    expected = vodaxa.search(names, missions="nustar_pointed")
    found = vodaxa.search((name for name in names), missions="nustar_pointed")
    assert len(expected) > 0
    assert sorted(found["obs_id"]) == sorted(expected["obs_id"])
    assert sorted(found["targets"]) == sorted(expected["targets"])
