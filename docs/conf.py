"""Sphinx configuration: the user guide (MyST Markdown), the tutorials (notebooks/*.md, executed on the sandbox
at build time) and the API reference (sphinx-automodapi over numpydoc docstrings).

    tox -e docs                                   # what CI runs: warnings are errors
    python -m sphinx -W -b html docs docs/_build/html
"""

from __future__ import annotations

import json
import os
import shutil
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
#: `name` in a docstring is a link to that Python object (a function, class, module, constant ...).
default_role = "py:obj"

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

#: The guard notebooks/run.py puts first: on the sandbox nothing may leave this machine (checked, not hoped for).
GUARD = "from vodaxa.sandbox.offline import forbid_remote\n\nforbid_remote('this notebook')"
#: The mark on each notebook this file writes: only files carrying it are ever replaced or removed.
MARK = "vodaxa_generated_from"


def write_tutorials(tutorials: Path = HERE / "tutorials", notebooks: Path = ROOT / "notebooks") -> list[Path]:
    """Turn the tutorials (jupytext Markdown in notebooks/) into notebooks under docs/tutorials/ for myst-nb.

    Each opens with the loopback guard in a hidden cell and carries :data:`MARK`.  Files are replaced whole
    (written beside, then renamed: a symlink is replaced, never written through); a notebook whose source is
    gone is removed only if this function wrote it; anything else in the folder is left alone.
    """
    import jupytext
    import nbformat

    from vodaxa.downloader.partial import write_private

    if tutorials.is_symlink() or (tutorials.exists() and not tutorials.is_dir()):
        raise RuntimeError(f"{tutorials} must be a plain folder (the docs build writes its tutorials there)")
    tutorials.mkdir(exist_ok=True)
    written = []
    for source in sorted(notebooks.glob("*.md")):
        notebook = jupytext.read(source)
        notebook.metadata[MARK] = f"notebooks/{source.name}"
        notebook.cells.insert(0, nbformat.v4.new_code_cell(GUARD, metadata={"tags": ["remove-cell"]}))
        target = tutorials / f"{source.stem}.ipynb"
        text = nbformat.writes(notebook)
        unchanged = target.is_file() and not target.is_symlink() and target.read_text(encoding="utf-8") == text
        if not unchanged:  # an unchanged file keeps its time, so Sphinx keeps its cache
            if target.exists() and not target.is_symlink() and not _generated(target):
                raise RuntimeError(f"{target} was not written by the docs build; move it away, it would be replaced")
            write_private(target, text)  # written aside without following links, then renamed over the target
        written.append(target)
    for stale in set(tutorials.glob("*.ipynb")) - set(written):
        if stale.is_file() and not stale.is_symlink() and _generated(stale):
            stale.unlink()
    return written


def _generated(path: Path) -> bool:
    """True when ``path`` is a notebook :func:`write_tutorials` wrote (it carries :data:`MARK`)."""
    try:
        return MARK in json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError, AttributeError):
        return False


def _prepare(app: object, config: object) -> None:
    """Before anything is read: the tutorials written, automodapi's pages made afresh, a cache for the build."""
    os.environ.setdefault("VODAXA_CACHE_DIR", str(HERE / "_build" / "vodaxa-cache"))  # one folder, reused
    write_tutorials()
    api = HERE / "api"
    if api.is_dir() and not api.is_symlink():
        shutil.rmtree(api)  # automodapi's own output: none left from older names


def _public_signature(
    app: object, what: str, name: str, obj: object, options: object, signature: str | None, annotation: str | None
) -> tuple[str, str | None] | None:
    """Leave private parameters (a leading underscore, such as ``DownloadReport``'s ``_again``) out of the
    signatures shown; their docstrings still describe them, for numpydoc's checks."""
    if not signature or "_" not in signature or what not in ("class", "function"):
        return None
    import inspect

    from sphinx.util.inspect import stringify_signature

    try:
        shown = inspect.signature(obj)  # type: ignore[arg-type]  # autodoc's object: a class or a callable
    except (TypeError, ValueError):
        return None
    public = [p for p in shown.parameters.values() if not p.name.startswith("_")]
    if len(public) == len(shown.parameters):
        return None
    return stringify_signature(shown.replace(parameters=public), show_annotation=False), annotation


#: The names ``import vodaxa`` gives that are defined elsewhere (``vodaxa.search``), by where they are documented
#: (``vodaxa.query.search.search``): docstrings write them as users do, and the links go to their pages.
REEXPORTS = {
    f"vodaxa.{name}": "vodaxa" + module + (f".{attribute}" if attribute else "")
    for name, (module, attribute) in vodaxa._LAZY.items()
}


def _reexport(app: object, env: object, node: object, contnode: object) -> object:
    """Resolve a reference to a name ``vodaxa`` re-exports (:data:`REEXPORTS`; ``Mission`` where the current module
    is ``vodaxa``) to the page of the name it is."""
    if node.get("refdomain") != "py":  # type: ignore[attr-defined]
        return None
    target = str(node.get("reftarget", "")).lstrip("~.")  # type: ignore[attr-defined]
    for name in (target, f"{node.get('py:module')}.{target}"):  # type: ignore[attr-defined]
        if name in REEXPORTS:
            domain = env.get_domain("py")  # type: ignore[attr-defined]
            builder = app.builder  # type: ignore[attr-defined]
            return domain.resolve_xref(env, node["refdoc"], builder, "obj", REEXPORTS[name], node, contnode)  # type: ignore[index]
    return None


def _data_docstring(app: object, what: str, name: str, obj: object, options: object, lines: list[str]) -> None:
    """A constant documented without a ``#:`` comment where autodoc looks (the module named) shows the docstring of
    its type (``str``'s, ``float``'s): take the comment of the submodule that defines it (a re-export, such as
    ``vodaxa.plot.LOCAL_FIELD``), else show none."""
    import inspect
    import sys

    from sphinx.pycode import ModuleAnalyzer, PycodeError

    if what not in ("data", "attribute") or inspect.isclass(obj) or not lines:
        return
    own = inspect.getdoc(type(obj)) or ""
    if "\n".join(lines).strip() != inspect.cleandoc(own).strip():
        return
    module, _, attribute = name.rpartition(".")
    comment: list[str] = []
    for where in sorted(m for m in list(sys.modules) if m.startswith(module + ".")):
        if getattr(sys.modules[where], attribute, None) is obj:
            try:
                comment = ModuleAnalyzer.for_module(where).find_attr_docs().get(("", attribute), [])
            except PycodeError:
                continue
            if comment:
                break
    lines[:] = list(comment)


def _no_missing_values(app: object, doctree: object) -> None:
    """Drop the ``= <dataclasses._MISSING_TYPE object>`` autodoc shows for a dataclass field without a default."""
    from sphinx import addnodes

    for node in list(doctree.findall(addnodes.desc_annotation)):  # type: ignore[attr-defined]
        if "_MISSING_TYPE" in node.astext():
            node.parent.remove(node)


def setup(app: object) -> None:
    """Sphinx's hook: prepare the sources when the configuration is read (not when this file is imported)."""
    app.connect("config-inited", _prepare)  # type: ignore[attr-defined]
    app.connect("doctree-read", _no_missing_values)  # type: ignore[attr-defined]
    app.connect("autodoc-process-signature", _public_signature)  # type: ignore[attr-defined]
    app.connect("missing-reference", _reexport)  # type: ignore[attr-defined]
    app.connect("autodoc-process-docstring", _data_docstring, priority=400)  # type: ignore[attr-defined]  # before numpydoc
