"""Docstring examples are documentation too: every ``>>>`` example of the modules the API reference documents
(docs/api.md) runs, and prints what it says, against the sandbox, in an empty working folder."""

from __future__ import annotations

import doctest
import importlib
import inspect
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docs"))
from census import documented_modules, public_objects  # noqa: E402

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _examples() -> list[doctest.DocTest]:
    """The doctests of each documented module and of its public names, each found once."""
    finder = doctest.DocTestFinder(recurse=False)
    found: dict[str, doctest.DocTest] = {}
    for module_name in documented_modules():
        module = importlib.import_module(module_name)
        objects = [(module_name, module), *public_objects(module_name)]
        for qualname, obj in objects:
            target = obj.fget if isinstance(obj, property) else obj
            if not (inspect.ismodule(target) or inspect.isclass(target) or callable(target)):
                continue
            for test in finder.find(target, qualname, module=module, globs={}):
                # a re-export (vodaxa.resolve) is the same docstring; the line alone is not enough, since doctest
                # gives every function a decorator wraps (contextlib.contextmanager) the decorator's line
                where = f"{test.filename}:{test.lineno}:{test.docstring}"
                if test.examples and where not in found:
                    found[where] = test
    return sorted(found.values(), key=lambda test: test.name)


EXAMPLES = _examples()


def test_the_reference_has_examples() -> None:
    assert len(EXAMPLES) >= 10, [test.name for test in EXAMPLES]


@pytest.mark.parametrize("example", EXAMPLES, ids=[test.name for test in EXAMPLES])
def test_docstring_example_runs(example: doctest.DocTest, vodaxa_sandbox, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VODAXA_QUERY_CACHE", "0")
    failures: list[str] = []
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    example.globs = {"__name__": "__main__"}
    result = runner.run(example, out=failures.append)
    assert result.failed == 0, "".join(failures)
