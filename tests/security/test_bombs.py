"""Issue 14 item 14: decompression is capped (``.gz``, ``.Z`` and tarball members): a small file that would
unpack to far more than data of its size ever does is refused, the packed file kept, nothing half-written."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest

from vodaxa import lzw
from vodaxa.downloader import decompress as dec
from vodaxa.errors import DownloadError, ProcessingError
from vodaxa.process import unpack

SMALL = dec.Limits(floor=1 << 20, ratio=20.0)  # 1 MiB always fine, then at most 20x the packed size
ZEROS = bytes(8 << 20)  # 8 MiB of zeros: packs about a thousandfold


@pytest.mark.parametrize("suffix", [".gz", ".Z"])
def test_a_bomb_is_refused_and_the_packed_file_kept(tmp_path, suffix):
    packed = tmp_path / f"bomb.fits{suffix}"
    packed.write_bytes(gzip.compress(ZEROS) if suffix == ".gz" else lzw.compress(ZEROS))
    with pytest.raises(DownloadError, match="decompression bomb"):
        dec.decompress_file(packed, limits=SMALL)
    assert packed.exists() and sorted(p.name for p in tmp_path.iterdir()) == [packed.name]


@pytest.mark.parametrize("suffix", [".gz", ".Z"])
def test_real_data_within_the_limits_unpacks(tmp_path, suffix):
    body = bytes(range(256)) * 4096  # 1 MiB that packs only a little
    packed = tmp_path / f"data.fits{suffix}"
    packed.write_bytes(gzip.compress(body) if suffix == ".gz" else lzw.compress(body))
    assert dec.decompress_file(packed, limits=SMALL).read_bytes() == body


def test_the_default_limits_let_empty_images_through_and_stop_bombs():
    assert dec.LIMITS.allowed(4_000) >= 4 << 20  # a 4 MiB empty image packed to 4 kB is fine
    assert dec.LIMITS.allowed(1 << 20) < 1 << 30  # 1 MiB packed may not become 1 GiB


def test_a_tarball_bomb_is_not_unpacked(tmp_path, monkeypatch):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("big.fits")
        info.size = len(ZEROS)
        tar.addfile(info, io.BytesIO(ZEROS))
    archive = tmp_path / "field.tar.gz"
    archive.write_bytes(buffer.getvalue())
    monkeypatch.setattr(dec, "LIMITS", SMALL)  # the limits the downloads use, and the messages name
    with pytest.raises(ProcessingError, match="decompression bomb"):
        unpack.extract(archive, tmp_path / "out")
    assert not (tmp_path / "out" / "big.fits").exists()
    monkeypatch.setattr(dec, "LIMITS", dec.Limits(floor=16 << 20))  # raised, as the message says: unpacked
    assert unpack.extract(archive, tmp_path / "out")["files"] == 1
    assert (tmp_path / "out" / "big.fits").stat().st_size == len(ZEROS)
