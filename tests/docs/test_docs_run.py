"""Documentation is code: every Python and shell block of README.md and docs/*.md runs, top to bottom per page,
against the sandbox, exactly as written.

The sandbox runs as a user would start it (``vodaxa sandbox serve --endpoints-file sandbox.json``, then
``export VODAXA_ENDPOINTS=sandbox.json``): Python blocks run in this process with the same endpoints, shell
blocks in bash with ``VODAXA_ENDPOINTS`` set, both in the page's own empty working folder.  Nothing may reach
another host: this process is under the tests' loopback guard, and every Python a shell block starts loads
the same guard (``sitecustomize``).  Blocks are found with markdown-it-py (the CommonMark parser rich uses).

A block that must not run says why on the line above it: ``<!-- docs: skip: <reason> -->``.  Only ``python``,
``sh``, ``bash`` and ``shell`` fences run; a synopsis is fenced as ``text``.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import json
import logging
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

import vodaxa.sandbox.offline as offline
from vodaxa.config import endpoints
from vodaxa.sandbox import Sandbox, SandboxConfig

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUNS = {"python": "python", "py": "python", "sh": "shell", "bash": "shell", "shell": "shell"}
SHOWN = {"text", "json", "toml", "ini", "xml", "csv", "yaml", "adql", "sql"}  # fences that are data, not run
DIRECTIVES = {"{eval-rst}", "{toctree}"}  # MyST directives for Sphinx (the API reference, the table of contents)
SKIP = re.compile(r"<!--\s*docs:\s*skip:\s*(?P<why>\S.*?)\s*-->\s*$", re.S)
MAX_SKIPPED = 3  # real-archive-only and install blocks: kept to a minimum


class Unrunnable(Exception):
    """A code block the runner would neither run nor count: an unknown fence language, or an indented block."""


@dataclass
class Block:
    page: Path
    line: int
    kind: str  # "python" or "shell"
    code: str
    skip: str | None  # the reason a block does not run


def blocks(page: Path) -> list[Block]:
    """The page's fenced blocks that run (or say why they do not), in order."""
    tokens = MarkdownIt("commonmark").parse(page.read_text(encoding="utf-8"))
    found, previous = [], None
    for token in tokens:
        if token.type == "code_block":  # indented code: neither run nor visibly skipped
            raise Unrunnable(f"{page.name}:{(token.map or [0])[0] + 1}: an indented code block; fence it (```python)")
        if token.type == "fence":
            language = (token.info.split() or [""])[0].lower()
            kind = RUNS.get(language)
            if kind is None and language not in SHOWN | DIRECTIVES:
                raise Unrunnable(f"{page.name}:{(token.map or [0])[0] + 1}: fence language {language!r} is neither "
                                 f"run ({', '.join(RUNS)}) nor data ({', '.join(sorted(SHOWN))})")  # fmt: skip
            marker = previous.content.strip() if previous is not None and previous.type == "html_block" else ""
            skip = SKIP.match(marker)
            if kind is not None:
                line = token.map[0] + 2 if token.map else 0  # the block's first line of code, 1-based
                found.append(Block(page, line, kind, token.content, skip.group("why") if skip else None))
        if token.type not in ("fence",):
            previous = token if token.type == "html_block" else (None if token.level == 0 else previous)
        else:
            previous = None
    return found


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """One sandbox for every page (all archives), its endpoints file and a loopback guard for subprocesses."""
    cache = tmp_path_factory.mktemp("docs-sandbox")
    with Sandbox(SandboxConfig(cache=cache)) as sb:
        path = sb.write_endpoints(cache / "sandbox.json")
        guard = cache / "guard"
        guard.mkdir()
        (guard / "sitecustomize.py").write_text(textwrap.dedent(f"""\
            import importlib.util as _u
            _s = _u.spec_from_file_location("_vodaxa_offline", {str(Path(offline.__file__))!r})
            _m = _u.module_from_spec(_s); _s.loader.exec_module(_m)
            _m.forbid_remote("a documentation example")
            """))  # fmt: skip
        sys.path.insert(0, str(ROOT / "tests" / "process"))
        try:
            import fake_ciao  # CIAO's tools as the process tests stand them in (CIAO cannot be installed here)
        finally:
            sys.path.pop(0)
        ciao = fake_ciao.install(cache / "fake-ciao-bin")
        yield sb, path, guard, ciao


@contextlib.contextmanager
def _level_kept(logger: logging.Logger) -> Iterator[None]:
    """The logger's level as it was, whatever the block sets (setLevel also clears the level caches)."""
    before = logger.level
    try:
        yield
    finally:
        logger.setLevel(before)


def run_python(block: Block, namespace: dict) -> None:
    """Run a Python block in the page's namespace (top-level ``await`` as in Jupyter is not allowed: scripts
    cannot run it)."""
    code = compile(block.code, f"{block.page.name}:{block.line}", "exec", flags=ast.PyCF_ONLY_AST)
    exec(compile(code, f"{block.page.name}:{block.line}", "exec"), namespace)


def run_shell(block: Block, env: dict[str, str], cwd: Path) -> None:
    """Run a shell block with bash, stopping at the first failing command."""
    script = "set -euo pipefail\nshopt -s inherit_errexit\n" + block.code
    done = subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode:
        pytest.fail(f"{block.page.name}:{block.line}: the shell block failed (exit {done.returncode}):\n"
                    f"{block.code}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}")  # fmt: skip


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_every_block_of_the_page_runs(page, sandbox, tmp_path, monkeypatch):
    sb, endpoints_file, guard, ciao = sandbox
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("VODAXA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("VODAXA_ENDPOINTS", str(endpoints_file))
    monkeypatch.setenv("VODAXA_QUERY_CACHE", "0")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # a block writing to ~ writes into this test's folder
    (tmp_path / "home").mkdir()
    for name in ("VODAXA_ESO_USERNAME", "VODAXA_ESO_PASSWORD", "VODAXA_ESO_TOKEN", "VODAXA_XSA_USERNAME",
                 "VODAXA_XSA_PASSWORD"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", os.pathsep.join([str(ciao), str(Path(sys.executable).parent), os.environ["PATH"]]))
    monkeypatch.setenv("FAKE_CIAO_LOG", str(tmp_path / "ciao.jsonl"))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(guard), str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["COLUMNS"] = "120"
    namespace: dict = {"__name__": "__main__"}
    from vodaxa import archives
    from vodaxa.specs import registry as specs

    specs.specs()  # a page that registers an archive or a mission (adding-an-archive.md) keeps it to itself
    monkeypatch.setattr(archives, "_REGISTRY", dict(archives.by_name()))
    monkeypatch.setattr(specs, "_REGISTRY", dict(specs._REGISTRY))
    ran = 0
    logger = logging.getLogger("vodaxa")  # a page may turn vodaxa's logging up (index.md): for that page only
    with endpoints.override(sb.endpoints), _level_kept(logger):
        for block in blocks(page):
            if block.skip:
                continue
            if block.kind == "python":
                try:
                    run_python(block, namespace)
                except Exception as err:
                    pytest.fail(f"{page.name}:{block.line}: {type(err).__name__}: {err}\n{block.code}")
            else:
                run_shell(block, env, work)
            ran += 1
    assert ran or not blocks(page), f"{page.name}: no block ran"
    for name in ("sandbox", "sb"):  # pages that start their own sandbox stop it
        started = namespace.get(name)
        if started is not None and hasattr(started, "stop") and started is not sb:
            started.stop()
    asyncio.set_event_loop(None)


def test_the_pages_skip_little_and_say_why():
    skipped = [b for p in PAGES for b in blocks(p) if b.skip]
    runnable = [b for p in PAGES for b in blocks(p) if not b.skip]
    assert len(skipped) <= MAX_SKIPPED, [f"{b.page.name}:{b.line} ({b.skip})" for b in skipped]
    assert len(runnable) >= 20
    print(f"{len(runnable)} documentation blocks run, {len(skipped)} skipped: "
          + json.dumps({f"{b.page.name}:{b.line}": b.skip for b in skipped}))  # fmt: skip


def test_blocks_the_runner_would_not_run_are_refused(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# x\n\n```python3\nprint(1)\n```\n")
    with pytest.raises(Unrunnable, match="neither run"):
        blocks(page)
    page.write_text("# x\n\nText.\n\n    print('indented')\n")
    with pytest.raises(Unrunnable, match="indented code block"):
        blocks(page)
    page.write_text("# x\n\n<!-- docs: skip: real archives only -->\n```sh\nvodaxa demo --real\n```\n\n"
                    "```text\nx\n```\n")
    assert [(b.kind, b.skip) for b in blocks(page)] == [("shell", "real archives only")]
