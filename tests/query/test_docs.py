"""The Python examples of docs/registry.md run, in order, on the sandbox they start themselves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "registry.md"


def test_registry_doc_examples_run(tmp_path, monkeypatch):
    monkeypatch.setenv("VODAXA_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("VODAXA_QUERY_CACHE", "0")
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 4
    namespace: dict = {}
    try:
        for block in blocks:
            exec(compile(block, str(DOC), "exec"), namespace)
    finally:
        if "sandbox" in namespace:
            namespace["sandbox"].stop()
    if len(namespace["by_cone"]) == 0:
        pytest.fail("the cone-search example found nothing: the example shows no comparison")
    if len(namespace["links"]) and not namespace["directories"]:
        pytest.fail("the HEASARC recipe found links but no /FTP/ directory among them")
