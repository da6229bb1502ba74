"""Execute the tutorials (jupytext Markdown) top to bottom; exit non-zero if any cell fails.

    python notebooks/run.py                      # every notebooks/*.md, on the embedded sandbox
    python notebooks/run.py notebooks/nustar_3c105.md --keep out/   # also write the executed .ipynb
    VODAXA_REAL_ARCHIVES=1 python notebooks/run.py   # the same notebooks against the real archives

Each notebook runs in a fresh kernel, in its own temporary working folder, with its own cache.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

HERE = Path(__file__).resolve().parent
GUARD = "from vodaxa.sandbox.offline import forbid_remote\n\nforbid_remote('this notebook')"


def run(path: Path, keep: Path | None, timeout: int) -> bool:
    """Execute one notebook; True when every cell ran."""
    notebook = jupytext.read(path)
    guarded = os.environ.get("VODAXA_REAL_ARCHIVES") != "1"
    if guarded:  # on the sandbox nothing may leave this machine: checked, not hoped for
        notebook.cells.insert(0, nbformat.v4.new_code_cell(GUARD))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"vodaxa-{path.stem}-") as work:
        os.environ["VODAXA_CACHE_DIR"] = str(Path(work) / ".cache")  # the kernel inherits it
        where = {"metadata": {"path": work}}
        client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", resources=where)
        try:
            client.execute()
            ok = True
        except CellExecutionError as err:
            print(f"FAILED {path.name}:\n{err}", file=sys.stderr)
            ok = False
    if guarded:
        notebook.cells.pop(0)
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        jupytext.write(notebook, keep / f"{path.stem}.ipynb")
    cells = sum(1 for cell in notebook.cells if cell.cell_type == "code")
    print(f"{'ok    ' if ok else 'FAILED'} {path.name}: {cells} code cells in {time.perf_counter() - started:.1f} s")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/*.md")
    parser.add_argument("--keep", type=Path, help="write the executed notebooks (.ipynb) here")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    args = parser.parse_args()
    paths = args.notebooks or sorted(p for p in HERE.glob("*.md") if p.name != "README.md")
    if not paths:
        print("no notebooks found", file=sys.stderr)
        return 2
    results = [run(path, args.keep, args.timeout) for path in paths]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
