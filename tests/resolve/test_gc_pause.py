"""The cyclic collector is paused while a resolve builds its rows, and always left as the program had it."""

from __future__ import annotations

import gc
import threading

import pytest

from vodaxa import _gc


@pytest.fixture(autouse=True)
def _collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if was else gc.disable)()


def test_paused_turns_the_collector_off_and_back_on_even_after_an_error():
    with pytest.raises(ValueError), _gc.paused():
        assert not gc.isenabled()
        raise ValueError("boom")
    assert gc.isenabled()


def test_nested_and_concurrent_pauses_end_with_the_last_one():
    entered, leave = threading.Event(), threading.Event()

    def other() -> None:
        with _gc.paused():
            entered.set()
            leave.wait(10)

    thread = threading.Thread(target=other)
    with _gc.paused():
        with _gc.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
        thread.start()
        entered.wait(10)
    assert not gc.isenabled()  # the other thread's resolve still runs
    leave.set()
    thread.join(10)
    assert gc.isenabled()


def test_a_collector_the_program_turned_off_stays_off():
    gc.disable()
    with _gc.paused():
        pass
    assert not gc.isenabled()


def test_a_resolve_pauses_the_collector_and_leaves_it_on(vodaxa_sandbox, monkeypatch):
    import vodaxa

    seen = []
    real = vodaxa.Manifest.merge_duplicates

    def spy(self):
        seen.append(gc.isenabled())
        return real(self)

    monkeypatch.setattr(vodaxa.Manifest, "merge_duplicates", spy)
    observations = vodaxa.search("3C 105", missions=["nustar_pointed"])
    assert len(vodaxa.resolve(observations)) and seen == [False]
    with pytest.raises(vodaxa.errors.VodaxaError):
        vodaxa.resolve(42)  # a refused source: the collector is on again all the same
    assert gc.isenabled()
