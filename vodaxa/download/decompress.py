"""Decompress fetched ``.gz`` and ``.Z`` files beside (or instead of) the originals, atomically."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

from .. import lzw
from ..errors import DownloadError

__all__ = ["SUFFIXES", "decompress_file", "decompressed_name"]

SUFFIXES = (".gz", ".Z")


def decompressed_name(path: Path) -> Path | None:
    """``x.fits`` for ``x.fits.gz`` or ``x.fits.Z``; None for anything else."""
    return path.with_suffix("") if path.suffix in SUFFIXES else None


def decompress_file(path: Path, *, keep: bool = False) -> Path:
    """Write the decompressed file (through ``.part`` and a rename); remove ``path`` unless ``keep``."""
    target = decompressed_name(path)
    if target is None:
        return path
    part = target.with_name(target.name + ".part")
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as src, part.open("wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)  # streamed: memory stays flat whatever the size
        else:
            part.write_bytes(lzw.decompress(path.read_bytes()))
        with part.open("rb+") as out:
            os.fsync(out.fileno())
    except (OSError, EOFError, ValueError) as err:
        part.unlink(missing_ok=True)
        raise DownloadError(f"{path.name} could not be decompressed ({err}); the compressed file is kept") from err
    os.replace(part, target)
    if not keep:
        path.unlink()
    return target
