"""Count what the API reference covers: public names documented, ``Any`` left in public signatures, pages built.

    python docs/census.py                        # names and Any, from the modules docs/api.md documents
    python docs/census.py --built docs/_build/html --max-any 0   # also pages built; fail above a budget

The modules are read from the ``automodapi`` directives of docs/api.md, so the census and the reference agree.
A public name is one in a module's ``__all__``, and a public method or property of a public class.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import sys
import typing
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
DIRECTIVE = re.compile(r"^\.\. automodapi:: (?P<module>[\w.]+)\s*$", re.M)


def documented_modules(api_page: Path = HERE / "api.md") -> list[str]:
    """The modules docs/api.md documents, in its order."""
    return DIRECTIVE.findall(api_page.read_text(encoding="utf-8"))


def public_objects(module_name: str) -> Iterator[tuple[str, object]]:
    """(qualified name, object) for each public function, class, method and property of a module."""
    module = importlib.import_module(module_name)
    for name in getattr(module, "__all__", ()):
        obj = getattr(module, name)
        if inspect.ismodule(obj) or not (callable(obj) or isinstance(obj, property)):
            continue  # constants and submodules: documented where they are described, not counted here
        yield f"{module_name}.{name}", obj
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_"):
                    continue
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                if inspect.isfunction(member) or isinstance(member, property):
                    yield f"{module_name}.{name}.{attr}", member


def any_annotations(obj: object) -> list[str]:
    """The parameters (and ``return``) of a callable whose annotation mentions ``Any``."""
    func = obj.fget if isinstance(obj, property) else obj
    if inspect.isclass(func):
        func = func.__init__  # type: ignore[misc]
    try:
        hints = typing.get_type_hints(func)
    except Exception:  # an annotation that does not evaluate at run time: read the text instead
        hints = dict(getattr(func, "__annotations__", {}))
    texts = {name: hint if isinstance(hint, str) else repr(hint) for name, hint in hints.items()}
    return [name for name, text in texts.items() if re.search(r"\bAny\b", text)]


def is_documented(qualname: str, obj: object) -> bool:
    """True when numpydoc finds nothing missing: a summary and every parameter and return described."""
    from numpydoc.validate import validate

    checks = {"GL08", "PR01", "PR02", "RT01", "SS01"}
    try:
        errors = validate(qualname)["errors"]
    except Exception:  # numpydoc cannot import a property by name: judge it by its docstring alone
        return bool(inspect.getdoc(obj))
    return not [code for code, _ in errors if code in checks]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--built", type=Path, help="the HTML output folder, to count its pages")
    parser.add_argument("--max-any", type=int, help="fail when more public signatures than this mention Any")
    parser.add_argument("--list", action="store_true", help="list the undocumented names and the Any")
    args = parser.parse_args()
    seen: dict[int, str] = {}
    undocumented: list[str] = []
    anys: list[str] = []
    for module in documented_modules():
        for qualname, obj in public_objects(module):
            key = id(obj.fget if isinstance(obj, property) else obj)
            if key in seen:
                continue  # a re-export (vodaxa.search is vodaxa.query.search.search): counted once
            seen[key] = qualname
            if not is_documented(qualname, obj):
                undocumented.append(qualname)
            anys += [f"{qualname}({name})" for name in any_annotations(obj)]
    total = len(seen)
    print(f"public names: {total}; documented in numpydoc form: {total - len(undocumented)}")
    print(f"public parameters or returns typed with Any: {len(anys)}")
    if args.built is not None:
        print(f"pages built: {sum(1 for _ in args.built.rglob('*.html'))}")
    if args.list:
        print("\n".join(["undocumented:", *undocumented, "Any:", *anys]))
    failed = bool(undocumented) or (args.max_any is not None and len(anys) > args.max_any)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
