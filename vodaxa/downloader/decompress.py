"""Decompress fetched ``.gz`` and ``.Z`` files beside (or instead of) the originals, atomically."""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

from .. import lzw
from ..errors import DownloadError
from .partial import open_part

__all__ = ["SUFFIXES", "decompress_file", "decompressed_name"]

SUFFIXES = (".gz", ".Z")


def _bomb(path: Path, allowed: int) -> str:
    return (f"{path.name} unpacks to more than {allowed:,} bytes ({path.stat().st_size:,} packed): a decompression "
            "bomb, or data beyond vodaxa.downloader.decompress.LIMITS (raise them if the file is genuine)")  # fmt: skip


def decompressed_name(path: Path) -> Path | None:
    """``x.fits`` for ``x.fits.gz`` or ``x.fits.Z``; None for anything else."""
    return path.with_suffix("") if path.suffix in SUFFIXES else None


@dataclass(frozen=True)
class Limits:
    """How far unpacking may go before it is a decompression bomb rather than data.

    Outputs up to ``floor`` bytes are always fine (a mostly empty FITS image packs a thousandfold); past it
    the output may be at most ``ratio`` times the packed size, and never more than ``most`` bytes.
    """

    floor: int = 256 << 20
    ratio: float = 200.0
    most: int = 1 << 40

    def allowed(self, packed: int) -> int:
        """The most bytes ``packed`` bytes may unpack to."""
        return int(min(self.most, max(self.floor, self.ratio * packed)))


#: The limits :func:`decompress_file` and the tarball unpacker use unless given others.
LIMITS = Limits()


def decompress_file(path: Path, *, keep: bool = False, limits: Limits | None = None) -> Path:
    """Write the decompressed file (through ``.part`` and a rename); remove ``path`` unless ``keep``.

    An output growing past ``limits`` (a decompression bomb) stops the unpacking: :class:`DownloadError`,
    with the packed file kept.
    """
    target = decompressed_name(path)
    if target is None:
        return path
    part = target.with_name(target.name + ".part")
    allowed = (limits or LIMITS).allowed(path.stat().st_size)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as src, open_part(part, "wb") as out:
                written = 0
                while block := src.read(1 << 20):  # streamed: memory stays flat whatever the size
                    written += len(block)
                    if written > allowed:
                        raise ValueError(_bomb(path, allowed))
                    out.write(block)
        else:
            with open_part(part, "wb") as out:
                out.write(lzw.decompress(path.read_bytes(), max_output=allowed))
        with open_part(part, "r+b") as out:
            os.fsync(out.fileno())
    except lzw.TooLarge:
        part.unlink(missing_ok=True)
        raise DownloadError(f"{_bomb(path, allowed)}; the compressed file is kept") from None
    except (OSError, EOFError, ValueError) as err:
        part.unlink(missing_ok=True)
        raise DownloadError(f"{path.name} could not be decompressed ({err}); the compressed file is kept") from err
    try:
        os.replace(part, target)
        if not keep:
            path.unlink()
    except OSError as err:
        part.unlink(missing_ok=True)
        raise DownloadError(f"{path.name}: the unpacked file could not be installed ({err})") from None
    return target
