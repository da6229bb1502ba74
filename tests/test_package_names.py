"""Issue 15: ``import vodaxa`` is light (names load when first used) and no public function shares its name with
a module, so ``vodaxa.resolve(...)`` and ``vodaxa.resolvers.datalink`` both work, whatever was imported first.
Times are measured in benchmarks/startup.py, not here."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("pandas", "astropy", "pyvo", "aiohttp", "numpy", "requests", "duckdb")


def _fresh(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_import_vodaxa_loads_nothing_heavy():
    loaded = _fresh(f"import sys, vodaxa; print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    assert loaded == "[]"


def test_the_help_loads_nothing_heavy():
    code = (f"import sys; from vodaxa.cli import build_parser; build_parser().format_help(); "
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")  # fmt: skip
    assert _fresh(code) == "[]"


@pytest.mark.parametrize(
    "first",
    ["import vodaxa.resolvers.datalink", "import vodaxa.downloader.verified", "import vodaxa.query.search",
     "import vodaxa.query.mission", "import vodaxa.specs.registry", "from vodaxa import resolve, download"],
)  # fmt: skip
def test_functions_and_modules_never_shadow_each_other(first):
    code = (f"{first}\nimport vodaxa, vodaxa.resolvers.datalink, vodaxa.downloader.verified\n"
            "print(all(callable(getattr(vodaxa, n)) and not isinstance(getattr(vodaxa, n), type(vodaxa)) "
            "for n in ('resolve', 'download', 'search', 'mission', 'missions', 'login', 'download_async')), "
            "vodaxa.resolvers.datalink.__name__, vodaxa.downloader.verified.__name__)")  # fmt: skip
    assert _fresh(code) == "True vodaxa.resolvers.datalink vodaxa.downloader.verified"


def test_every_public_name_resolves_and_unknown_names_fail_clearly():
    import vodaxa

    for name in vodaxa.__all__:
        assert getattr(vodaxa, name) is not None
    assert set(vodaxa.__all__) <= set(dir(vodaxa))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        vodaxa.nope  # noqa: B018


def test_no_package_attribute_hides_a_module_of_the_same_name():
    import importlib
    import pkgutil

    import vodaxa

    hidden = []
    for info in pkgutil.walk_packages(vodaxa.__path__, "vodaxa."):
        module = importlib.import_module(info.name)
        parent_name, _, leaf = info.name.rpartition(".")
        parent = sys.modules[parent_name]
        if getattr(parent, leaf, module) is not module:
            hidden.append(f"{parent_name}.{leaf} is {type(getattr(parent, leaf)).__name__}, not the module")
    assert hidden == []


def test_the_pytest_plugin_and_the_offline_guard_load_nothing_heavy():
    """Issue 16 (first step): pytest loads vodaxa's plugin in every run where vodaxa is installed; the sandbox's
    query engine and web apps load only when a test asks for the fixture."""
    heavy = (*HEAVY, "sqlglot")
    code = (f"import sys, vodaxa.sandbox.pytest_plugin, vodaxa.sandbox.offline; "
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))")  # fmt: skip
    assert _fresh(code) == "[]"
    code = "from vodaxa.sandbox import Sandbox, SandboxConfig, serve, Faults, JobLimits; print(Sandbox.__name__)"
    assert _fresh(code) == "Sandbox"
