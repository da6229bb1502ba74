"""What :meth:`vodaxa.process.Workspace.quicklooks` needs besides the pictures: its arguments checked before any
picture, the images found, how a kept PNG was drawn, and a warning for each one skipped."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath, PureWindowsPath

from ..errors import InputError, PartialResultWarning, UnknownMissionError
from .figures import picture_notes
from .images import STRETCH_NOTE, _check_stretch

__all__ = ["check_stretch", "chosen_folders", "drawn_with", "images_under", "skipped"]


def check_stretch(stretch: object) -> None:
    """InputError unless ``stretch`` is one of :data:`~vodaxa.plot.STRETCHES`."""
    _check_stretch(stretch)


def chosen_folders(base: Path, missions: object) -> list[Path]:
    """The mission folders under ``base`` (``processed/``) to look in, in name order: all of them, or those of
    ``missions`` (folder names, or names vodaxa knows for them).  InputError for missions that are not names, or
    a name neither here nor known to vodaxa (listing the folders)."""
    folders = {p.name: p for p in sorted(base.iterdir()) if p.is_dir() and p.name != "logs"} if base.is_dir() else {}
    if missions is None:
        return list(folders.values())
    names = [missions] if isinstance(missions, str) else missions
    how = "give mission names, e.g. ['chandra', 'nustar_pointed']"
    if not isinstance(names, Iterable) or isinstance(names, (bytes, Mapping)):
        raise InputError(f"missions={missions!r}: {how}")
    names = list(names)
    if not all(isinstance(name, str) for name in names):
        raise InputError(f"missions={missions!r}: {how}")
    from ..specs import registry

    chosen = []
    for name in names:
        if name in folders:
            chosen.append(name)
            continue
        try:
            known = registry.get(name).name
        except UnknownMissionError:
            raise InputError(f"missions: no mission {name!r} in this workspace (its missions: "
                             f"{', '.join(folders) or 'none yet'}) nor among vodaxa's; {how}") from None  # fmt: skip
        if known in folders:
            chosen.append(known)
    return [folders[name] for name in sorted(set(chosen))]


def images_under(folders: list[Path], pattern: object) -> list[Path]:
    """The files matching ``pattern`` under ``folders`` (not PNGs), in path order.  InputError, before looking,
    for a pattern that is not a relative glob staying under each folder."""
    how = "give a glob of file names under processed/<mission>/, e.g. '*-image.fits'"
    if not isinstance(pattern, str) or not pattern.strip():
        raise InputError(f"pattern={pattern!r}: {how}")
    if (PurePosixPath(pattern).is_absolute() or PureWindowsPath(pattern).is_absolute()
            or ".." in PurePosixPath(pattern.replace("\\", "/")).parts):  # fmt: skip
        raise InputError(f"pattern={pattern!r} leaves the workspace (absolute, or with '..'); {how}")
    try:
        return sorted(path for folder in folders for path in folder.rglob(pattern)
                      if path.is_file() and path.suffix.lower() != ".png")  # fmt: skip
    except (ValueError, NotImplementedError) as err:  # pathlib's word on a glob it cannot use
        raise InputError(f"pattern={pattern!r}: {err}; {how}") from None


def drawn_with(png: Path) -> str | None:
    """The stretch a quick-look PNG was drawn with (its ``vodaxa-stretch`` text chunk), None if unknown."""
    return picture_notes(png).get(STRETCH_NOTE)


def skipped(what: str, err: BaseException | None = None) -> None:
    """A PartialResultWarning saying ``what`` was not drawn, and why (``err``, on one line)."""
    if err is not None:
        why = str(err) if isinstance(err, InputError) else f"{type(err).__name__}: {err}".rstrip(": ")
        what = f"{what}: {' '.join(why.split())}"
    warnings.warn(what, PartialResultWarning, stacklevel=3)
