"""The Python examples of docs/network.md run, in order, on the sandbox they start themselves."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "network.md"


def test_network_doc_examples_run(tmp_path, monkeypatch):
    monkeypatch.setenv("VODAXA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("VODAXA_QUERY_CACHE", "0")
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 3
    namespace: dict = {}
    try:
        for block in blocks:
            exec(compile(block, str(DOC), "exec"), namespace)
    finally:
        if "sandbox" in namespace:
            namespace["sandbox"].stop()
    report = namespace["report"]
    assert len(report.ok) == 3 and report.failed.empty
    assert all((tmp_path / p).is_file() for p in report.ok)
    answer, sent = namespace["answer"], namespace["sent"]  # the transport seam's example
    assert answer.status == 200 and answer.url == "https://mirror.example.org/file.fits"
    assert [r.url for r in sent] == ["https://archive.example.org/file", "https://mirror.example.org/file.fits"]
