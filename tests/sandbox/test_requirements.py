"""Issue 16: DuckDB and sqlglot come with the ``vodaxa[sandbox]`` extra; without them, making a sandbox (and
``vodaxa demo``, ``vodaxa sandbox serve``) fails with a SandboxError that says what to install."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vodaxa.cli import main
from vodaxa.errors import SandboxError
from vodaxa.sandbox import Sandbox, SandboxConfig, serve
from vodaxa.sandbox.requirements import ENGINE, INSTALL


@pytest.fixture(params=ENGINE)
def blocked(request, monkeypatch) -> str:
    """One of the sandbox's packages made unimportable (None in sys.modules: ``import`` raises ImportError)."""
    monkeypatch.setitem(sys.modules, request.param, None)
    return request.param


def test_making_a_sandbox_says_what_to_install(blocked, tmp_path):
    with pytest.raises(SandboxError) as err:
        Sandbox(SandboxConfig(cache=tmp_path))
    assert blocked in str(err.value) and INSTALL in str(err.value)
    with pytest.raises(SandboxError, match=r"pip install 'vodaxa\[sandbox\]'"), serve(cache=tmp_path):
        pass  # pragma: no cover


@pytest.mark.parametrize("argv", [["sandbox", "serve", "--port", "0"], ["demo", "--no-progress"]])
def test_the_commands_end_in_one_line_naming_the_extra(blocked, argv, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VODAXA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and INSTALL in err and blocked in err
    assert not (tmp_path / "vodaxa-demo").exists()


def test_without_the_engine_importing_the_sandbox_still_works():
    """A fresh interpreter that cannot import DuckDB or sqlglot: the public names import, only making fails."""
    code = (
        "import sys\n"
        "sys.modules['duckdb'] = sys.modules['sqlglot'] = None\n"
        "import vodaxa.sandbox.pytest_plugin, vodaxa.sandbox.offline\n"
        "from vodaxa.sandbox import Faults, JobLimits, Sandbox, SandboxConfig, activate, serve\n"
        "from vodaxa.errors import SandboxError\n"
        "try:\n"
        "    Sandbox(SandboxConfig())\n"
        "except SandboxError as err:\n"
        "    print(err)\n"
    )  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "duckdb and sqlglot" in done.stdout and INSTALL in done.stdout
