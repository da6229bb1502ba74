"""Sphinx configuration: the user guide (MyST Markdown), the tutorials (notebooks/*.md, executed on the sandbox
at build time) and the API reference (sphinx-automodapi over numpydoc docstrings).

    tox -e docs                                   # what CI runs: warnings are errors
    python -m sphinx -W -b html docs docs/_build/html
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

import vodaxa  # noqa: E402

project = "vodaxa"
author = "The vodaxa developers"
copyright = "2026, The vodaxa developers"
release = vodaxa.__version__
version = release

extensions = [
    "myst_nb",  # MyST Markdown pages and executed notebooks
    "numpydoc",  # numpydoc docstrings, validated below
    "sphinx_automodapi.automodapi",  # one API page per public module, one per object
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
]

exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints", "census.py"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"

# API reference: every public name of the documented modules, documented in numpydoc form.
automodapi_toctreedirnm = "api"
automodsumm_inherited_members = False
autodoc_typehints = "none"  # numpydoc's Parameters/Returns carry the types; signatures stay readable
numpydoc_show_class_members = False  # automodapi lists members itself
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = False
#: Checked on every documented name (numpydoc.validate codes); a failure is a build warning, hence an error in CI.
numpydoc_validation_checks = {
    "GL08",  # the object has a docstring
    "PR01",  # every parameter is documented
    "PR02",  # no documented parameter that does not exist
    "RT01",  # a Returns section where something is returned
    "SS01",  # a summary line
}
numpydoc_validation_exclude = {  # dunders and members documented by their class
    r"\.__\w+__$",
}

# Tutorials: executed top to bottom on the sandbox while the docs build; a failing cell fails the build.
nb_execution_mode = "force"
nb_execution_raise_on_error = True
nb_execution_timeout = 600
nb_execution_in_temp = True
nb_merge_streams = True
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]

html_theme = "pydata_sphinx_theme"
html_title = f"vodaxa {release}"
html_static_path: list[str] = []
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}

os.environ.setdefault("VODAXA_CACHE_DIR", tempfile.mkdtemp(prefix="vodaxa-docs-cache-"))

#: The guard notebooks/run.py puts first: on the sandbox nothing may leave this machine (checked, not hoped for).
GUARD = "from vodaxa.sandbox.offline import forbid_remote\n\nforbid_remote('this notebook')"


def write_tutorials(tutorials: Path = HERE / "tutorials", notebooks: Path = ROOT / "notebooks") -> list[Path]:
    """Turn the tutorials (jupytext Markdown in notebooks/) into notebooks under docs/tutorials/ for myst-nb,
    each opening with the loopback guard in a hidden cell; files whose source is gone are removed."""
    import jupytext
    import nbformat

    tutorials.mkdir(exist_ok=True)
    written = []
    for source in sorted(notebooks.glob("*.md")):
        notebook = jupytext.read(source)
        guard = nbformat.v4.new_code_cell(GUARD, metadata={"tags": ["remove-cell"]})
        notebook.cells.insert(0, guard)
        target = tutorials / f"{source.stem}.ipynb"
        text = nbformat.writes(notebook)
        if not target.exists() or target.read_text(encoding="utf-8") != text:  # unchanged: Sphinx keeps its cache
            target.write_text(text, encoding="utf-8")
        written.append(target)
    for stale in set(tutorials.glob("*.ipynb")) - set(written):
        stale.unlink()
    return written


write_tutorials()
shutil.rmtree(HERE / "api", ignore_errors=True)  # automodapi writes its pages afresh: none left from older names
