"""Decompress fetched ``.gz`` and ``.Z`` files beside (or instead of) the originals, atomically.

``vodaxa.download(..., decompress=...)`` calls :func:`decompress_file` for each file it unpacks.  Unpacking stops
at `LIMITS` (a decompression bomb fails its file and keeps the packed one); the tarballs
:mod:`vodaxa.process.unpack` unpacks are held to the same limits.  To unpack a genuine file beyond them, replace
them for the process::

    from vodaxa.downloader import decompress

    decompress.LIMITS = decompress.Limits(floor=1 << 30)   # any output up to 1 GiB
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

from .. import lzw
from ..errors import DownloadError
from .partial import open_part

__all__ = ["LIMITS", "SUFFIXES", "Limits", "decompress_file", "decompressed_name"]

#: The suffixes of the files unpacked: gzip's ``.gz`` and compress's ``.Z``.
SUFFIXES = (".gz", ".Z")


def _bomb(path: Path, allowed: int) -> str:
    return (f"{path.name} unpacks to more than {allowed:,} bytes ({path.stat().st_size:,} packed): a decompression "
            "bomb, or data beyond vodaxa.downloader.decompress.LIMITS (raise them if the file is genuine)")  # fmt: skip


def decompressed_name(path: Path) -> Path | None:
    """Name the file a compressed file unpacks to.

    Parameters
    ----------
    path : pathlib.Path
        A file name.

    Returns
    -------
    pathlib.Path or None
        ``x.fits`` for ``x.fits.gz`` or ``x.fits.Z``; None for anything else (`SUFFIXES`).

    Examples
    --------
    >>> from pathlib import Path
    >>> from vodaxa.downloader.decompress import decompressed_name
    >>> decompressed_name(Path("data/nu60001022002A01_cl.evt.gz")), decompressed_name(Path("oif.fits"))
    (PosixPath('data/nu60001022002A01_cl.evt'), None)
    """
    return path.with_suffix("") if path.suffix in SUFFIXES else None


@dataclass(frozen=True)
class Limits:
    """How far unpacking may go before it is a decompression bomb rather than data.

    Outputs up to ``floor`` bytes are always fine (a mostly empty FITS image packs a thousandfold); past it
    the output may be at most ``ratio`` times the packed size, and never more than ``most`` bytes.

    Parameters
    ----------
    floor : int, optional
        Bytes any file may unpack to (256 MiB by default).
    ratio : float, optional
        Beyond ``floor``, the most an output may be, as a multiple of the packed size (200 by default).
    most : int, optional
        Bytes no file may unpack beyond (1 TiB by default).

    Examples
    --------
    >>> from vodaxa.downloader.decompress import LIMITS
    >>> LIMITS.allowed(4_000) == 256 << 20   # a small file: the floor
    True
    >>> LIMITS.allowed(10 << 20) == 2_000 << 20   # 10 MiB packed: at most 200 times that
    True
    """

    floor: int = 256 << 20
    ratio: float = 200.0
    most: int = 1 << 40

    def allowed(self, packed: int) -> int:
        """Say how many bytes a packed file may unpack to.

        Parameters
        ----------
        packed : int
            The packed file's size in bytes.

        Returns
        -------
        int
            The most bytes its output may have.
        """
        return int(min(self.most, max(self.floor, self.ratio * packed)))


#: The limits :func:`decompress_file` and the tarball unpacker (:func:`vodaxa.process.unpack.extract`) use unless
#: given others; replace them (``decompress.LIMITS = Limits(...)``) to unpack genuine files beyond them.
LIMITS = Limits()


def decompress_file(path: Path, *, keep: bool = False, limits: Limits | None = None) -> Path:
    """Decompress a ``.gz`` or ``.Z`` file, atomically: written through ``.part``, fsynced, then renamed.

    An output growing past ``limits`` (a decompression bomb) stops the unpacking, with the packed file kept.

    Parameters
    ----------
    path : pathlib.Path
        The compressed file; any other file is left as it is.
    keep : bool, optional
        Keep the compressed file beside the unpacked one (False by default: it is removed).
    limits : Limits, optional
        How far unpacking may go (`LIMITS` by default).

    Returns
    -------
    pathlib.Path
        The unpacked file (``path`` itself when it is not compressed).

    Raises
    ------
    vodaxa.errors.DownloadError
        If the file cannot be decompressed (corrupt, truncated) or installed, or unpacks beyond ``limits``; the
        compressed file is kept and no partial output is left.
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
